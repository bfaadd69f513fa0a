package main

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
)

// The InstanceDown runbook, followed with real processes: an instance is
// SIGKILLed; status says it is dead and the state inconsistent; `scale N`
// replaces it rather than counting it; `repair` does the same, shows its
// plan first with --dry-run, stops a stray the state does not record,
// rewrites an upstream edited by hand, and does nothing when there is
// nothing to do.
func TestDeadInstancesAreReplaced(t *testing.T) {
	r := newHostRig(t)
	r.deploy(2)
	st := r.checkConsistent(2)

	// SIGKILL: status sees it.
	victim := st.Instances[0]
	r.killInstance(victim)
	s := r.status()
	if s.Consistent || s.Remedy == "" || !strings.Contains(s.Remedy, "mealsyncctl repair") {
		t.Errorf("status after a SIGKILL: consistent=%v remedy=%q", s.Consistent, s.Remedy)
	}
	if !slices.ContainsFunc(s.Problems, func(p string) bool {
		return strings.Contains(p, "serving instance "+victim.ID) && strings.Contains(p, "is dead (process "+strconv.Itoa(victim.PID)+" ") // is gone, or has exited (not reaped yet)
	}) {
		t.Errorf("status problems do not name the dead instance %s: %q", victim.ID, s.Problems)
	}
	for _, in := range s.Instances {
		if in.ID == victim.ID && (in.Health != "dead" || !in.InUpstream) {
			t.Errorf("status of the dead instance: health %q, in upstream %v", in.Health, in.InUpstream)
		}
	}
	if human := r.mustCtl("status"); !strings.Contains(human, "consistent: no") || !strings.Contains(human, "fix:        mealsyncctl repair") {
		t.Errorf("status:\n%s", human)
	}

	// scale 2 replaces it: one live instance, scaled to two.
	out := r.mustCtl(append([]string{"scale", "2"}, fast...)...)
	if !strings.Contains(out, victim.ID+" (pid "+strconv.Itoa(victim.PID)) || !strings.Contains(out, "is dead") ||
		!strings.Contains(out, "scale of v1 from 1 to 2 succeeded") {
		t.Errorf("scale output:\n%s", out)
	}
	st = r.checkConsistent(2)
	if slices.ContainsFunc(st.Instances, func(in rollout.Instance) bool { return in.ID == victim.ID }) {
		t.Errorf("the dead instance is still recorded")
	}

	// Another one dies. repair --dry-run says what it would do and does nothing.
	victim = st.Instances[1]
	r.killInstance(victim)
	beforeState, beforeUp := r.snapshot()
	out = r.mustCtl("repair", "--dry-run")
	for _, want := range []string{
		"dry run: nothing will be changed",
		"would: take dead instance " + victim.ID + " (pid " + strconv.Itoa(victim.PID),
		"would: start 1 new instance(s) of v1 through the gate: 1 of 2 wanted serve",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("repair --dry-run lacks %q:\n%s", want, out)
		}
	}
	if s, u := r.snapshot(); s != beforeState || u != beforeUp {
		t.Error("repair --dry-run changed the state or the upstream")
	}

	// repair replaces it.
	out = r.mustCtl(append([]string{"repair"}, fast...)...)
	if !strings.Contains(out, "repair of v1 succeeded") || !strings.Contains(out, "forgot 1 dead instance(s), started 1") {
		t.Errorf("repair output:\n%s", out)
	}
	r.checkConsistent(2)

	// A process this state directory started but never saved in state.json
	// (its command was killed right after starting it) is a stray.
	driver := &rollout.Process{Store: r.store, StopTimeout: 10 * time.Second}
	lost, err := driver.Start(context.Background(), rollout.Release{Version: "v1", Binary: r.standin, EnvFile: r.envFile}, "i99")
	if err != nil {
		t.Fatal(err)
	}
	s = r.status()
	if s.Consistent || !slices.Equal(s.Strays, []string{"i99 (pid " + strconv.Itoa(lost.PID) + ")"}) {
		t.Errorf("status with a stray: consistent=%v strays=%q", s.Consistent, s.Strays)
	}
	out = r.mustCtl("repair", "--dry-run")
	if !strings.Contains(out, "would: stop i99 (pid "+strconv.Itoa(lost.PID)+"), which this state directory started but does not record") {
		t.Errorf("repair --dry-run with a stray:\n%s", out)
	}
	r.mustCtl(append([]string{"repair"}, fast...)...)
	if alive(lost) {
		t.Error("the stray still runs after repair")
	}
	r.checkConsistent(2)

	// An upstream edited by hand.
	_, cur := r.snapshot()
	edited := strings.Replace(cur, "\n    server ", "\n    server 127.0.0.1:9 max_fails=1 fail_timeout=5s;\n    server ", 1)
	if edited == cur {
		t.Fatalf("no server line to add one before:\n%s", cur)
	}
	if err := os.WriteFile(r.nginx.UpstreamFile, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := r.status(); s.Consistent {
		t.Error("status is consistent with an upstream naming another server")
	}
	out = r.mustCtl(append([]string{"repair"}, fast...)...)
	if !strings.Contains(out, "upstream set to") {
		t.Errorf("repair of the upstream:\n%s", out)
	}
	r.checkConsistent(2)

	// Nothing left to do: repair changes nothing, not even the history.
	beforeState, beforeUp = r.snapshot()
	history, _ := r.store.History()
	out = r.mustCtl(append([]string{"repair"}, fast...)...)
	if !strings.Contains(out, "nothing to repair") {
		t.Errorf("repair with nothing to do:\n%s", out)
	}
	if s, u := r.snapshot(); s != beforeState || u != beforeUp {
		t.Error("a repair with nothing to do changed the state or the upstream")
	}
	if h, _ := r.store.History(); len(h) != len(history) {
		t.Error("a repair with nothing to do was recorded in the history")
	}
	if out := r.mustCtl("repair", "--dry-run"); !strings.Contains(out, "nothing to repair") || strings.Contains(out, "would:") {
		t.Errorf("repair --dry-run with nothing to do:\n%s", out)
	}
}
