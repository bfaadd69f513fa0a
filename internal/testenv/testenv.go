// Package testenv runs real programs on loopback for tests: the mealsync
// binary as separate processes, and nginx with the repository's own nginx/
// configuration in front of them. It is for tests only (it imports testing)
// and must not be imported by non-test code.
//
// Everything it starts is stopped by t.Cleanup, and dies with the test
// binary if that is killed (Linux parent-death signal). It needs Linux.
//
// The API:
//
//	BuildMealsync(t) / Build(t, pkg)   go build, once per test binary
//	StartMealsync(t, Options)          a `mealsync serve` process, ready:
//	                                   Addr, Port, URL, OpsAddr, OpsURL, Cmd;
//	                                   Stop, Kill, Logs
//	RequireNginx(t)                    nginx's path, or skip (fail in CI)
//	StartNginx(t, confDir, upstreams)  nginx on the real config, ready: URL,
//	                                   Port, Ports, AccessLog, Binary, Flags,
//	                                   UpstreamFile; WriteUpstream, Reload,
//	                                   Command, Stop
//	Substitute / SubstituteUpstream    the config rewrite StartNginx applies
//	                                   (documented in nginx/README.md)
//	FreePort(t), WaitFor(t, ...)       small helpers
//	RepoRoot(t)                        the module's root directory
//
// Missing tools follow testdb.SkipOrFail: a test skips, unless
// MEALSYNC_REQUIRE_SERVICES=1, where it fails.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PollInterval is how often WaitFor checks its condition.
const PollInterval = 20 * time.Millisecond

// WaitFor calls cond every PollInterval until it returns true, and fails t
// if that has not happened within timeout. what completes the sentence
// "timed out waiting for ...". cond may call t.Fatal to give up early.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Prefer
// listening on port 0 where the program can report its port (StartMealsync
// does); nginx cannot, so StartNginx uses this and retries if it lost a race.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// RepoRoot is the directory holding the module's go.mod, found upwards from
// the working directory (a test's package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(data), "module github.com/mealsync/mealsync\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod of github.com/mealsync/mealsync above the working directory")
		}
		dir = parent
	}
}

// BuildMealsync builds cmd/mealsync (see Build).
func BuildMealsync(t testing.TB) string {
	t.Helper()
	return Build(t, "./cmd/mealsync")
}

var builds = struct {
	sync.Mutex
	dir string
	m   map[string]*build
}{m: map[string]*build{}}

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the repository's package pkg (like "./cmd/mealsyncctl")
// once per test binary and returns the executable's path. The binaries live
// in one temporary directory per test process; directories left by earlier
// test processes that have exited are removed.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	root := RepoRoot(t)
	builds.Lock()
	b := builds.m[pkg]
	if b == nil {
		b = &build{}
		builds.m[pkg] = b
	}
	builds.Unlock()
	b.once.Do(func() {
		dir, err := binDir()
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command(goTool(), "build", "-o", b.path, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

const binDirPrefix = "mealsync-testenv-bin-"

// binDir is this process's directory for built binaries.
func binDir() (string, error) {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir != "" {
		return builds.dir, nil
	}
	removeStaleBinDirs()
	dir := filepath.Join(os.TempDir(), binDirPrefix+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	builds.dir = dir
	return dir, nil
}

// removeStaleBinDirs deletes the binary directories of test processes that
// no longer run (there is no hook at process exit to do it then).
func removeStaleBinDirs() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, dir := range old {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), binDirPrefix))
		if err == nil && pid != os.Getpid() && !processExists(pid) {
			os.RemoveAll(dir)
		}
	}
}

// goTool is the go command that runs this test.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StartProcess starts cmd as a child that dies with the test: in a process
// group of its own, killed (group and all) by t.Cleanup, and by the kernel
// if the test binary dies first.
func StartProcess(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = sysProcAttr(syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		killGroup(cmd.Process.Pid)
		cmd.Wait()
	})
}
