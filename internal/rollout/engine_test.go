package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// fastOpts keep the fake rollouts quick: the gate's logic, not its timing,
// is under test here (test/deploy runs the real timings).
var fastOpts = Options{ReadyTimeout: 300 * time.Millisecond, Verify: 30 * time.Millisecond, Poll: 2 * time.Millisecond}

func newEngine(t *testing.T, w *world, store *Store) *Engine {
	t.Helper()
	st, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out io.Writer = io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	return &Engine{Store: store, State: st, Driver: driver{w}, Proxy: proxy{w}, Opts: fastOpts, Out: out}
}

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustDeploy(t *testing.T, w *world, store *Store, version string, n int) {
	t.Helper()
	e := newEngine(t, w, store)
	if err := e.Deploy(context.Background(), "deploy", Release{Version: version}, n); err != nil {
		t.Fatalf("deploy %s: %v", version, err)
	}
}

func TestDeployReplacesEveryInstanceOneAtATime(t *testing.T) {
	w := newWorld(t)
	w.scripts["v2"] = behaviour{readyAfter: 3}
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 3)
	w.minServing, w.maxAlive = 3, 4 // from now on: never fewer than 3, never more than 4
	applied := len(w.applies)
	mustDeploy(t, w, store, "v2", 0) // 0: keep the current count

	if got := joined(w.running()); got != "v2,v2,v2" {
		t.Errorf("running %s, want three v2 and nothing else", got)
	}
	if got := joined(w.servingVersions()); got != "v2,v2,v2" {
		t.Errorf("upstream serves %s", got)
	}
	// add, remove for each of the three: six reloads.
	if n := len(w.applies) - applied; n != 6 {
		t.Errorf("%d upstream changes, want 6 (add then remove, per instance)", n)
	}
	st, _ := store.Load()
	if st.Current.Version != "v2" || st.Previous.Version != "v1" || st.Desired != 3 || st.Op != nil {
		t.Errorf("state: current %v previous %v desired %d op %v", st.Current, st.Previous, st.Desired, st.Op)
	}
	for _, in := range st.Instances {
		if in.Role != RoleServing || in.Version != "v2" {
			t.Errorf("instance %+v left behind", in)
		}
	}
	h, _ := store.History()
	if len(h) != 2 || h[1].Outcome != Succeeded || h[1].Version != "v2" || h[1].From != "v1" || h[1].Duration <= 0 {
		t.Errorf("history %+v", h)
	}
}

func TestDeployRollsBack(t *testing.T) {
	cases := []struct {
		name     string
		script   behaviour
		reject   bool
		step     string
		cause    string
		replaced int // v2 instances that had replaced a v1 before the failure
	}{
		{"never ready", behaviour{never: true}, false, StepReady, "did not become ready within 300ms", 0},
		{"exits before ready", behaviour{exitEarly: true}, false, StepReady, "exited before its readiness endpoint said UP", 0},
		{"exits in the window", behaviour{exitAfter: 1}, false, StepVerify, "exited", 0},
		{"readiness fails in the window", behaviour{failAfter: 1}, false, StepVerify, "readiness failed 3 probes in a row", 0},
		{"nginx rejects the config", behaviour{}, true, StepAdd, "nginx rejected the new upstream", 0},
		// The first v2 instance passes and replaces a v1; the second fails.
		{"second instance fails", behaviour{exitAfter: 1, fromNth: 2}, false, StepVerify, "exited", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			store := newStore(t)
			mustDeploy(t, w, store, "v1", 2)
			before := slices.Clone(w.upstream)
			w.minServing, w.maxAlive = 2, 3
			w.scripts["v2"] = c.script
			if c.reject {
				w.reject = func(addrs []string) bool { return len(addrs) > 2 }
			}
			e := newEngine(t, w, store)
			e.Opts.Verify = time.Second // ends early on the failure; long enough for two probes on a busy machine
			err := e.Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0)
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("deploy returned %v, want a *Failure", err)
			}
			if f.Step != c.step || f.Outcome != RolledBack {
				t.Errorf("failure at %q outcome %s, want %q rolled back", f.Step, f.Outcome, c.step)
			}
			msg := err.Error()
			for _, want := range []string{"deploy of v2 rolled back", c.step, f.Instance.ID, c.cause, "last words of " + f.Instance.ID, "keeps serving"} {
				if !strings.Contains(msg, want) {
					t.Errorf("explanation lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "\n\n") {
				t.Errorf("explanation is more than one paragraph:\n%s", msg)
			}
			if got := joined(w.running()); got != "v1,v1" {
				t.Errorf("running %s after the rollback, want v1,v1 only", got)
			}
			if got := joined(w.servingVersions()); got != "v1,v1" {
				t.Errorf("upstream serves %s after the rollback", got)
			}
			if c.replaced == 0 && !slices.Equal(w.upstream, before) {
				t.Errorf("upstream %v, want the last good one %v", w.upstream, before)
			}
			st, _ := store.Load()
			if st.Current.Version != "v1" || st.Op != nil || len(st.Instances) != 2 {
				t.Errorf("state after rollback: current %v op %v instances %+v", st.Current, st.Op, st.Instances)
			}
			h, _ := store.History()
			if last := h[len(h)-1]; last.Outcome != RolledBack || !strings.Contains(last.Detail, c.step) {
				t.Errorf("history %+v", last)
			}
		})
	}
}

// checkConsistent asserts the state directory and the world agree: no
// operation pending, n instances serving, the upstream naming exactly them,
// and nothing else running.
func checkConsistent(t *testing.T, w *world, store *Store, n int) *State {
	t.Helper()
	st, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if st.NeedsRecovery() {
		t.Errorf("state still needs recovery: op %+v instances %+v", st.Op, st.Instances)
	}
	addrs := slices.Sorted(slices.Values(st.Addrs()))
	w.mu.Lock()
	up := slices.Sorted(slices.Values(w.upstream))
	w.mu.Unlock()
	if !slices.Equal(addrs, up) {
		t.Errorf("upstream %v, state says %v", up, addrs)
	}
	if len(st.Instances) != n || len(w.running()) != n {
		t.Errorf("%d instances recorded, %d running (%v), want %d", len(st.Instances), len(w.running()), w.running(), n)
	}
	return st
}

// TestRecoverAfterKillAtEveryStep kills a deploy at every driver and proxy
// call it makes (before and after each effect), then runs the next command:
// Recover must leave a consistent state with two ready instances, and a
// deploy from there must finish.
func TestRecoverAfterKillAtEveryStep(t *testing.T) {
	base := newWorld(t)
	baseStore := newStore(t)
	mustDeploy(t, base, baseStore, "v1", 2)
	c0 := base.calls
	mustDeploy(t, base, baseStore, "v2", 0)
	total := base.calls - c0

	for k := 1; k <= total; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			t.Parallel()
			killAndRecover(t, k, total)
		})
	}
	t.Logf("killed and recovered at each of %d points", total)
}

func killAndRecover(t *testing.T, k, total int) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	w.minServing, w.maxAlive = 2, 3
	w.killAt = w.calls + k
	done := make(chan struct{})
	go func() {
		defer close(done)
		newEngine(t, w, store).Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0)
	}()
	<-done
	select {
	case <-w.killed:
	default:
		t.Fatalf("kill point %d of %d was not reached", k, total)
	}
	w.mu.Lock()
	w.killAt = 0
	w.mu.Unlock()

	e := newEngine(t, w, store)
	if !e.State.NeedsRecovery() {
		t.Fatalf("the state does not show the interrupted deploy")
	}
	step := e.State.Op.Step
	if err := e.Recover(context.Background()); err != nil {
		t.Fatalf("killed at %q: recover: %v", step, err)
	}
	checkConsistent(t, w, store, 2)
	h, _ := store.History()
	if last := h[len(h)-1]; last.Outcome != Interrupted || !strings.Contains(last.Detail, step) {
		t.Errorf("killed at %q: history %+v", step, last)
	}

	mustDeploy(t, w, store, "v2", 0)
	st := checkConsistent(t, w, store, 2)
	if got := joined(w.servingVersions()); got != "v2,v2" {
		t.Errorf("killed at %q: after the next deploy the upstream serves %s", step, got)
	}
	if st.Current.Version != "v2" {
		t.Errorf("killed at %q: current %v", step, st.Current)
	}
}

func TestScaleUpAndDownThroughTheGate(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 1)

	e := newEngine(t, w, store)
	if err := e.Scale(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, w, store, 3)

	w.minServing = 1
	e = newEngine(t, w, store)
	if err := e.Scale(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	st := checkConsistent(t, w, store, 1)
	if st.Desired != 1 {
		t.Errorf("desired %d", st.Desired)
	}

	// A new instance that fails its gate undoes the whole scale.
	w.scripts["v1"] = behaviour{never: true}
	e = newEngine(t, w, store)
	err := e.Scale(context.Background(), 2)
	var f *Failure
	if !errors.As(err, &f) || f.Step != StepReady {
		t.Fatalf("scale with a failing instance: %v", err)
	}
	checkConsistent(t, w, store, 1)
	if e := newEngine(t, w, store); e.Scale(context.Background(), 0) == nil {
		t.Error("scale 0 was accepted")
	}
}

func TestRollbackCommandRedeploysThePreviousRelease(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	mustDeploy(t, w, store, "v2", 0)
	e := newEngine(t, w, store)
	if err := e.Deploy(context.Background(), "rollback", *e.State.Previous, 0); err != nil {
		t.Fatal(err)
	}
	st := checkConsistent(t, w, store, 2)
	if st.Current.Version != "v1" || st.Previous.Version != "v2" {
		t.Errorf("after rollback: current %v previous %v", st.Current, st.Previous)
	}
	if got := joined(w.servingVersions()); got != "v1,v1" {
		t.Errorf("serving %s", got)
	}
}

func TestMetricsFile(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 1)
	w.scripts["v2"] = behaviour{exitEarly: true}
	if err := newEngine(t, w, store).Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0); err == nil {
		t.Fatal("bad deploy succeeded")
	}
	st, _ := store.Load()
	if err := store.WriteMetrics(st); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(store.Path(metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	m := string(b)
	for _, want := range []string{
		"# TYPE mealsync_deploys_total counter",
		`mealsync_deploys_total{outcome="succeeded"} 1`,
		`mealsync_deploys_total{outcome="rolled_back"} 1`,
		`mealsync_deploy_last_timestamp_seconds{outcome="succeeded"} `,
		`mealsync_deploy_last_timestamp_seconds{outcome="rolled_back"} `,
		"mealsync_deploy_duration_seconds ",
		`mealsync_release_info{version="v1"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics.prom lacks %q:\n%s", want, m)
		}
	}
}

func TestLockExcludesASecondCommand(t *testing.T) {
	store := newStore(t)
	l, err := store.Lock("deploy")
	if err != nil {
		t.Fatal(err)
	}
	if held, who := store.Held(); !held || !strings.Contains(who, "deploy") {
		t.Errorf("Held() = %v %q while locked", held, who)
	}
	if _, err := store.Lock("scale"); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v, want ErrLocked", err)
	}
	l.Unlock()
	if held, _ := store.Held(); held {
		t.Error("Held() after Unlock")
	}
	l2, err := store.Lock("scale")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	l2.Unlock()
}
