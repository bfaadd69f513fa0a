package monitoring_test

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// startServer runs a program that listens on an address it is given (the
// exporters, Alertmanager, the log store) on a free loopback port, and waits
// until GET readyPath answers 200. args builds its arguments from the
// address. A port picked by closing a listener can be taken before the
// program binds it; then it exits at once and another port is tried. The
// process is stopped when the test ends, its output shown if the test failed.
// It returns the base URL, http://127.0.0.1:port.
func startServer(t *testing.T, name, bin string, args func(addr string) []string, readyPath string) string {
	t.Helper()
	for attempt := 1; attempt <= 3; attempt++ {
		addr := freeLoopbackAddr(t)
		logs := &testenv.SyncBuffer{}
		cmd := exec.Command(bin, args(addr)...)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() { stopProcess(t, name, cmd, exited, logs) })

		base := "http://" + addr
		var gone bool
		waitFor(t, 60*time.Second, name+" ready", func() (bool, string) {
			select {
			case <-exited:
				gone = true
				return true, ""
			default:
			}
			resp, err := httpClient.Get(base + readyPath)
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		})
		if !gone {
			return base
		}
		if !strings.Contains(logs.String(), "address already in use") {
			t.Fatalf("%s exited:\n%s", name, logs)
		}
	}
	t.Fatalf("%s: no free port in 3 attempts", name)
	return ""
}

// get fetches a URL and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	buf := new(strings.Builder)
	if _, err := io.Copy(buf, resp.Body); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, buf.String()
}

// execIn prepares a command run in the module root, so repository paths work.
func execIn(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = repoRoot(t)
	return cmd
}
