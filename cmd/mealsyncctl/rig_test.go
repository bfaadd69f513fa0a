package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
	"github.com/mealsync/mealsync/internal/testenv"
)

// hostRig is a process-driver deployment on this machine: real nginx (the
// repository's config, as test/edge runs it) in front of stand-in instances
// (internal/rollout/testdata/standin) that mealsyncctl starts and stops.
type hostRig struct {
	t        *testing.T
	nginx    *testenv.Nginx
	stateDir string
	store    *rollout.Store
	standin  string
	envFile  string
}

func newHostRig(t *testing.T) *hostRig {
	t.Helper()
	r := &hostRig{t: t, stateDir: filepath.Join(t.TempDir(), "state")}
	r.nginx = testenv.StartNginx(t, "", []string{"127.0.0.1:1"})
	r.standin = testenv.Build(t, "./internal/rollout/testdata/standin")
	r.store = &rollout.Store{Dir: r.stateDir}
	r.envFile = filepath.Join(t.TempDir(), "env")
	// Instances run detached; STANDIN_WATCH_PID ends them with this test
	// even if it times out.
	env := "STANDIN_DELAY=100ms\nSTANDIN_WATCH_PID=" + strconv.Itoa(os.Getpid()) + "\n"
	if err := os.WriteFile(r.envFile, []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.killAll)
	return r
}

// killAll kills every process the state directory records.
func (r *hostRig) killAll() {
	st, _ := r.store.Load()
	for _, in := range st.Instances {
		if in.PID > 0 {
			syscall.Kill(-in.PID, syscall.SIGKILL)
		}
	}
	recs, _ := filepath.Glob(filepath.Join(r.stateDir, "pids", "*"))
	for _, rec := range recs {
		b, _ := os.ReadFile(rec)
		if f := strings.Fields(string(b)); len(f) == 2 {
			if pid, err := strconv.Atoi(f[0]); err == nil && pid > 0 {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	}
}

// ctl runs mealsyncctl in-process on the rig's state directory, given by
// $MEALSYNCCTL_STATE_DIR as the cheat sheet's flag-less commands expect.
func (r *hostRig) ctl(args ...string) (string, error) {
	r.t.Helper()
	out, errOut, err := ctl(r.t, map[string]string{"MEALSYNCCTL_STATE_DIR": r.stateDir}, args...)
	if testing.Verbose() {
		r.t.Logf("mealsyncctl %s:\n%s%s", strings.Join(args, " "), out, errOut)
	}
	return out + errOut, err
}

func (r *hostRig) mustCtl(args ...string) string {
	r.t.Helper()
	out, err := r.ctl(args...)
	if err != nil {
		r.t.Fatalf("mealsyncctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fast is the gate's timing for stand-ins, which are ready at once.
var fast = []string{"--verify", "300ms", "--poll", "50ms", "--ready-timeout", "20s", "--stop-timeout", "10s"}

func (r *hostRig) deploy(n int) {
	r.t.Helper()
	args := append([]string{"deploy", "--binary", r.standin, "--version", "v1", "--env-file", r.envFile,
		"--instances", strconv.Itoa(n),
		"--nginx", r.nginx.Binary, "--nginx-conf", filepath.Join(r.nginx.Prefix, "nginx.conf"),
		"--nginx-prefix", r.nginx.Prefix + "/", "--upstream-file", r.nginx.UpstreamFile}, fast...)
	r.mustCtl(args...)
}

type statusOut struct {
	Desired   int
	Instances []struct {
		rollout.Instance
		Health     string
		InUpstream bool `json:"in_upstream"`
	}
	Upstream   struct{ Servers []string }
	Consistent bool
	Problems   []string
	Strays     []string
	Remedy     string
}

func (r *hostRig) status() statusOut {
	r.t.Helper()
	out := r.mustCtl("status", "--json")
	var s statusOut
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		r.t.Fatalf("status --json: %v\n%s", err, out)
	}
	return s
}

// checkConsistent asserts n live instances, all ready and in the upstream,
// which names nothing else, and status agreeing.
func (r *hostRig) checkConsistent(n int) *rollout.State {
	r.t.Helper()
	s := r.status()
	if !s.Consistent || len(s.Problems) > 0 || s.Remedy != "" {
		r.t.Errorf("status: consistent=%v problems=%q remedy=%q", s.Consistent, s.Problems, s.Remedy)
	}
	st, err := r.store.Load()
	if err != nil {
		r.t.Fatal(err)
	}
	if len(st.Instances) != n || st.Desired != n {
		r.t.Errorf("%d instances recorded, %d wanted; want %d", len(st.Instances), st.Desired, n)
	}
	for _, in := range st.Instances {
		if in.Role != rollout.RoleServing || !alive(in) {
			r.t.Errorf("instance %s: role %s, alive %v", in.Name(), in.Role, alive(in))
		}
	}
	if got := r.upstream(); !slices.Equal(got, slices.Sorted(slices.Values(st.Addrs()))) {
		r.t.Errorf("the upstream file names %v, the instances are %v", got, st.Addrs())
	}
	return st
}

// upstream reads the servers of the upstream file nginx runs, sorted,
// leaving out the placeholder of an empty one and the backup line each
// server has beside it (nginx/upstream.conf says why).
func (r *hostRig) upstream() []string {
	r.t.Helper()
	b, err := os.ReadFile(r.nginx.UpstreamFile)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";"))
		if len(f) >= 2 && f[0] == "server" && !slices.Contains(f, "down") && !slices.Contains(f, "backup") {
			out = append(out, f[1])
		}
	}
	slices.Sort(out)
	return out
}

// alive reports whether in's recorded process runs: /proc/PID/stat exists,
// is no zombie, and has the recorded start time.
func alive(in rollout.Instance) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(in.PID) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 19 && f[0] != "Z" && f[19] == strconv.FormatUint(in.StartTicks, 10)
}

// killInstance SIGKILLs a recorded instance and waits until it is gone.
func (r *hostRig) killInstance(in rollout.Instance) {
	r.t.Helper()
	if err := syscall.Kill(in.PID, syscall.SIGKILL); err != nil {
		r.t.Fatal(err)
	}
	testenv.WaitFor(r.t, 10*time.Second, in.ID+" to die", func() bool { return !alive(in) })
}

func (r *hostRig) snapshot() (state, upstream string) {
	r.t.Helper()
	s, err := os.ReadFile(r.store.Path("state.json"))
	if err != nil {
		r.t.Fatal(err)
	}
	u, err := os.ReadFile(r.nginx.UpstreamFile)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(s), string(u)
}
