package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// StrayFinder is a Driver that can list what Strays would stop without
// stopping it, for status and `repair --dry-run`.
type StrayFinder interface {
	FindStrays(ctx context.Context, known []Instance) ([]string, error)
}

var (
	_ StrayFinder = (*Process)(nil)
	_ StrayFinder = (*Compose)(nil)
)

// Diagnosis is where the state, the running instances and the upstream
// disagree, as Diagnose finds it. It changes nothing to find it.
type Diagnosis struct {
	Probes   map[string]Probe // every recorded instance's probe, by id
	Dead     []Instance       // serving instances whose process or container is gone
	NotReady []Instance       // serving instances alive but not ready (left alone: a database outage makes them all so)
	Strays   []string         // running instances this state directory started and does not record
	Upstream []string         // the servers the upstream names
	Want     []string         // the servers it should name: the live serving instances
	Live     int              // serving instances that are not dead
	Desired  int              // how many should serve
	Release  string           // the release replacements run; "" when none is deployed
	Problems []string         // what could not be looked at, and why
}

// Missing is how many instances repair starts: the desired count less the
// live serving ones, when a release is deployed to start.
func (d Diagnosis) Missing() int {
	if d.Release == "" {
		return 0
	}
	return max(0, d.Desired-d.Live)
}

// UpstreamStale reports that the upstream names other servers than the live
// serving instances.
func (d Diagnosis) UpstreamStale() bool { return !sameSet(d.Upstream, d.Want) }

// staleBeyondDead reports that the upstream is wrong for more than the dead
// instances it names, which taking them out does not fix.
func (d Diagnosis) staleBeyondDead() bool {
	var rest []string
	for _, a := range d.Upstream {
		if !slices.ContainsFunc(d.Dead, func(in Instance) bool { return in.Addr == a }) {
			rest = append(rest, a)
		}
	}
	return !sameSet(rest, d.Want)
}

// Healthy reports that repair has nothing to do.
func (d Diagnosis) Healthy() bool {
	return len(d.Dead) == 0 && len(d.Strays) == 0 && d.Missing() == 0 && !d.UpstreamStale()
}

// Plan says, one line each, what Repair does about the diagnosis.
func (d Diagnosis) Plan() []string {
	var out []string
	for _, in := range d.Dead {
		out = append(out, fmt.Sprintf("take dead instance %s out of the upstream and forget it: %s", in.Name(), d.Probes[in.ID].Detail))
	}
	if n := d.Missing(); n > 0 {
		out = append(out, fmt.Sprintf("start %d new instance(s) of %s through the gate: %d of %d wanted serve", n, d.Release, d.Live, d.Desired))
	} else if d.Release == "" && d.Desired > d.Live {
		out = append(out, "start nothing: no release is recorded (run deploy)")
	}
	for _, s := range d.Strays {
		out = append(out, fmt.Sprintf("stop %s, which this state directory started but does not record", s))
	}
	if d.staleBeyondDead() {
		out = append(out, fmt.Sprintf("rewrite the upstream: it names %s, the serving instances are %s", list(d.Upstream), list(d.Want)))
	}
	return out
}

// Notes are what Repair leaves alone, for people.
func (d Diagnosis) Notes() []string {
	var out []string
	for _, in := range d.NotReady {
		out = append(out, fmt.Sprintf("%s is alive but not ready (%s): left alone; if it hangs, stop its process and run repair again", in.Name(), d.Probes[in.ID].Detail))
	}
	return append(out, d.Problems...)
}

func list(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

// Diagnose probes every recorded instance and compares the live serving
// ones with the desired count, the upstream, and what runs.
func (e *Engine) Diagnose(ctx context.Context) Diagnosis {
	st := e.State
	d := Diagnosis{Probes: map[string]Probe{}, Desired: st.Desired}
	if st.Current != nil {
		d.Release = st.Current.String()
	}
	for _, in := range st.Instances {
		d.Probes[in.ID] = e.Driver.Probe(ctx, in)
	}
	for _, in := range st.Serving() {
		switch d.Probes[in.ID].Health {
		case Exited:
			d.Dead = append(d.Dead, in)
			continue
		case NotReady:
			d.NotReady = append(d.NotReady, in)
		}
		d.Live++
		d.Want = append(d.Want, in.Addr)
	}
	var err error
	if d.Upstream, err = e.Proxy.Servers(); err != nil {
		d.Problems = append(d.Problems, "the upstream cannot be read: "+err.Error())
	}
	if f, ok := e.Driver.(StrayFinder); ok {
		if d.Strays, err = f.FindStrays(ctx, st.Instances); err != nil {
			d.Problems = append(d.Problems, "looking for unrecorded instances: "+err.Error())
		}
	}
	return d
}

// dropDead takes the serving instances whose process or container is gone
// out of the upstream, all in one change (an upstream that still named one
// of them would send nginx to a dead address), and forgets them, so that
// what follows counts only live ones.
func (e *Engine) dropDead(ctx context.Context) *Failure {
	st := e.State
	var dead []Instance
	for _, in := range st.Serving() {
		p := e.Driver.Probe(ctx, in)
		if p.Health != Exited {
			continue
		}
		e.logf("%s is dead (%s): taking it out of the upstream", in.Name(), p.Detail)
		dead = append(dead, in)
	}
	if len(dead) == 0 {
		return nil
	}
	for _, in := range dead {
		st.setRole(in.ID, RoleDraining)
	}
	if err := e.save("removing dead instances from the upstream"); err != nil {
		for _, in := range dead {
			st.setRole(in.ID, RoleServing)
		}
		return unsaved(StepDrain, dead[0], err)
	}
	if _, err := e.apply(ctx); err != nil {
		for _, in := range dead {
			st.setRole(in.ID, RoleServing)
		}
		return e.saveAfter(&Failure{Step: StepDrain, Instance: dead[0], Cause: err.Error(), Err: err})
	}
	for _, in := range dead {
		if err := e.stop(ctx, in); err != nil {
			return unsaved(StepDrain, in, err)
		}
	}
	return nil
}

// Repair brings the state, the running instances and the upstream back into
// agreement after something outside mealsyncctl changed them (an instance
// was killed or crashed, the host rebooted, the upstream was edited):
// dead serving instances leave the upstream and are forgotten; new
// instances of the current release, through the same gate as a deploy's,
// bring the count back to the desired one; instances this state directory
// started but does not record are stopped; an upstream that still names
// other servers is rewritten. When the diagnosis is healthy nothing
// changes: no reload, no history entry. The caller has run Recover first.
// A replacement that fails the gate is removed and the error is a *Failure;
// the dead instances stay forgotten.
func (e *Engine) Repair(ctx context.Context) (Diagnosis, error) {
	e.Opts = e.Opts.withDefaults()
	d := e.Diagnose(ctx)
	if d.Healthy() {
		e.logf("nothing to repair: %d of %d wanted instance(s) serve, the upstream names exactly them, no stray runs", d.Live, d.Desired)
		return d, nil
	}
	st := e.State
	var target Release
	if st.Current != nil {
		target = *st.Current
	}
	if err := e.begin("repair", target, st.Desired); err != nil {
		return d, err
	}
	opName := "repair of " + target.String()
	for _, line := range d.Plan() {
		e.logf("to do: %s", line)
	}
	if fail := e.dropDead(ctx); fail != nil {
		fail.Op = opName
		return d, e.undo(fail, Instance{}, nil)
	}
	started := 0
	for k := len(st.Serving()); st.Current != nil && k < st.Desired; k++ {
		// Each replacement stands alone: one that fails is undone, the
		// ones before it stay (they replace dead instances).
		nw, fail := e.bringUp(ctx, target, fmt.Sprintf("%d/%d", k+1, st.Desired), nil, nil)
		if fail != nil {
			fail.Op = opName
			return d, e.undo(fail, nw, nil)
		}
		started++
	}
	var notes []string
	strays, err := e.Driver.Strays(ctx, st.Instances)
	for _, s := range strays {
		e.logf("stopped %s, which this state directory started but did not record", s)
	}
	if err != nil {
		notes = append(notes, "stopping unrecorded instances: "+err.Error())
	}
	var unsavedErr error
	if servers, err := e.Proxy.Servers(); err != nil || !sameSet(servers, st.Addrs()) {
		if unsavedErr = e.save("rewriting the upstream"); unsavedErr != nil {
			notes = append(notes, "could not save the state before rewriting the upstream: "+unsavedErr.Error())
		} else if err := e.Proxy.Apply(ctx, st.Addrs()); err != nil {
			notes = append(notes, fmt.Sprintf("setting the upstream to %s: %v", list(st.Addrs()), err))
		} else {
			e.logf("upstream set to %s", list(st.Addrs()))
		}
	}
	detail := fmt.Sprintf("forgot %d dead instance(s), started %d, stopped %d unrecorded; %d serving: %s",
		len(d.Dead), started, len(strays), len(st.Serving()), list(st.Addrs()))
	if len(notes) > 0 {
		detail += "; FAILED: " + strings.Join(notes, "; ")
		e.logf("%s failed: %s", opName, detail)
		failure := fmt.Errorf("%s: %s", opName, strings.Join(notes, "; "))
		return d, errors.Join(failure, unsavedErr, e.finish(Failed, detail))
	}
	e.logf("%s succeeded in %.1fs: %s", opName, e.now().Sub(e.started).Seconds(), detail)
	return d, e.finish(Succeeded, detail)
}

func sameSet(a, b []string) bool {
	// Two instances share an address while one replaces the other on its
	// socket: an address counts once.
	return slices.Equal(slices.Compact(slices.Sorted(slices.Values(a))), slices.Compact(slices.Sorted(slices.Values(b))))
}
