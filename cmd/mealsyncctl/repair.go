package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mealsync/mealsync/internal/rollout"
)

func runRepair(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "repair", "repair [flags]", `
Brings the recorded state, the running instances and the nginx upstream
back into agreement after something outside mealsyncctl changed them: an
instance was killed, crashed or ran out of memory, the host rebooted, the
upstream file was edited.

  - a dead serving instance, whose process or container is gone (a pid
    another process took over is recognised by its start time), leaves the
    upstream and is forgotten;
  - new instances of the current release, through the same gate as a
    deploy's, bring the count back to the one wanted (see status);
  - instances this state directory started but does not record (strays: a
    command was killed right after starting them) are stopped;
  - an upstream that names other servers than the serving instances is
    rewritten, and nginx reloaded.

An interrupted command is reconciled first, as by every command that changes
something. Instances that are alive but not ready are left alone (when the
database is down every instance is). With nothing to do, repair changes
nothing. It exits 1 if a replacement fails the gate (that instance is
removed again; what lives keeps serving).`)
	dir := stateDirFlag(e, fs)
	df := addDriverFlags(fs)
	gate := addGateFlags(fs)
	dryRun := fs.Bool("dry-run", false, "print what repair would do, and change nothing")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("repair: unexpected argument %q", fs.Arg(0))
	}
	if *dryRun {
		return repairPlan(ctx, e, df.setup(e, *dir, nil))
	}
	s, err := openSession(e, *dir, "repair", df, gate)
	if err != nil {
		return err
	}
	defer e.close(s)
	if err := s.Reconcile(ctx); err != nil {
		return err
	}
	_, err = s.Engine.Repair(ctx)
	return err
}

// repairPlan is `repair --dry-run`: the diagnosis and the plan, read only.
func repairPlan(ctx context.Context, e *env, setup rollout.Setup) error {
	eng, err := rollout.Look(setup)
	if errors.Is(err, rollout.ErrNothingDeployed) {
		fmt.Fprintf(e.stdout, "%v; nothing to repair\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	st := eng.State
	w := e.stdout
	fmt.Fprintln(w, "dry run: nothing will be changed")
	if held, who := eng.Store.Held(); held {
		fmt.Fprintf(w, "note: a command is running now (%s); what it does changes this\n", who)
	} else if st.NeedsRecovery() {
		kind := "command"
		if st.Op != nil {
			kind = st.Op.Kind
		}
		fmt.Fprintf(w, "would: reconcile the interrupted %s first (ready instances stay, the upstream is set to them, the rest stop); the plan below is as things stand before that\n", kind)
	}
	d := eng.Diagnose(ctx)
	for _, line := range d.Plan() {
		fmt.Fprintln(w, "would: "+line)
	}
	for _, n := range d.Notes() {
		fmt.Fprintln(w, "note: "+n)
	}
	if d.Healthy() {
		fmt.Fprintf(w, "nothing to repair: %d of %d wanted instance(s) serve, the upstream names exactly them, no stray runs\n", d.Live, d.Desired)
	}
	return nil
}
