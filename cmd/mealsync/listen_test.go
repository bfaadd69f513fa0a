package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a `mealsync serve` child of the test, tied to it: it dies
// with the test binary (Pdeathsig) even if the test times out.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []map[string]any
	exited chan error
}

// startServe runs the binary with vars; sock, when given, is passed as file
// descriptor 3 by socket activation (LISTEN_FDS=1, LISTEN_PID set by a shell
// that execs the binary in its place, as mealsyncctl does).
func startServe(t *testing.T, bin string, vars []string, sock *os.File) *process {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve")
	if sock != nil {
		cmd = exec.Command("/bin/sh", "-c", `export LISTEN_PID=$$; exec "$0" "$@"`, bin, "serve")
		cmd.ExtraFiles = []*os.File{sock}
		vars = append(vars, "LISTEN_FDS=1")
	}
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{
		"MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=127.0.0.1:0", "MEALSYNC_LOG_FORMAT=json",
		"MEALSYNC_DATABASE_URL=sqlite:" + filepath.Join(dir, "m.db"),
	}, vars...)...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.mu.Lock()
				p.lines = append(p.lines, m)
				p.mu.Unlock()
			}
		}
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	return p
}

// logLine waits for the first log line with msg and returns it.
func (p *process) logLine(t *testing.T, msg string) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, 20*time.Second, fmt.Sprintf("the log line %q", msg), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, l := range p.lines {
			if l["msg"] == msg {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// TestInheritedSocket: given a listening socket by socket activation, the
// server serves on it and ignores MEALSYNC_ADDR; at SIGTERM it stops at once,
// without the shutdown delay (the socket stays open in its other holder:
// here the test), and a connection made while it stops is queued for the
// next holder, never refused.
func TestInheritedSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	p := startServe(t, bin, []string{"MEALSYNC_SHUTDOWN_DELAY=60s", "MEALSYNC_SHUTDOWN_TIMEOUT=30s"}, sock)
	sock.Close() // the child has it
	l := p.logLine(t, "listening")
	if l["addr"] != ln.Addr().String() || l["inherited_socket"] != true {
		t.Fatalf("listening line %v, want the inherited socket %s", l, ln.Addr())
	}
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + ln.Addr().String() + "/actuator/health/readiness")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readiness on the inherited socket: %v %v", resp, err)
	}
	resp.Body.Close()

	sent := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30 s after SIGTERM: it waited for the 60 s shutdown delay")
	}
	t.Logf("SIGTERM to exit: %v", time.Since(sent).Round(time.Millisecond))
	p.logLine(t, "shutting down: readiness DOWN; the socket stays open in its other holder, so it stops accepting now")

	// The socket outlived the process: a connection is accepted by the
	// kernel and waits for the next holder.
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("a connection after the server left: %v", err)
	}
	defer conn.Close()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	if next, err := ln.Accept(); err != nil {
		t.Fatalf("the test, holding the socket too, cannot accept it: %v", err)
	} else {
		next.Close()
	}
}

// TestInheritedSocketMistakes: a socket that is not listening, or more than
// one, stops the start with a clear error; variables meant for another
// process are ignored.
func TestInheritedSocketMistakes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	f, err := os.CreateTemp(t.TempDir(), "not-a-socket")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		vars []string
		sock *os.File
		want string
	}{
		{"a file, not a socket", nil, f, "file descriptor 3 from socket activation is not a listening socket"},
		{"two sockets", []string{"LISTEN_FDS=2"}, f, `LISTEN_FDS="2": mealsync takes exactly one listening socket`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", `export LISTEN_PID=$$; exec "$0" "$@"`, bin, "serve")
			cmd.ExtraFiles = []*os.File{c.sock}
			dir := t.TempDir()
			cmd.Env = append(os.Environ(), append([]string{"LISTEN_FDS=1", "MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=off",
				"MEALSYNC_DATABASE_URL=sqlite:" + filepath.Join(dir, "m.db")}, c.vars...)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), c.want) {
				t.Errorf("start: %v, output lacks %q:\n%s", err, c.want, out)
			}
		})
	}

	// LISTEN_PID naming another process: the variables are not for us.
	p := startServe(t, bin, []string{"LISTEN_PID=1", "LISTEN_FDS=1"}, nil)
	if l := p.logLine(t, "listening"); l["inherited_socket"] != false {
		t.Errorf("took a socket meant for pid 1: %v", l)
	}
}

// TestDrainLeavesIdleConnectionsToTheClient: during shutdown the server
// does not close an idle keep-alive connection under its client (which may
// be writing a request to it at that moment) before the shutdown delay has
// passed: a request sent on one after the listener has closed is answered,
// with "Connection: close", and the server exits as soon as that connection
// is gone, not after a fixed time. One the client leaves idle is closed once
// the delay has passed, and the server exits then, not at the timeout.
func TestDrainLeavesIdleConnectionsToTheClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	// serve starts the binary on a socket the test holds too (as a
	// successor would) and opens a kept-alive connection that has served
	// one request.
	serve := func(t *testing.T, delay string) (*process, net.Conn, func() *http.Response) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		sock, err := ln.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		p := startServe(t, bin, []string{"MEALSYNC_SHUTDOWN_DELAY=" + delay, "MEALSYNC_SHUTDOWN_TIMEOUT=60s"}, sock)
		sock.Close()
		p.logLine(t, "listening")
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		br := bufio.NewReader(conn)
		get := func() *http.Response {
			t.Helper()
			fmt.Fprintf(conn, "GET /api/v1/recipes?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n")
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request on the kept-alive connection: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		if resp := get(); resp.StatusCode != 200 || resp.Close {
			t.Fatalf("first answer: %s, close %v", resp.Status, resp.Close)
		}
		return p, conn, get
	}
	exitWithin := func(t *testing.T, p *process, d time.Duration, why string) {
		t.Helper()
		select {
		case err := <-p.exited:
			if err != nil {
				t.Fatalf("exit: %v", err)
			}
		case <-time.After(d):
			t.Fatalf("still running %s %s", d, why)
		}
	}

	t.Run("a request on an idle connection is answered, then the server leaves", func(t *testing.T) {
		p, conn, get := serve(t, "30s")
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.logLine(t, "draining connections")
		select {
		case err := <-p.exited:
			t.Fatalf("exited with a kept-alive connection open, before the delay: %v", err)
		default:
		}
		sent := time.Now()
		resp := get()
		if resp.StatusCode != 200 || !resp.Close {
			t.Fatalf("answer during the drain: %s, Connection: close %v; want 200 asking the client to close", resp.Status, resp.Close)
		}
		conn.Close()
		exitWithin(t, p, 20*time.Second, "after its last connection closed (the delay is 30 s, the timeout 60 s)")
		t.Logf("last request to exit: %v", time.Since(sent).Round(time.Millisecond))
	})

	t.Run("an idle connection is closed once the delay has passed", func(t *testing.T) {
		const delay = 2 * time.Second
		p, conn, _ := serve(t, delay.String())
		sent := time.Now()
		p.cmd.Process.Signal(syscall.SIGTERM)
		exitWithin(t, p, 30*time.Second, "with an idle connection (the delay is 2 s, the timeout 60 s)")
		if took := time.Since(sent); took < delay {
			t.Errorf("exited %v after SIGTERM: it closed the idle connection before the delay of %v", took, delay)
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Error("the idle connection is still open after the server left")
		}
	})
}
