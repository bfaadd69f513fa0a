package testenv

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// Redis is a redis-server started for one test: on 127.0.0.1 only, with no
// persistence, in a temporary directory, stopped by t.Cleanup.
type Redis struct {
	Addr string // 127.0.0.1:port
	Cmd  *exec.Cmd
	logs *SyncBuffer
}

// RequireRedis returns redis-server's path, or skips t (fails it with
// MEALSYNC_REQUIRE_SERVICES=1) when it is not installed (Debian's package:
// redis-server).
func RequireRedis(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	testdb.SkipOrFail(t, "redis-server is not installed")
	return ""
}

// StartRedis runs redis-server on a free loopback port and returns once it
// accepts connections.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin := RequireRedis(t)
	// redis-server cannot report a port it chose itself: take a free one,
	// and try again if another process took it first.
	for attempt := 1; ; attempt++ {
		r, inUse := startRedis(t, bin)
		if r != nil {
			return r
		}
		if !inUse || attempt == 3 {
			t.Fatal("redis-server did not start")
		}
	}
}

func startRedis(t testing.TB, bin string) (r *Redis, addrInUse bool) {
	t.Helper()
	port := FreePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "notice")
	cmd.Dir = dir
	r = &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), Cmd: cmd, logs: &SyncBuffer{}}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	// Started here rather than by StartProcess, so that one goroutine waits
	// for it and an early exit (a port taken meanwhile) is noticed.
	cmd.SysProcAttr = sysProcAttr(syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { killGroup(cmd.Process.Pid); <-exited })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.logs.String(), "Ready to accept connections") {
		select {
		case <-exited:
			logs := r.logs.String()
			if strings.Contains(logs, "Address already in use") {
				return nil, true
			}
			t.Fatalf("redis-server exited:\n%s", tail(logs, 20))
		case <-time.After(PollInterval):
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server not ready within 20 s:\n%s", tail(r.logs.String(), 20))
		}
	}
	return r, false
}
