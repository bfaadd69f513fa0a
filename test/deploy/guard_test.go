package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// The instances mealsyncctl starts are detached on purpose (their own
// session, outliving the command), so nothing in the kernel ties them to
// the test: a test binary killed by `go test`'s timeout would leave them
// running. Each rig therefore starts a guard: this test binary again, in
// guard mode, reading a pipe from the test. When the test process dies, for
// whatever reason, the pipe closes and the guard kills every process the
// rig's state directory started, then exits. A test that ends normally
// closes the pipe after its own cleanup, and the guard finds nothing left.

const envGuardStateDir = "MEALSYNC_DEPLOY_TEST_GUARD"

// runGuard is the guard's whole life; TestMain calls it in guard mode.
func runGuard(stateDir string) {
	io.Copy(io.Discard, os.Stdin) // returns when the test process is gone
	killStarted(stateDir)
	os.Exit(0)
}

// startGuard starts the guard for stateDir. It is not tied to the test
// (that is its point); it ends when the test does.
func startGuard(t *testing.T, stateDir string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envGuardStateDir+"="+stateDir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a Ctrl-C to the test's group must not end it first
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
}

// killStarted sends SIGKILL to every process stateDir's mealsyncctl
// started that still runs: the instances its state records (checked by
// start time, so a reused pid is left alone) and any process labelled with
// the state directory in its environment (an instance started but not yet
// recorded), each with its process group.
func killStarted(stateDir string) {
	for _, pid := range startedBy(stateDir) {
		syscall.Kill(-pid, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// startedBy lists the live processes stateDir's mealsyncctl started.
func startedBy(stateDir string) []int {
	seen := map[int]bool{}
	var out []int
	add := func(pid int) {
		if pid > 0 && !seen[pid] {
			seen[pid] = true
			out = append(out, pid)
		}
	}
	var st struct {
		Instances []struct {
			PID        int    `json:"pid"`
			StartTicks uint64 `json:"start_ticks"`
		} `json:"instances"`
	}
	if b, err := os.ReadFile(filepath.Join(stateDir, "state.json")); err == nil && json.Unmarshal(b, &st) == nil {
		for _, in := range st.Instances {
			if ticks, alive := startTicks(in.PID); alive && (in.StartTicks == 0 || ticks == in.StartTicks) {
				add(in.PID)
			}
		}
	}
	label := []byte("MEALSYNCCTL_STATE_DIR=" + stateDir + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if env, err := os.ReadFile(d + "/environ"); err == nil && bytes.Contains(env, label) {
			if _, alive := startTicks(pid); alive {
				add(pid)
			}
		}
	}
	return out
}

// startTicks reads a process's start time from /proc; alive is false for
// a process that is gone or a zombie.
func startTicks(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	ticks, _ := strconv.ParseUint(f[19], 10, 64)
	return ticks, true
}

// envHelper names the file where TestGuardedDeployHelper, run as a child
// test process, writes its state directory.
const envHelper = "MEALSYNC_DEPLOY_TEST_HELPER"

// TestChildrenDieWithTheTest: a test process of this package that has
// deployed an instance is killed with SIGKILL, as `go test` ends one that
// runs past its timeout. The instance, detached by mealsyncctl, must not
// outlive it: the rig's guard stops it.
func TestChildrenDieWithTheTest(t *testing.T) {
	testenv.RequireNginx(t)
	testdb.PostgresURL(t) // skip (or fail in CI) before anything starts without a database
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "state-dir")
	cmd := exec.Command(self, "-test.run", "^TestGuardedDeployHelper$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envHelper+"="+report)
	var out testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	var stateDir string
	testenv.WaitFor(t, 3*time.Minute, "the child test to deploy an instance", func() bool {
		select {
		case <-exited:
			t.Fatalf("the child test exited before it had deployed:\n%s", out.String())
		default:
		}
		b, err := os.ReadFile(report)
		stateDir = string(b)
		return err == nil && len(b) > 0
	})
	pids := startedBy(stateDir)
	if len(pids) == 0 {
		t.Fatalf("the child's state directory %s records no running instance:\n%s", stateDir, out.String())
	}
	cmd.Process.Kill()
	<-exited
	testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("the instances %v to die with the test that started them", pids), func() bool {
		for _, pid := range pids {
			if _, alive := startTicks(pid); alive {
				return false
			}
		}
		return true
	})
}

// TestGuardedDeployHelper is the child of TestChildrenDieWithTheTest: it
// deploys one instance, says where its state is, and waits to be killed.
func TestGuardedDeployHelper(t *testing.T) {
	report := os.Getenv(envHelper)
	if report == "" {
		t.Skip("run by TestChildrenDieWithTheTest")
	}
	r := newRig(t)
	r.mustRun(r.deployArgs(buildRelease(t, "v1"), r.envFile("good"), "--instances", "1")...)
	if err := os.WriteFile(report, []byte(r.stateDir), 0o644); err != nil {
		t.Fatal(err)
	}
	select {} // until killed
}
