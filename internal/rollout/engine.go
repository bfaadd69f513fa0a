package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Options tune the gate every new instance passes.
type Options struct {
	ReadyTimeout     time.Duration // how long a new instance may take to say UP (default 120 s)
	Verify           time.Duration // how long it must stay good beside the old ones (default 10 s)
	Poll             time.Duration // probe interval (default 250 ms)
	FailureThreshold int           // consecutive failed probes, the old instances passing theirs, that fail the window (default 3)
	// MaxErrors is how many 5xx answers the new instance may give before
	// verification fails, when its 5xx rate is also over 5% and over three
	// times the old instances' at the same moments (default 2).
	MaxErrors int
	// TroubleTimeout is how long verification waits while the old
	// instances fail as well (the machine or the database, not the
	// release) before it gives up without blaming the release (default 60 s).
	TroubleTimeout time.Duration
	LogLines       int           // log lines quoted when an instance fails (default 10)
	UndoTimeout    time.Duration // how long the rollback itself may take after a signal (default 5 min)
}

// Defaults for Options.
const (
	DefaultReadyTimeout     = 120 * time.Second
	DefaultVerify           = 10 * time.Second
	DefaultPoll             = 250 * time.Millisecond
	DefaultFailureThreshold = 3
	DefaultMaxErrors        = 2
	DefaultTroubleTimeout   = 60 * time.Second
)

func (o Options) withDefaults() Options {
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = DefaultReadyTimeout
	}
	if o.Verify < 0 {
		o.Verify = 0
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = DefaultFailureThreshold
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	if o.TroubleTimeout <= 0 {
		o.TroubleTimeout = DefaultTroubleTimeout
	}
	if o.LogLines <= 0 {
		o.LogLines = 10
	}
	if o.UndoTimeout <= 0 {
		o.UndoTimeout = 5 * time.Minute
	}
	return o
}

// Engine runs deploys, rollbacks and scales against one state directory.
// The caller holds the Store's lock for as long as it uses the Engine.
type Engine struct {
	Store  *Store
	State  *State
	Driver Driver
	Proxy  Proxy
	Opts   Options
	Out    io.Writer        // progress, one line per step
	Now    func() time.Time // the clock
	PID    int              // recorded in the journal; os.Getpid() if zero

	started time.Time
	applied []string // the upstream as this command last knew it; nil: not read yet
}

func (e *Engine) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Engine) logf(format string, args ...any) {
	if e.Out == nil {
		return
	}
	if e.started.IsZero() {
		e.started = e.now()
	}
	el := e.now().Sub(e.started).Seconds()
	fmt.Fprintf(e.Out, "[%6.2fs] %s\n", el, fmt.Sprintf(format, args...))
}

// save journals the current step and writes the state.
func (e *Engine) save(step string) error {
	if e.State.Op != nil && step != "" {
		e.State.Op.Step = step
		e.State.Op.Updated = e.now().UTC()
	}
	return e.Store.Save(e.State)
}

func (e *Engine) begin(kind string, target Release, desired int) error {
	e.Opts = e.Opts.withDefaults()
	e.started = e.now()
	pid := e.pid()
	var from *Release
	if e.State.Current != nil {
		c := *e.State.Current
		from = &c
	}
	e.State.Op = &Operation{
		Kind: kind, Target: target, From: from, Desired: desired, PID: pid,
		Started: e.started.UTC(), Updated: e.started.UTC(), Step: "starting",
	}
	return e.save("")
}

// finish closes the operation this command began: history, stats, state.
func (e *Engine) finish(outcome Outcome, detail string) error {
	return e.closeOp(*e.State.Op, e.now().Sub(e.started), outcome, detail)
}

// closeOp ends op, which took took: its history entry and stats, then the
// state without it. Recover closes an interrupted command's operation the
// same way.
func (e *Engine) closeOp(op Operation, took time.Duration, outcome Outcome, detail string) error {
	e.State.Op = nil
	entry := Entry{
		Kind: op.Kind, Version: op.Target.Version, Started: op.Started,
		Duration: took.Seconds(), Outcome: outcome, Detail: detail,
	}
	if op.From != nil {
		entry.From = op.From.Version
	}
	if err := e.Store.Record(e.State, entry); err != nil {
		return fmt.Errorf("recording the %s in the history: %w", op.Kind, err)
	}
	if err := e.save(""); err != nil {
		return fmt.Errorf("saving the state after the %s: %w", op.Kind, err)
	}
	return nil
}

// saveAfter writes the state after a step failed, so the undo and any later
// command start from what is true; a write that fails as well is added to f.
func (e *Engine) saveAfter(f *Failure) *Failure {
	f.note(e.save(""))
	return f
}

// placed is a new instance now serving, and whether an old one was stopped
// for it (then undoing it needs a replacement from the previous release).
type placed struct {
	in       Instance
	replaced bool
}

// Deploy replaces every serving instance with one of target, one at a time,
// ending with desired instances (0 keeps the current count, or 1 on a first
// deploy). kind is "deploy" or "rollback". On failure the change is undone
// and the error is a *Failure.
//
// Where the driver can share sockets (SocketSharer), each new instance
// starts on the listening socket of the old one it replaces: both accept
// on the same address until the old one stops, so nginx is never reloaded
// and the connections clients keep to it are never closed.
func (e *Engine) Deploy(ctx context.Context, kind string, target Release, desired int) error {
	st := e.State
	if desired <= 0 {
		desired = st.Desired
	}
	if desired <= 0 {
		desired = 1
	}
	olds := st.Serving()
	if err := e.begin(kind, target, desired); err != nil {
		return err
	}
	opName := fmt.Sprintf("%s of %s", kind, target)
	e.logf("%s: %d instance(s) of %s serving; %d of %s wanted", opName, len(olds), relName(st.Current), desired, target)

	var done []placed
	for i := 0; i < desired; i++ {
		var old *Instance
		if i < len(olds) {
			old = &olds[i]
		}
		nw, fail := e.bringUp(ctx, target, fmt.Sprintf("%d/%d", i+1, desired), old, done)
		if fail != nil {
			fail.Op = opName
			return e.undo(fail, nw, done)
		}
		p := placed{in: nw}
		if old != nil {
			if fail := e.retire(ctx, *old); fail != nil {
				fail.Op = opName
				return e.undo(fail, Instance{}, append(done, p))
			}
			p.replaced = true
		}
		done = append(done, p)
	}
	for _, old := range olds[min(desired, len(olds)):] { // fewer instances than before
		if fail := e.retire(ctx, old); fail != nil {
			fail.Op = opName
			return e.undo(fail, Instance{}, done)
		}
	}

	st.promote(target)
	st.Desired = desired
	e.logf("%s succeeded in %.1fs: %s", opName, e.now().Sub(e.started).Seconds(), strings.Join(st.Addrs(), ", "))
	return e.finish(Succeeded, fmt.Sprintf("%d instance(s)", desired))
}

// Scale brings the number of serving instances of the current release to n
// through the same gate: new instances must pass readiness and the
// verification window; removed ones leave the upstream before they stop.
func (e *Engine) Scale(ctx context.Context, n int) error {
	st := e.State
	if st.Current == nil {
		return errors.New("nothing is deployed yet: run deploy first")
	}
	if n < 1 {
		return errors.New("scale: at least 1 instance must serve")
	}
	target := *st.Current
	if err := e.begin("scale", target, n); err != nil {
		return err
	}
	// A dead instance counts for nothing: it leaves first, and is replaced.
	if fail := e.dropDead(ctx); fail != nil {
		fail.Op = fmt.Sprintf("scale of %s to %d", target, n)
		return e.undo(fail, Instance{}, nil)
	}
	cur := st.Serving()
	opName := fmt.Sprintf("scale of %s from %d to %d", target, len(cur), n)
	e.logf("%s", opName)
	var added []placed
	for k := len(cur); k < n; k++ {
		nw, fail := e.bringUp(ctx, target, fmt.Sprintf("%d/%d", k+1, n), nil, added)
		if fail != nil {
			fail.Op = opName
			return e.undo(fail, nw, added)
		}
		added = append(added, placed{in: nw})
	}
	for i := len(cur) - 1; i >= n; i-- {
		if fail := e.retire(ctx, cur[i]); fail != nil {
			fail.Op = opName
			return e.undo(fail, Instance{}, nil)
		}
	}
	st.Desired = n
	e.logf("%s succeeded in %.1fs: %s", opName, e.now().Sub(e.started).Seconds(), strings.Join(st.Addrs(), ", "))
	return e.finish(Succeeded, fmt.Sprintf("%d → %d instances", len(cur), n))
}

// bringUp takes one new instance of rel through the gate: start (on the
// socket of old, the instance it is to replace, when the driver can share
// it) → readiness → upstream (unchanged when it shares old's address) →
// verification beside the old instances, while the new ones placed before
// it (done) stay watched. It returns the instance whatever happened; on
// failure it is left as it is (recorded in the state) for undo to remove.
func (e *Engine) bringUp(ctx context.Context, rel Release, slot string, old *Instance, done []placed) (Instance, *Failure) {
	st := e.State
	in := Instance{ID: st.nextID(), Version: rel.Version, Role: RoleStarting, Started: e.now().UTC()}
	st.put(in) // written ahead: a stray the CLI dies before recording is found by its id
	if err := e.save(fmt.Sprintf("starting %s (%s)", in.ID, slot)); err != nil {
		return in, unsaved(StepStart, in, err)
	}
	started, shared, err := e.start(ctx, rel, in.ID, old)
	if started.ID == in.ID {
		started.Role = RoleStarting
		if started.Started.IsZero() {
			started.Started = in.Started
		}
		in = started
		st.put(in)
	}
	if err != nil {
		return in, e.saveAfter(&Failure{Step: StepStart, Instance: in, Cause: err.Error(), Err: err})
	}
	if shared {
		e.logf("started %s, release %s, on %s's socket %s", in.Name(), rel, old.ID, in.Addr)
	} else {
		e.logf("started %s, release %s", in.Name(), rel)
	}
	if err := e.save(fmt.Sprintf("waiting for readiness of %s", in.ID)); err != nil {
		return in, unsaved(StepReady, in, err)
	}
	if f := e.waitReady(ctx, in); f != nil {
		return in, f
	}
	e.logf("%s is ready after %.1fs", in.ID, e.now().Sub(in.Started).Seconds())

	st.setRole(in.ID, RoleVerifying)
	if err := e.save(fmt.Sprintf("adding %s to the upstream", in.ID)); err != nil {
		st.setRole(in.ID, RoleStarting) // not added
		return in, unsaved(StepAdd, in, err)
	}
	reloaded, err := e.apply(ctx)
	if err != nil {
		st.setRole(in.ID, RoleStarting) // Apply restored the previous file
		return in, e.saveAfter(&Failure{Step: StepAdd, Instance: in, Cause: err.Error(), Err: err})
	}
	if reloaded {
		e.logf("%s added to the upstream; verifying for %s", in.ID, e.Opts.Verify)
	} else {
		e.logf("%s serves beside %s on %s (upstream unchanged, no reload); verifying for %s", in.ID, old.ID, in.Addr, e.Opts.Verify)
	}
	if err := e.save(fmt.Sprintf("verifying %s", in.ID)); err != nil {
		return in, unsaved(StepVerify, in, err)
	}
	watch := []Instance{in}
	for _, p := range done {
		watch = append(watch, p.in)
	}
	seen, f := e.verify(ctx, watch)
	if f != nil {
		return in, f
	}
	st.setRole(in.ID, RoleServing)
	if err := e.save(fmt.Sprintf("%s verified", in.ID)); err != nil {
		st.setRole(in.ID, RoleVerifying) // as the state directory still says
		return in, unsaved(StepVerify, in, err)
	}
	e.logf("%s verified: %s", in.ID, seen)
	return in, nil
}

// start starts the instance beside old on its socket when the driver can
// share it, else on an address of its own; shared tells which.
func (e *Engine) start(ctx context.Context, rel Release, id string, old *Instance) (Instance, bool, error) {
	sharer, ok := e.Driver.(SocketSharer)
	if !ok || old == nil {
		in, err := e.Driver.Start(ctx, rel, id)
		return in, false, err
	}
	in, err := sharer.StartBeside(ctx, rel, id, *old)
	if errors.Is(err, ErrCannotShare) {
		e.logf("%s cannot start on %s's socket (%v); it gets an address of its own and nginx is reloaded", id, old.ID, err)
		in, err = e.Driver.Start(ctx, rel, id)
		return in, false, err
	}
	return in, err == nil, err
}

// apply makes the upstream name exactly the serving instances' addresses.
// nginx is tested and reloaded only when that set changed: an instance
// that shares its predecessor's socket changes nothing there. reloaded
// tells whether it was.
func (e *Engine) apply(ctx context.Context) (reloaded bool, err error) {
	want := e.State.Addrs()
	if e.applied == nil {
		cur, err := e.Proxy.Servers()
		if err == nil {
			e.applied = append([]string{}, cur...)
		}
	}
	if e.applied != nil && sameAddrSet(want, e.applied) {
		return false, nil
	}
	if err := e.Proxy.Apply(ctx, want); err != nil {
		e.applied = nil // whatever the file says now is read again
		return false, err
	}
	e.applied = append([]string{}, want...)
	return true, nil
}

func sameAddrSet(a, b []string) bool {
	as, bs := slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(slices.Compact(as), slices.Compact(bs))
}

// waitReady polls the instance until it is ready, exits, or the readiness
// timeout passes.
func (e *Engine) waitReady(ctx context.Context, in Instance) *Failure {
	deadline := time.NewTimer(e.Opts.ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(e.Opts.Poll)
	defer tick.Stop()
	last := Probe{Detail: "not probed yet"}
	for {
		last = e.Driver.Probe(ctx, in)
		switch last.Health {
		case Ready:
			return nil
		case Exited:
			return &Failure{Step: StepReady, Instance: in, Cause: "it exited before its readiness endpoint said UP" + detail(last)}
		}
		select {
		case <-ctx.Done():
			return &Failure{Step: StepReady, Instance: in, Cause: "the command was interrupted (" + context.Cause(ctx).Error() + ")"}
		case <-deadline.C:
			return &Failure{Step: StepReady, Instance: in, Cause: fmt.Sprintf("it did not become ready within %s%s", e.Opts.ReadyTimeout, detail(last))}
		case <-tick.C:
		}
	}
}

// retire drains an instance: out of the upstream (no reload when another
// instance holds its address: the one that took its socket), then stopped
// (the app finishes what it accepted, answering "Connection: close", and
// leaves idle connections for nginx to close). If the upstream cannot be
// changed, or the state cannot be saved before it is, it stays serving; if
// the state cannot be saved after it left, it is left running, out of the
// upstream, for the next command to stop.
func (e *Engine) retire(ctx context.Context, old Instance) *Failure {
	st := e.State
	st.setRole(old.ID, RoleDraining)
	if err := e.save(fmt.Sprintf("removing %s from the upstream", old.ID)); err != nil {
		st.setRole(old.ID, RoleServing)
		return unsaved(StepDrain, old, err)
	}
	reloaded, err := e.apply(ctx)
	if err != nil {
		st.setRole(old.ID, RoleServing)
		return e.saveAfter(&Failure{Step: StepDrain, Instance: old, Cause: err.Error(), Err: err})
	}
	if err := e.save(fmt.Sprintf("stopping %s", old.ID)); err != nil {
		return unsaved(StepDrain, old, err)
	}
	if reloaded {
		e.logf("%s removed from the upstream; stopping it", old.ID)
	} else {
		e.logf("stopping %s; its address stays served by the instance on its socket", old.ID)
	}
	if err := e.stop(ctx, old); err != nil {
		return unsaved(StepDrain, old, err)
	}
	return nil
}

// stop stops an instance that is out of the upstream and forgets it. One
// that cannot be stopped stays recorded as draining, for the next command.
// The error is a state write's: when the one before the stop fails, the
// instance is not asked to stop (see below); after it, the instance is
// stopped but the state directory may still record it.
func (e *Engine) stop(ctx context.Context, in Instance) error {
	t0 := e.now()
	// Written ahead: if this command dies now, the next one knows the
	// instance may have had its SIGTERM and only waits for it. Unwritten,
	// the next one would send a second SIGTERM, which the app takes as
	// "quit now", cutting off the requests it is finishing.
	asked := in.Stopping
	e.State.setStopping(in.ID, t0.UTC())
	if err := e.save(""); err != nil {
		e.State.setStopping(in.ID, asked)
		return fmt.Errorf("recording that %s is being stopped: %w", in.ID, err)
	}
	in.Stopping = asked
	if err := e.Driver.Stop(ctx, in); err != nil {
		if e.Driver.Probe(ctx, in).Health != Exited {
			e.logf("warning: stopping %s: %v (left for the next command)", in.ID, err)
			e.State.setRole(in.ID, RoleDraining)
			return e.save("")
		}
		e.logf("warning: %s: %v", in.ID, err) // gone, though not gracefully
	}
	e.State.remove(in.ID)
	if err := e.save(fmt.Sprintf("%s stopped", in.ID)); err != nil {
		return fmt.Errorf("recording that %s stopped: %w", in.ID, err)
	}
	e.logf("%s stopped after %.1fs", in.ID, e.now().Sub(t0).Seconds())
	return nil
}

// undo rolls an operation back after fail. cur is the instance the failed
// step was bringing up (zero when the failure was elsewhere): it leaves the
// upstream (restoring the last good one) and stops. Each new instance
// placed before it (done) is replaced by the previous release through the
// same gate (on its socket where the driver shares sockets), or simply
// removed where it took no old instance's place. It keeps at least as many
// ready instances serving as before, so when even that fails the new
// instances stay and the outcome is Failed.
//
// A state write that fails here does not stop the rollback: it restores
// what the state directory last recorded as serving, so a later command
// reconciles from there. Such failures are reported in fail (Journal), and
// the outcome is Failed.
func (e *Engine) undo(fail *Failure, cur Instance, done []placed) error {
	// A signal cancelled the command's context; the undo gets a fresh one.
	ctx, cancel := context.WithTimeout(context.Background(), e.Opts.UndoTimeout)
	defer cancel()
	st := e.State
	if fail.Outcome == "" {
		fail.Outcome = RolledBack
	}
	if fail.Logs == nil && fail.Instance.ID != "" {
		fail.Logs = lastWords(e.Driver.Logs(ctx, fail.Instance, 20*e.Opts.LogLines), e.Opts.LogLines)
	}
	e.logf("FAILED at %q on %s: %s; rolling back", fail.Step, fail.Instance.ID, fail.Cause)
	fail.note(e.save("rolling back"))

	var notes []string
	// 1. The instance being brought up.
	if cur.ID != "" {
		if in, ok := e.find(cur.ID); ok {
			if in.Role == RoleVerifying || in.Role == RoleServing {
				st.setRole(in.ID, RoleDraining)
				fail.note(e.save(fmt.Sprintf("removing %s from the upstream", in.ID)))
				if _, err := e.apply(ctx); err != nil {
					st.setRole(in.ID, RoleServing)
					fail.note(e.save(""))
					fail.Outcome = Failed
					notes = append(notes, fmt.Sprintf("%s could not be taken out of the upstream (%v) and is left running", in.ID, err))
					in.Role = RoleServing
				}
			}
			if in.Role != RoleServing {
				fail.note(e.stop(ctx, in))
				if _, left := e.find(in.ID); left {
					notes = append(notes, fmt.Sprintf("%s is left running, out of the upstream, for the next command to stop", in.ID))
				} else {
					notes = append(notes, fmt.Sprintf("%s was stopped", in.ID))
				}
			}
		}
	}
	// 2. New instances already in service, newest first.
	from := st.Op.From
	for i := len(done) - 1; i >= 0; i-- {
		p := done[i]
		if p.replaced {
			if from == nil {
				fail.Outcome = Failed
				notes = append(notes, fmt.Sprintf("%s stays: no previous release is recorded to replace it with", p.in.ID))
				continue
			}
			old, f := e.bringUp(ctx, *from, "restore", &p.in, nil)
			if f != nil {
				fail.note(e.discard(ctx, old))
				fail.Outcome = Failed
				notes = append(notes, fmt.Sprintf("%s stays: the previous release %s did not come back (%s)", p.in.ID, from, f.Cause))
				continue
			}
			notes = append(notes, fmt.Sprintf("%s of %s replaced %s", old.ID, from, p.in.ID))
		}
		if f := e.retire(ctx, p.in); f != nil {
			fail.Outcome = Failed
			notes = append(notes, fmt.Sprintf("%s could not be drained (%s)", p.in.ID, f.Cause))
		}
	}
	addrs := st.Addrs()
	serving := "nothing is serving"
	if len(addrs) > 0 {
		who := "the instances that were serving"
		if from != nil {
			who = "release " + from.String()
		}
		serving = fmt.Sprintf("%s keeps serving on %s", who, strings.Join(addrs, ", "))
	}
	if len(notes) > 0 {
		fail.Undo = "Rollback: " + strings.Join(notes, "; ") + "; " + serving
	} else {
		fail.Undo = "Rollback: " + serving
	}
	if len(fail.Journal) > 0 {
		fail.Outcome = Failed
	}
	e.logf("rollback done: %s", serving)
	if err := e.finish(fail.Outcome, fail.Error()); err != nil {
		return errors.Join(fail, err)
	}
	return fail
}

// discard stops an instance that failed the gate during an undo. The
// error is a state write's.
func (e *Engine) discard(ctx context.Context, in Instance) error {
	cur, ok := e.find(in.ID)
	if !ok {
		return nil
	}
	if cur.Role == RoleVerifying {
		e.State.setRole(cur.ID, RoleDraining)
		if _, err := e.apply(ctx); err != nil {
			e.State.setRole(cur.ID, RoleServing)
			return e.save("")
		}
	}
	return e.stop(ctx, cur)
}

func (e *Engine) find(id string) (Instance, bool) {
	for _, in := range e.State.Instances {
		if in.ID == id {
			return in, true
		}
	}
	return Instance{}, false
}

func detail(p Probe) string {
	if p.Detail == "" {
		return ""
	}
	return " (" + p.Detail + ")"
}

func relName(r *Release) string {
	if r == nil {
		return "no recorded release"
	}
	return "release " + r.String()
}

// lastWords picks an instance's last n log lines that say something about
// it: per-request access log lines (`"msg":"request"`) are left out, as
// under load they would push out the lines that explain a failure.
func lastWords(lines []string, n int) []string {
	var out []string
	for _, l := range lines {
		if !strings.Contains(l, `"msg":"request"`) {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}
