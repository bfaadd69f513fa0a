package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles cmd/mealsync once for the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mealsync")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestGracefulShutdown sends SIGTERM to a real process while a request is in
// flight and proves: readiness turns DOWN at once, on both listeners, while
// the server keeps serving for the delay; the in-flight request completes
// with 200 (and "Connection: close") after the listener has closed, the ops listener still answering
// meanwhile; the process exits 0 within the timeout, and the ops listener
// is gone with it.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=127.0.0.1:0", "MEALSYNC_LOG_FORMAT=json",
		"MEALSYNC_DATABASE_URL=sqlite:"+filepath.Join(dir, "m.db"),
		"MEALSYNC_SHUTDOWN_DELAY=3s", "MEALSYNC_SHUTDOWN_TIMEOUT=20s")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test, even on a timeout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	addrCh := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" {
				addrCh <- [2]string{m["addr"].(string), m["ops_addr"].(string)}
			}
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	var addr, opsAddr string
	select {
	case a := <-addrCh:
		addr, opsAddr = a[0], a[1]
	case <-time.After(20 * time.Second):
		t.Fatal("no listening line")
	}
	base, ops := "http://"+addr, "http://"+opsAddr
	statusAt := func(base, path string) int {
		c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(base + path)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	status := func(path string) int { return statusAt(base, path) }
	inFlight := func() bool {
		resp, err := http.Get(ops + "/actuator/prometheus")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "http_server_requests_in_flight 1" {
				return true
			}
		}
		return false
	}
	waitFor(t, 10*time.Second, "ready", func() bool { return status("/actuator/health/readiness") == 200 })

	// Start a registration and send only half its body: the request is in
	// flight, its handler waiting for the rest.
	body := `{"email":"inflight@example.com","password":"still here 1","name":"In Flight"}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/users/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:20])
	waitFor(t, 5*time.Second, "request in flight", inFlight)

	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// During the delay: readiness DOWN, but requests are still served.
	waitFor(t, 2500*time.Millisecond, "readiness DOWN", func() bool { return status("/actuator/health/readiness") == 503 })
	if got := statusAt(ops, "/actuator/health/readiness"); got != 503 {
		t.Errorf("readiness on the ops listener during the delay: %d, want 503", got)
	}
	if got := status("/actuator/health/liveness"); got != 200 {
		t.Fatalf("liveness during the delay: %d, want 200 (still serving)", got)
	}
	// Then Shutdown closes the listener: new connections are refused…
	waitFor(t, 5*time.Second, "listener closed", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return errors.Is(err, syscall.ECONNREFUSED)
		}
		c.Close()
		return false
	})
	select {
	case err := <-exited:
		t.Fatalf("process exited with a request in flight: %v", err)
	default:
	}
	// The ops listener goes last: metrics stay readable while requests drain.
	if !inFlight() {
		t.Error("the ops listener did not show the request in flight after the API listener closed")
	}
	// …while the request in flight completes.
	conn.Write([]byte(body[20:]))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("in-flight request: %s", resp.Status)
	}
	if !resp.Close {
		t.Error("the answer that finished during the drain does not ask the client to close the connection")
	}
	var env struct {
		Data struct{ Email string }
	}
	json.NewDecoder(resp.Body).Decode(&env)
	if !strings.EqualFold(env.Data.Email, "inflight@example.com") {
		t.Fatalf("in-flight response: %+v", env)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v, want status 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("process still running 20 s (the shutdown timeout) after the last request")
	}
	t.Logf("SIGTERM to exit: %v", time.Since(sent).Round(time.Millisecond))
	if c, err := net.DialTimeout("tcp", opsAddr, time.Second); err == nil {
		c.Close()
		t.Errorf("the ops listener %s still accepts connections after the process exited", opsAddr)
	}
}
