package image_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// rootfs is a mounted image run the way a container runtime would, less the
// namespaces: chroot into the image's root filesystem, switch to the image's
// user, change to its working directory, exec with the image's environment
// only (the same as `chroot --userspec=UID:GID ROOT PROGRAM`, which could not
// honour the working directory). The network is the host's.
type rootfs struct {
	dir      string
	uid, gid uint32
	workdir  string
	env      []string
}

func (r rootfs) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(append([]string{}, r.env...), env...)
	cmd.Dir = r.workdir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     r.dir,
		Credential: &syscall.Credential{Uid: r.uid, Gid: r.gid, Groups: []uint32{}},
	}
	return cmd
}

// run runs a program to its end and returns its output and exit code.
func (r rootfs) run(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := r.command(env, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return out.String(), exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String(), 0
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%v did not exit within 30 s\n%s", args, out.String())
		return "", -1
	}
}

// imageUser resolves the image's USER ("uid[:gid]" or names) through the
// image's own /etc/passwd and /etc/group.
func imageUser(t *testing.T, root, user string) (uint32, uint32) {
	t.Helper()
	name, group, _ := strings.Cut(user, ":")
	lookup := func(file, name string, field int) (uint32, bool) {
		if n, err := strconv.ParseUint(name, 10, 32); err == nil {
			return uint32(n), true
		}
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatalf("USER %q: %v", user, err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, ":")
			if len(f) > field && f[0] == name {
				n, err := strconv.ParseUint(f[field], 10, 32)
				return uint32(n), err == nil
			}
		}
		return 0, false
	}
	uid, ok := lookup("etc/passwd", name, 2)
	if !ok {
		t.Fatalf("USER %q: no such user in the image's /etc/passwd", user)
	}
	if group == "" {
		gid, ok := lookup("etc/passwd", name, 3)
		if !ok {
			return uid, uid
		}
		return uid, gid
	}
	gid, ok := lookup("etc/group", group, 2)
	if !ok {
		t.Fatalf("USER %q: no such group in the image's /etc/group", user)
	}
	return uid, gid
}

// server is a `serve` started from the image; its JSON log is collected.
type server struct {
	cmd     *exec.Cmd
	started time.Time
	addr    string
	exited  chan struct{}
	err     error // of Wait, once exited is closed

	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
}

// startServer starts cmd (a `serve` logging JSON on stdout, listening on port
// 0) and waits for its "listening" line.
func startServer(t *testing.T, cmd *exec.Cmd) *server {
	t.Helper()
	s := &server{cmd: cmd, exited: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{mu: &s.mu, w: &s.raw}
	listening := make(chan string, 1)
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			s.mu.Lock()
			s.raw.Write(append(sc.Bytes(), '\n'))
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				s.lines = append(s.lines, m)
			}
			s.mu.Unlock()
			if addr, ok := m["addr"].(string); ok && m["msg"] == "listening" {
				listening <- addr
			}
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	select {
	case s.addr = <-listening:
	case <-s.exited:
		t.Fatalf("serve exited before listening: %v\n%s", s.err, s.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not listen within 30 s\n%s", s.output())
	}
	return s
}

// waitReady polls the readiness endpoint until it answers 200 and returns
// the time from process start.
func (s *server) waitReady(t *testing.T) time.Duration {
	t.Helper()
	url := "http://" + s.addr + "/actuator/health/readiness"
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(s.started)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness not UP within 20 s (last: %v)\n%s", err, s.output())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// stop sends SIGTERM and returns the exit code.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(40 * time.Second):
		t.Fatalf("serve did not exit within 40 s of SIGTERM\n%s", s.output())
	}
	var exit *exec.ExitError
	if errors.As(s.err, &exit) {
		return exit.ExitCode()
	} else if s.err != nil {
		t.Fatalf("serve: %v", s.err)
	}
	return 0
}

// login registers an account and returns an access token the server issued.
func (s *server) login(t *testing.T) string {
	t.Helper()
	creds := `{"email":"img@example.com","password":"image test 42","name":"Img"}`
	for _, path := range []string{"register", "login"} {
		resp, err := http.Post("http://"+s.addr+"/api/v1/users/"+path, "application/json", strings.NewReader(creds))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Data struct{ Token string } `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		if path == "login" {
			return body.Data.Token
		}
	}
	return ""
}

// logLine returns the first log record whose msg is msg.
func (s *server) logLine(msg string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.lines {
		if m["msg"] == msg {
			return m
		}
	}
	return nil
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tail(s.raw.String(), 30)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// memoryCgroup makes a child of this process's memory cgroup limited to
// limit bytes and returns its cgroup.procs file; it is removed when t ends.
// cgroup v1 (memory.limit_in_bytes) and v2 (memory.max) are both handled.
func memoryCgroup(t *testing.T, limit int64) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		testdb.SkipOrFail(t, "no cgroups: %v", err)
	}
	var parent, limitFile string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] != "0" && strings.Contains(","+f[1]+",", ",memory,"): // v1 wins, as in the library
			parent, limitFile = filepath.Join("/sys/fs/cgroup/memory", f[2]), "memory.limit_in_bytes"
		case f[0] == "0" && parent == "":
			parent, limitFile = filepath.Join("/sys/fs/cgroup", f[2]), "memory.max"
		}
	}
	dir := filepath.Join(parent, fmt.Sprintf("mealsync-imagetest-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		testdb.SkipOrFail(t, "cannot make a memory cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove cgroup: %v", err)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, limitFile), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		testdb.SkipOrFail(t, "cannot limit the memory cgroup %s: %v", dir, err)
	}
	return filepath.Join(dir, "cgroup.procs")
}
