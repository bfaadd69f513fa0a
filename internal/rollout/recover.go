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
	}
	if op != nil {
		e.logf("an interrupted %s of %s was found (started %s by pid %d, last step: %s); reconciling",
			op.Kind, op.Target, op.Started.Local().Format(time.TimeOnly), op.PID, op.Step)
	} else {
		e.logf("instances left draining by an earlier command were found; reconciling")
	}

	desired := st.Desired
	if desired <= 0 && op != nil {
		desired = op.Desired
	}
	probes := map[string]Probe{}
	for _, in := range st.Instances {
		probes[in.ID] = e.Driver.Probe(ctx, in)
	}
	var keep, drop []Instance
	take := func(role Role) {
		for _, in := range st.Instances {
			if in.Role == role && probes[in.ID].Health == Ready && (role == RoleServing || len(keep) < desired) {
				keep = append(keep, in)
			}
		}
	}
	take(RoleServing)
	take(RoleVerifying)
	take(RoleStarting)
	kept := map[string]bool{}
	for _, in := range keep {
		kept[in.ID] = true
	}
	for _, in := range st.Instances {
		if !kept[in.ID] {
			drop = append(drop, in)
		}
	}

	// The upstream first, so nothing is sent to what is about to stop.
	for i := range keep {
		keep[i].Role = RoleServing
	}
	for i := range drop {
		drop[i].Role = RoleDraining
	}
	st.Instances = append(append([]Instance{}, keep...), drop...)
	e.save("reconciling: upstream")
	if err := e.Proxy.Apply(ctx, st.Addrs()); err != nil {
		return fmt.Errorf("recovering the interrupted %s: setting the upstream to the ready instances (%s): %w",
			opKind(op), strings.Join(st.Addrs(), ", "), err)
	}
	e.logf("upstream set to the %d ready instance(s): %s", len(keep), strings.Join(st.Addrs(), ", "))
	var stopped []string
	for _, in := range drop {
		e.save(fmt.Sprintf("reconciling: stopping %s", in.ID))
		e.stop(ctx, in)
		stopped = append(stopped, fmt.Sprintf("%s (%s, %s)", in.ID, in.Version, probes[in.ID].Health))
	}
	strays, err := e.Driver.Strays(ctx, keep)
	if err != nil {
		e.logf("warning: looking for unrecorded instances: %v", err)
	}
	for _, s := range strays {
		e.logf("stopped %s, an instance the interrupted command had not recorded", s)
		stopped = append(stopped, s+" (unrecorded)")
	}

	if op == nil {
		return e.save("")
	}
	// A deploy whose every remaining instance runs the target is finished.
	if op.Kind != "scale" && len(keep) > 0 && allVersion(keep, op.Target.Version) {
		if st.Current != nil && *st.Current != op.Target {
			prev := *st.Current
			st.Previous = &prev
		}
		t := op.Target
		st.Current = &t
	}
	if len(keep) > 0 && st.Desired == 0 {
		st.Desired = len(keep)
	}
	detail := fmt.Sprintf("killed at %q; reconciled by pid %d: kept %d ready instance(s) [%s]", op.Step, e.pid(), len(keep), strings.Join(ids(keep), ", "))
	if len(stopped) > 0 {
		detail += "; stopped " + strings.Join(stopped, ", ")
	}
	e.logf("%s", detail)
	st.Op = nil
	entry := Entry{
		Kind: op.Kind, Version: op.Target.Version, Started: op.Started,
		Duration: op.Updated.Sub(op.Started).Seconds(), Outcome: Interrupted, Detail: detail,
	}
	if op.From != nil {
		entry.From = op.From.Version
	}
	if err := e.Store.Record(st, entry); err != nil {
		return err
	}
	return e.save("")
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
