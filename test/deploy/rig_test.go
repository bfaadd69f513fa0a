// Package deploy_test proves mealsyncctl's zero-downtime claim by running
// it: real nginx (the repository's nginx/ config, changed only by
// testenv.Substitute) in front of real `mealsync serve` processes that the
// real mealsyncctl binary starts and stops with its process driver, on one
// shared PostgreSQL database, under a paced load of a few hundred requests
// per second from loopback addresses. Everything stays on 127.0.0.0/8.
//
// Tests skip without nginx or PostgreSQL, unless MEALSYNC_REQUIRE_SERVICES=1.
package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// Timings the tests deploy with. The verification window is shorter than
// the default (10 s) so that five deploys of two instances fit in CI's
// time; TestDeployFigures measures the defaults. The app's shutdown delay
// is its default: it is how long a stopping instance leaves an idle
// connection to nginx, which must be longer than nginx's upstream
// keepalive_timeout (4 s) so that nginx always closes first; where an
// instance bound its own address (no socket to share) it must also outlast
// nginx holding a slow request body (1 s here) before it forwards it.
const (
	verifyWindow  = "3s"
	shutdownDelay = "5s"
)

// releases builds the mealsync binary once per version string, with
// -X buildinfo.Version, so two builds of the same source differ the way
// two releases do: by what /actuator/info and `mealsync version` say.
var releases = struct {
	sync.Mutex
	dir  string
	bins map[string]string
}{bins: map[string]string{}}

func buildRelease(t *testing.T, version string) string {
	t.Helper()
	releases.Lock()
	defer releases.Unlock()
	if p, ok := releases.bins[version]; ok {
		return p
	}
	if releases.dir == "" {
		d, err := os.MkdirTemp("", "mealsync-deploy-releases-")
		if err != nil {
			t.Fatal(err)
		}
		releases.dir = d
	}
	out := filepath.Join(releases.dir, version, "mealsync")
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", "-X github.com/mealsync/mealsync/internal/buildinfo.Version="+version, "./cmd/mealsync")
	cmd.Dir = testenv.RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build release %s: %v\n%s", version, err, b)
	}
	releases.bins[version] = out
	return out
}

// buildTool builds a small program from this package's testdata.
func buildTool(t *testing.T, name string) string {
	t.Helper()
	releases.Lock()
	defer releases.Unlock()
	key := "tool:" + name
	if p, ok := releases.bins[key]; ok {
		return p
	}
	out := filepath.Join(t.TempDir(), name)
	if releases.dir != "" {
		out = filepath.Join(releases.dir, "tools", name)
	}
	cmd := exec.Command("go", "build", "-o", out, "./test/deploy/testdata/"+name)
	cmd.Dir = testenv.RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	releases.bins[key] = out
	return out
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(envGuardStateDir); dir != "" {
		runGuard(dir) // this process is a rig's guard, not a test run
	}
	code := m.Run()
	if releases.dir != "" {
		os.RemoveAll(releases.dir)
	}
	os.Exit(code)
}

// rig is one deployment: nginx, a database, a state directory, and the
// mealsyncctl binary that manages them.
type rig struct {
	t        *testing.T
	nginx    *testenv.Nginx
	ctl      string // mealsyncctl
	stateDir string
	dbURL    string
	dir      string // env files and the instances' working directory
}

// newRig starts nginx (with a placeholder upstream that refuses
// connections), creates and migrates a database, and seeds its catalogue.
func newRig(t *testing.T) *rig {
	t.Helper()
	testenv.RequireNginx(t)
	return newRigWith(t, testenv.Build(t, "./cmd/mealsyncctl"), "")
}

// newRigWith is newRig with another mealsyncctl and nginx configuration
// folder ("" is the repository's): an older release's, for a comparison.
func newRigWith(t *testing.T, ctl, nginxDir string) *rig {
	t.Helper()
	testenv.RequireNginx(t)
	dbURL := testdb.PostgresURL(t)
	r := &rig{t: t, dbURL: dbURL, dir: t.TempDir(), ctl: ctl}
	r.stateDir = filepath.Join(r.dir, "state")
	v1 := buildRelease(t, "v1")
	for _, sub := range []string{"migrate", "seed"} {
		cmd := exec.Command(v1, sub)
		cmd.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+dbURL, "MEALSYNC_LOG_FORMAT=json")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mealsync %s: %v\n%s", sub, err, b)
		}
	}
	r.nginx = testenv.StartNginx(t, nginxDir, []string{"127.0.0.1:1"})
	startGuard(t, r.stateDir) // instances die even if this test process is killed
	t.Cleanup(r.stopEverything)
	return r
}

// envFile writes an env file for instances on the shared database; extra
// lines override.
func (r *rig) envFile(name string, extra ...string) string {
	r.t.Helper()
	lines := []string{
		"# written by test/deploy",
		"MEALSYNC_ENV=development",
		// Instances side by side share one key, as production's do (each
		// development instance would otherwise make its own).
		"MEALSYNC_JWT_SECRET=deploy-test-secret-shared-by-every-instance",
		// The load registers accounts by the hundred, all from nginx's one
		// client address.
		"MEALSYNC_REGISTER_MAX_PER_ADDRESS=0",
		"MEALSYNC_DATABASE_URL=" + r.dbURL,
		"MEALSYNC_LOG_FORMAT=json",
		"MEALSYNC_SHUTDOWN_DELAY=" + shutdownDelay,
		"MEALSYNC_SHUTDOWN_TIMEOUT=20s",
		"MEALSYNC_TRUSTED_PROXIES=127.0.0.1/32",
		"MEALSYNC_DB_MAX_OPEN_CONNS=10",
		"MEALSYNC_DB_MAX_IDLE_CONNS=10",
	}
	p := filepath.Join(r.dir, name+".env")
	if err := os.WriteFile(p, []byte(strings.Join(append(lines, extra...), "\n")+"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// nginxFlags point mealsyncctl at the test's nginx.
func (r *rig) nginxFlags() []string {
	return []string{
		"--nginx", r.nginx.Binary,
		"--nginx-conf", filepath.Join(r.nginx.Prefix, "nginx.conf"),
		"--nginx-prefix", r.nginx.Prefix + "/",
		"--upstream-file", r.nginx.UpstreamFile,
	}
}

// result is one mealsyncctl run.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// command returns a mealsyncctl command on the rig's state directory.
func (r *rig) command(args ...string) *exec.Cmd {
	cmd := exec.Command(r.ctl, args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "MEALSYNCCTL_STATE_DIR="+r.stateDir)
	// mealsyncctl dies with the test; the instances it starts are detached
	// on purpose, and the rig's guard stops those.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// run runs mealsyncctl to completion.
func (r *rig) run(args ...string) result {
	r.t.Helper()
	cmd := r.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String(), took: time.Since(t0)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		r.t.Fatalf("mealsyncctl %s: %v", strings.Join(args, " "), err)
	}
	r.t.Logf("mealsyncctl %s → exit %d in %.1fs", args[0], res.code, res.took.Seconds())
	return res
}

// mustRun runs mealsyncctl and fails the test unless it exits 0.
func (r *rig) mustRun(args ...string) result {
	r.t.Helper()
	res := r.run(args...)
	if res.code != 0 {
		r.t.Fatalf("mealsyncctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// deployArgs are the arguments of a process-driver deploy of a binary.
func (r *rig) deployArgs(binary, envFile string, extra ...string) []string {
	args := append([]string{"deploy", "--binary", binary, "--env-file", envFile, "--workdir", r.dir,
		"--verify", verifyWindow, "--stop-timeout", "30s",
		// Three failed probes in a row (1.5 s), not two: CI runs other test
		// packages beside this one on two cores, and a readiness probe that
		// pings the database can miss its 1 s once without anything wrong.
		"--failure-threshold", "3"}, r.nginxFlags()...)
	return append(args, extra...)
}

// state reads the state file as mealsyncctl wrote it.
func (r *rig) state() *rollout.State {
	r.t.Helper()
	st, err := (&rollout.Store{Dir: r.stateDir}).Load()
	if err != nil {
		r.t.Fatal(err)
	}
	return st
}

// status runs `mealsyncctl status --json`.
func (r *rig) status() statusJSON {
	r.t.Helper()
	res := r.mustRun("status", "--json")
	var s statusJSON
	if err := json.Unmarshal([]byte(res.stdout), &s); err != nil {
		r.t.Fatalf("status --json: %v\n%s", err, res.stdout)
	}
	return s
}

// statusJSON is the part of `status --json` the tests read.
type statusJSON struct {
	Current   *rollout.Release `json:"current"`
	Desired   int              `json:"desired"`
	Instances []struct {
		rollout.Instance
		Health     string `json:"health"`
		InUpstream bool   `json:"in_upstream"`
	} `json:"instances"`
	Upstream struct {
		Servers []string `json:"servers"`
	} `json:"upstream"`
	Interrupted *rollout.Operation `json:"interrupted"`
	Consistent  bool               `json:"consistent"`
	Problems    []string           `json:"problems"`
}

// checkConsistent asserts the deployment is what a finished command leaves:
// n ready instances of version, the upstream naming exactly them, and no
// other process started from this state directory alive.
func (r *rig) checkConsistent(n int, version string) {
	r.t.Helper()
	s := r.status()
	if !s.Consistent || s.Interrupted != nil {
		r.t.Errorf("status: consistent=%v interrupted=%v problems=%v", s.Consistent, s.Interrupted, s.Problems)
	}
	if len(s.Instances) != n {
		r.t.Errorf("%d instances recorded, want %d", len(s.Instances), n)
	}
	var addrs []string
	for _, in := range s.Instances {
		if in.Health != "ready" || !in.InUpstream || in.Version != version {
			r.t.Errorf("instance %s: %s, version %s, in upstream %v", in.ID, in.Health, in.Version, in.InUpstream)
		}
		addrs = append(addrs, in.Addr)
	}
	if !sameSet(addrs, s.Upstream.Servers) {
		r.t.Errorf("upstream %v, instances %v", s.Upstream.Servers, addrs)
	}
	alive := r.labelledProcesses()
	want := map[int]bool{}
	for _, in := range s.Instances {
		want[in.PID] = true
	}
	for _, pid := range alive {
		if !want[pid] && !childOfRecorded(pid, want) {
			r.t.Errorf("orphan: pid %d (%s) runs from this state directory but is not recorded", pid, cmdline(pid))
		}
	}
}

// checkMonitor asserts that each of the n instances has an ops listener of
// its own, on no port another uses, and that `mealsyncctl monitor` reads
// every one of them there: ready, running version.
func (r *rig) checkMonitor(n int, version string) {
	r.t.Helper()
	st := r.state()
	ports := map[string]string{}
	ops := map[string]bool{}
	for _, in := range st.Instances {
		ops[in.OpsAddr] = true
		for _, a := range []string{in.Addr, in.OpsAddr} {
			if a == "" || ports[a] != "" {
				r.t.Errorf("instance %s: address %q is empty or taken by %s", in.ID, a, ports[a])
			}
			ports[a] = in.ID
		}
	}
	res := r.mustRun("monitor", "--once", "--json", "--interval", "500ms")
	var frame struct {
		Ready     int `json:"ready"`
		Instances []struct {
			URL, Version, Error string
			Ready               bool
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &frame); err != nil {
		r.t.Fatalf("monitor --json: %v\n%s", err, res.stdout)
	}
	if frame.Ready != n || len(frame.Instances) != n {
		r.t.Fatalf("monitor sees %d ready of %d, want %d:\n%s", frame.Ready, len(frame.Instances), n, res.stdout)
	}
	for _, in := range frame.Instances {
		if !ops[strings.TrimPrefix(in.URL, "http://")] || !in.Ready || in.Version != version || in.Error != "" {
			r.t.Errorf("monitor row %+v: want an ops address of the state, ready, %s, no error", in, version)
		}
	}
}

// labelledProcesses lists live processes carrying this rig's state
// directory in their environment (how mealsyncctl labels its instances).
func (r *rig) labelledProcesses() []int {
	label := []byte("MEALSYNCCTL_STATE_DIR=" + r.stateDir + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		env, err := os.ReadFile(d + "/environ")
		if err != nil || !bytes.Contains(env, label) {
			continue
		}
		if stat, err := os.ReadFile(d + "/stat"); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
				continue // exited, not yet reaped
			}
		}
		out = append(out, pid)
	}
	return out
}

// childOfRecorded: a wrapper's child (exitafter runs mealsync) belongs to
// its recorded parent.
func childOfRecorded(pid int, recorded map[int]bool) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return false
	}
	ppid, _ := strconv.Atoi(f[1])
	return recorded[ppid]
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// stopEverything kills whatever this rig's state directory started, so a
// failed test leaves no process behind.
func (r *rig) stopEverything() {
	killStarted(r.stateDir)
	if r.t.Failed() {
		logs, _ := filepath.Glob(filepath.Join(r.stateDir, "logs", "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			r.t.Logf("%s (last lines):\n%s", filepath.Base(l), lastLines(string(b), 8))
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// waitForStep polls the journal until its step starts with prefix, and
// returns it; it fails t if the command exits first or time runs out.
func (r *rig) waitForStep(ctx context.Context, exited <-chan struct{}, prefix string, timeout time.Duration) string {
	r.t.Helper()
	var step string
	testenv.WaitFor(r.t, timeout, fmt.Sprintf("the journal to reach step %q", prefix), func() bool {
		select {
		case <-exited:
			r.t.Fatalf("mealsyncctl exited before the journal reached %q (last step %q)", prefix, step)
		default:
		}
		st, err := (&rollout.Store{Dir: r.stateDir}).Load()
		if err != nil || st.Op == nil {
			return false
		}
		step = st.Op.Step
		return strings.HasPrefix(step, prefix)
	})
	return step
}

// waitPastStep polls the journal until its step no longer starts with
// prefix (the command moved on, or ended), and returns the step it found.
func (r *rig) waitPastStep(exited <-chan struct{}, prefix string, timeout time.Duration) string {
	r.t.Helper()
	var step string
	testenv.WaitFor(r.t, timeout, fmt.Sprintf("the journal to move past step %q", prefix), func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		st, err := (&rollout.Store{Dir: r.stateDir}).Load()
		if err != nil || st.Op == nil {
			return true
		}
		step = st.Op.Step
		return !strings.HasPrefix(step, prefix)
	})
	return step
}
