package rollout

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NeedsRecovery reports whether the state shows work a killed command left:
// an operation in progress, or instances that were being drained.
func (s *State) NeedsRecovery() bool {
	if s.Op != nil {
		return true
	}
	for _, in := range s.Instances {
		if in.Role != RoleServing {
			return true
		}
	}
	return false
}

// Recover brings a state directory that a killed command left behind back
// to a consistent state before anything else runs: the upstream names
// exactly the instances that serve, every other instance is stopped, and no
// process or container is left that the state does not know.
//
// It decides from what it finds, not from how far the journal got:
//   - serving instances that still answer ready stay (old ones not yet
//     replaced, and new ones that had passed their verification window);
//   - if fewer than the desired count remain, ready instances that were
//     still being verified or had not been added yet fill the gap;
//   - everything else (instances that never got ready, that were in their
//     verification window, that were being drained, or that died) leaves
//     the upstream and is stopped.
//
// So a deploy killed before a new instance was verified is undone, and one
// killed after the last old instance left the upstream is finished. The
// interrupted operation goes into the history as "interrupted".
//
// Each change is written ahead like a deploy's: when the state cannot be
// saved, Recover stops there and returns the error, and the next command
// starts again from what was last saved.
func (e *Engine) Recover(ctx context.Context) error {
	st := e.State
	if !st.NeedsRecovery() {
		return nil
	}
	e.Opts = e.Opts.withDefaults()
	e.started = e.now()
	var op *Operation
	if st.Op != nil {
		o := *st.Op // as the killed command left it; saves below update st.Op
		op = &o
		e.logf("an interrupted %s of %s was found (started %s by pid %d, last step: %s); reconciling",
			op.Kind, op.Target, op.Started.Local().Format(time.TimeOnly), op.PID, op.Step)
	} else {
		e.logf("instances left draining by an earlier command were found; reconciling")
	}
	t := e.classify(ctx, op)
	if err := e.reconcile(ctx, &t); err != nil {
		return fmt.Errorf("recovering the interrupted %s: %w", opKind(op), err)
	}
	if op == nil {
		return e.save("")
	}
	return e.closeInterrupted(*op, t)
}

// triage is what Recover decided: the instances that stay and those that
// go, by what each probe found, and what reconciling stopped.
type triage struct {
	keep, drop []Instance
	probes     map[string]Probe
	stopped    []string
}

// classify probes every recorded instance: ready serving ones stay; ready
// ones still being verified, then ready ones not yet added, fill the gap to
// the desired count; everything else goes.
func (e *Engine) classify(ctx context.Context, op *Operation) triage {
	st := e.State
	desired := st.Desired
	if desired <= 0 && op != nil {
		desired = op.Desired
	}
	t := triage{probes: map[string]Probe{}}
	for _, in := range st.Instances {
		t.probes[in.ID] = e.Driver.Probe(ctx, in)
	}
	kept := map[string]bool{}
	for _, role := range []Role{RoleServing, RoleVerifying, RoleStarting} {
		for _, in := range st.Instances {
			if in.Role == role && t.probes[in.ID].Health == Ready && (role == RoleServing || len(t.keep) < desired) {
				t.keep = append(t.keep, in)
				kept[in.ID] = true
			}
		}
	}
	for _, in := range st.Instances {
		if !kept[in.ID] {
			t.drop = append(t.drop, in)
		}
	}
	return t
}

// reconcile makes the world what t decided: the upstream names the kept
// instances (first, so nothing is sent to what is about to stop), the
// dropped ones are stopped, and so are instances nothing records.
func (e *Engine) reconcile(ctx context.Context, t *triage) error {
	st := e.State
	for i := range t.keep {
		t.keep[i].Role = RoleServing
	}
	for i := range t.drop {
		t.drop[i].Role = RoleDraining
	}
	st.Instances = append(append([]Instance{}, t.keep...), t.drop...)
	if err := e.save("reconciling: upstream"); err != nil {
		return fmt.Errorf("could not save the state before setting the upstream: %w", err)
	}
	if err := e.Proxy.Apply(ctx, st.Addrs()); err != nil {
		return fmt.Errorf("setting the upstream to the ready instances (%s): %w", strings.Join(st.Addrs(), ", "), err)
	}
	e.logf("upstream set to the %d ready instance(s): %s", len(t.keep), strings.Join(st.Addrs(), ", "))
	for _, in := range t.drop {
		if err := e.save(fmt.Sprintf("reconciling: stopping %s", in.ID)); err != nil {
			return fmt.Errorf("could not save the state before stopping %s: %w", in.ID, err)
		}
		if err := e.stop(ctx, in); err != nil {
			return err
		}
		t.stopped = append(t.stopped, fmt.Sprintf("%s (%s, %s)", in.ID, in.Version, t.probes[in.ID].Health))
	}
	strays, err := e.Driver.Strays(ctx, t.keep)
	if err != nil {
		e.logf("warning: looking for unrecorded instances: %v", err)
	}
	for _, s := range strays {
		e.logf("stopped %s, an instance the interrupted command had not recorded", s)
		t.stopped = append(t.stopped, s+" (unrecorded)")
	}
	return nil
}

// closeInterrupted finishes what op had finished in the world, as a deploy
// of its own would (a deploy whose every remaining instance runs the target
// made it current), and records op as interrupted.
func (e *Engine) closeInterrupted(op Operation, t triage) error {
	st := e.State
	if op.Kind != "scale" && len(t.keep) > 0 && allVersion(t.keep, op.Target.Version) {
		st.promote(op.Target)
	}
	if len(t.keep) > 0 && st.Desired == 0 {
		st.Desired = len(t.keep)
	}
	detail := fmt.Sprintf("killed at %q; reconciled by pid %d: kept %d ready instance(s) [%s]", op.Step, e.pid(), len(t.keep), strings.Join(ids(t.keep), ", "))
	if len(t.stopped) > 0 {
		detail += "; stopped " + strings.Join(t.stopped, ", ")
	}
	e.logf("%s", detail)
	return e.closeOp(op, op.Updated.Sub(op.Started), Interrupted, detail)
}

func (e *Engine) pid() int {
	if e.PID != 0 {
		return e.PID
	}
	return pidSelf()
}

func opKind(op *Operation) string {
	if op == nil {
		return "command"
	}
	return op.Kind
}

func allVersion(ins []Instance, v string) bool {
	for _, in := range ins {
		if in.Version != v {
			return false
		}
	}
	return true
}

func ids(ins []Instance) []string {
	out := make([]string, len(ins))
	for i, in := range ins {
		out[i] = in.ID
	}
	return out
}

// Adopt records the instances an Adopter driver finds running when the state
// knows none (the first deploy on a host where they were started by hand),
// so the deploy replaces them through the gate instead of ignoring them.
func (e *Engine) Adopt(ctx context.Context) error {
	a, ok := e.Driver.(Adopter)
	st := e.State
	if !ok || len(st.Instances) > 0 || st.Op != nil {
		return nil
	}
	ins, rel, err := a.Adopt(ctx)
	if err != nil {
		return fmt.Errorf("looking for running instances to adopt: %w", err)
	}
	if len(ins) == 0 {
		return nil
	}
	for i := range ins {
		ins[i].Role = RoleServing
	}
	st.Instances = ins
	if st.Desired == 0 {
		st.Desired = len(ins)
	}
	if st.Current == nil && rel != nil {
		st.Current = rel
	}
	e.logf("adopted %d running instance(s) of %s: %s", len(ins), relName(st.Current), strings.Join(st.Addrs(), ", "))
	return e.save("")
}
