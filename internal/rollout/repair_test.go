package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// FindStrays lists what the fake driver's Strays would stop.
func (d driver) FindStrays(ctx context.Context, known []Instance) ([]string, error) {
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id, fi := range w.inst {
		if !fi.exited && !fi.stopped && !slices.ContainsFunc(known, func(k Instance) bool { return k.ID == id }) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}

// kill makes an instance die as SIGKILL would: gone, still recorded and in
// the upstream.
func (w *world) kill(t *testing.T, id string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	fi := w.inst[id]
	if fi == nil {
		t.Fatalf("no instance %s", id)
	}
	fi.exited = true
}

// stray starts an instance no state records, as a command killed right
// after starting it leaves.
func (w *world) stray(t *testing.T, version string) string {
	t.Helper()
	in, err := driver{w}.Start(context.Background(), Release{Version: version}, fmt.Sprintf("lost%d", len(w.inst)))
	if err != nil {
		t.Fatal(err)
	}
	return in.ID
}

func TestScaleReplacesDeadInstances(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	st, _ := store.Load()
	dead := st.Instances[0]
	w.kill(t, dead.ID)

	e := newEngine(t, w, store)
	if err := e.Scale(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	st = checkConsistent(t, w, store, 2)
	if slices.ContainsFunc(st.Instances, func(in Instance) bool { return in.ID == dead.ID }) {
		t.Errorf("the dead instance %s is still recorded: %+v", dead.ID, st.Instances)
	}
	if got := joined(w.servingVersions()); got != "v1,v1" {
		t.Errorf("upstream serves %s, want two live v1", got)
	}
	h, _ := store.History()
	if last := h[len(h)-1]; last.Kind != "scale" || last.Outcome != Succeeded || last.Detail != "1 → 2 instances" {
		t.Errorf("history %+v, want a scale from the 1 live instance to 2", last)
	}

	// Scaling up with a dead instance: it is replaced and one more added.
	st, _ = store.Load()
	w.kill(t, st.Instances[1].ID)
	if err := newEngine(t, w, store).Scale(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, w, store, 3)
}

func TestRepair(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 3)
	st, _ := store.Load()
	w.kill(t, st.Instances[0].ID)
	w.kill(t, st.Instances[2].ID)
	lost := w.stray(t, "v1")

	e := newEngine(t, w, store)
	d := e.Diagnose(context.Background())
	if len(d.Dead) != 2 || d.Live != 1 || d.Missing() != 2 || !slices.Equal(d.Strays, []string{lost}) || d.Healthy() {
		t.Fatalf("diagnosis %+v", d)
	}
	plan := strings.Join(d.Plan(), "\n")
	for _, want := range []string{"take dead instance " + st.Instances[0].ID, "take dead instance " + st.Instances[2].ID,
		"start 2 new instance(s) of v1", "stop " + lost} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
	applies := len(w.applies)
	if _, err := e.Repair(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = checkConsistent(t, w, store, 3)
	if got := joined(w.running()); got != "v1,v1,v1" {
		t.Errorf("running %s: the stray or a dead one is still there", got)
	}
	if len(w.applies) == applies {
		t.Error("the upstream was never changed")
	}
	h, _ := store.History()
	if last := h[len(h)-1]; last.Kind != "repair" || last.Outcome != Succeeded ||
		!strings.Contains(last.Detail, "forgot 2 dead instance(s), started 2, stopped 1 unrecorded") {
		t.Errorf("history %+v", last)
	}

	// Again: nothing to do, nothing changes.
	before, _ := os.ReadFile(store.Path(stateFile))
	applies, calls := len(w.applies), w.calls
	d, err := newEngine(t, w, store).Repair(context.Background())
	if err != nil || !d.Healthy() || len(d.Plan()) != 0 {
		t.Fatalf("second repair: %+v %v", d, err)
	}
	after, _ := os.ReadFile(store.Path(stateFile))
	if string(after) != string(before) || len(w.applies) != applies || w.calls != calls {
		t.Errorf("a repair with nothing to do changed something")
	}
	if h2, _ := store.History(); len(h2) != len(h) {
		t.Errorf("a repair with nothing to do was recorded in the history")
	}
}

// An upstream that names other servers than the serving instances (edited by
// hand, or left by a failed reload) is rewritten, with no instance touched.
func TestRepairRewritesAStaleUpstream(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	w.mu.Lock()
	w.upstream = append(w.upstream[:1:1], "10.9.9.9:8081")
	w.mu.Unlock()
	e := newEngine(t, w, store)
	d := e.Diagnose(context.Background())
	if !d.UpstreamStale() || len(d.Plan()) != 1 || !strings.Contains(d.Plan()[0], "rewrite the upstream") {
		t.Fatalf("diagnosis %+v plan %q", d, d.Plan())
	}
	running := joined(w.running())
	if _, err := e.Repair(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkConsistent(t, w, store, 2)
	if got := joined(w.running()); got != running {
		t.Errorf("running %s, was %s: no instance should have changed", got, running)
	}
}

// A replacement that fails the gate is removed again; the dead instance
// stays forgotten and what lives keeps serving.
func TestRepairWhoseReplacementFails(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	st, _ := store.Load()
	w.kill(t, st.Instances[1].ID)
	w.scripts["v1"] = behaviour{never: true, fromNth: 3}
	_, err := newEngine(t, w, store).Repair(context.Background())
	var f *Failure
	if !errors.As(err, &f) || f.Step != StepReady || !strings.HasPrefix(f.Op, "repair of v1") {
		t.Fatalf("repair with a failing replacement: %v", err)
	}
	checkConsistent(t, w, store, 1)
	if got := joined(w.servingVersions()); got != "v1" {
		t.Errorf("upstream serves %s, want the one live instance", got)
	}
}
