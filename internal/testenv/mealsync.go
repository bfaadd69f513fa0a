package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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
)

// Options adjust StartMealsync. The zero value is a development-mode server
// on a fresh SQLite database.
type Options struct {
	// Binary is the mealsync executable; default BuildMealsync(t).
	Binary string
	// DatabaseURL is MEALSYNC_DATABASE_URL; default a new SQLite file in
	// t.TempDir().
	DatabaseURL string
	// Env sets further variables, and overrides the defaults:
	// MEALSYNC_ENV=development, MEALSYNC_SHUTDOWN_DELAY=0s,
	// MEALSYNC_ADDR=127.0.0.1:0 and MEALSYNC_OPS_ADDR=127.0.0.1:0 (any free
	// ports). MEALSYNC_LOG_FORMAT is always json: the harness reads the
	// "listening" line for the addresses.
	// MEALSYNC_* variables of the test's own environment are not passed on.
	Env map[string]string
	// ReadyTimeout bounds the wait for readiness; default 30 s.
	ReadyTimeout time.Duration
}

// Instance is a running `mealsync serve` process, ready when returned.
type Instance struct {
	Addr string // 127.0.0.1:port
	Port int
	URL  string // http://Addr
	// OpsAddr is the ops listener's 127.0.0.1:port (metrics, build info),
	// "" when MEALSYNC_OPS_ADDR=off; OpsURL is http://OpsAddr.
	OpsAddr string
	OpsURL  string
	Cmd     *exec.Cmd
	Dir     string // its working directory, in t.TempDir()

	logs   *logBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, once exited
	stop   sync.Once
}

// StartMealsync runs `mealsync serve` on 127.0.0.1 and returns once
// /actuator/health/readiness answers 200. The process is stopped with
// SIGTERM by t.Cleanup (its logs are printed if t failed).
func StartMealsync(t testing.TB, opts Options) *Instance {
	t.Helper()
	if opts.Binary == "" {
		opts.Binary = BuildMealsync(t)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	dir := t.TempDir()
	env := map[string]string{
		"MEALSYNC_ENV":            "development",
		"MEALSYNC_ADDR":           "127.0.0.1:0",
		"MEALSYNC_OPS_ADDR":       "127.0.0.1:0",
		"MEALSYNC_SHUTDOWN_DELAY": "0s",
		"MEALSYNC_DATABASE_URL":   "sqlite:" + filepath.Join(dir, "mealsync.db"),
	}
	if opts.DatabaseURL != "" {
		env["MEALSYNC_DATABASE_URL"] = opts.DatabaseURL
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	env["MEALSYNC_LOG_FORMAT"] = "json"

	inst := &Instance{Dir: dir, logs: newLogBuffer(), exited: make(chan struct{})}
	cmd := exec.Command(opts.Binary, "serve")
	cmd.Dir = dir
	cmd.Env = childEnv(env)
	cmd.Stdout = inst.logs
	cmd.Stderr = inst.logs
	cmd.SysProcAttr = sysProcAttr(syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mealsync: %v", err)
	}
	inst.Cmd = cmd
	go func() {
		inst.err = cmd.Wait()
		close(inst.exited)
	}()
	t.Cleanup(func() {
		if err := inst.Stop(); err != nil && !inst.killed() {
			t.Logf("mealsync %s: %v", inst.Addr, err)
		}
		if t.Failed() {
			t.Logf("mealsync %s log (last lines):\n%s", inst.Addr, tail(inst.Logs(), 40))
		}
	})

	select {
	case l := <-inst.logs.listening:
		inst.Addr = l.addr
		if l.ops != "off" {
			inst.OpsAddr, inst.OpsURL = l.ops, "http://"+l.ops
		}
	case <-inst.exited:
		t.Fatalf("mealsync exited before listening: %v\n%s", inst.err, tail(inst.Logs(), 40))
	case <-time.After(opts.ReadyTimeout):
		t.Fatalf("mealsync did not log \"listening\" within %s\n%s", opts.ReadyTimeout, tail(inst.Logs(), 40))
	}
	_, port, _ := net.SplitHostPort(inst.Addr)
	inst.Port, _ = strconv.Atoi(port)
	inst.URL = "http://" + inst.Addr

	client := &http.Client{Timeout: 2 * time.Second}
	WaitFor(t, opts.ReadyTimeout, "mealsync "+inst.Addr+" to report ready", func() bool {
		select {
		case <-inst.exited:
			t.Fatalf("mealsync exited before it was ready: %v\n%s", inst.err, tail(inst.Logs(), 40))
		default:
		}
		resp, err := client.Get(inst.URL + "/actuator/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return inst
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 60 s),
// returning its exit error. It is safe to call more than once.
func (i *Instance) Stop() error {
	i.stop.Do(func() {
		i.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-i.exited:
		case <-time.After(60 * time.Second):
			i.Cmd.Process.Kill()
			<-i.exited
		}
	})
	<-i.exited
	return i.err
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it:
// afterwards its port refuses connections.
func (i *Instance) Kill() {
	i.Cmd.Process.Kill()
	<-i.exited
}

func (i *Instance) killed() bool {
	var ee *exec.ExitError
	if errors.As(i.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			return ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
	}
	return false
}

// Logs returns everything the process has written so far (JSON lines).
func (i *Instance) Logs() string { return i.logs.String() }

// LogLines returns the process's JSON log lines so far, decoded.
func (i *Instance) LogLines() []map[string]any { return i.logs.lines() }

// childEnv is the test's environment without MEALSYNC_* variables, plus env.
func childEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MEALSYNC_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// logBuffer keeps a process's output and announces the addresses of its
// "listening" log line.
type logBuffer struct {
	mu        sync.Mutex
	all       bytes.Buffer
	partial   []byte
	decoded   []map[string]any
	listening chan listening
}

// listening is what the "listening" line says: the API's address and the
// ops listener's ("off" when there is none).
type listening struct{ addr, ops string }

func newLogBuffer() *logBuffer { return &logBuffer{listening: make(chan listening, 1)} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Write(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := l.partial[:i]
		l.partial = l.partial[i+1:]
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			continue
		}
		l.decoded = append(l.decoded, m)
		if m["msg"] == "listening" {
			select {
			case l.listening <- listening{addr: fmt.Sprint(m["addr"]), ops: fmt.Sprint(m["ops_addr"])}:
			default:
			}
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all.String()
}

func (l *logBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.decoded...)
}
