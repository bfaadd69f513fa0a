package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/mealsync/mealsync/internal/monitor"
	"github.com/mealsync/mealsync/internal/rollout"
)

func runMonitor(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "monitor", "monitor [flags]", `
A live view of every MealSync instance, replacing the old monitor.sh: its
version, readiness, uptime, requests per second, p95 latency and 5xx ratio
over the last interval, database connections in use of the pool's maximum,
and the last deploy. It reads the instances' own /actuator endpoints on
their ops listeners (no Prometheus needed; an instance recorded without one
is read on its API address) and refreshes every --interval: in place on a terminal
(plain ANSI, fine over SSH), as appended timestamped tables otherwise. The
instances are those the state directory records, re-read at every refresh,
or the fixed --targets list. Ctrl-C stops it.

--once scrapes twice, --interval apart, so its rates are real, prints one
table and exits. --json prints one JSON object per refresh (one line; with
--once exactly one); unknown figures are null. An unreachable instance is a
row saying why, never a failure.`)
	dir := stateDirFlag(e, fs)
	targetList := fs.String("targets", "", "watch these instances instead of the state directory's: their ops listeners' `URLs or host:port pairs` (MEALSYNC_OPS_ADDR), comma-separated (http://10.0.0.5:9081,10.0.0.6:9081)")
	interval := fs.Duration("interval", monitor.DefaultInterval, "time between refreshes, and the window the rates are measured over")
	timeout := fs.Duration("timeout", monitor.DefaultTimeout, "how long an instance may take to answer before it is shown as unreachable")
	once := fs.Bool("once", false, "print one table (or JSON object) and exit")
	asJSON := fs.Bool("json", false, "print JSON, one object per line per refresh, instead of a table")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("monitor: unexpected argument %q", fs.Arg(0))
	}
	if *interval <= 0 || *timeout <= 0 {
		return usagef("monitor: --interval and --timeout must be positive")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	// Only read: rollout.NewStore would create the directory.
	store := &rollout.Store{Dir: abs}
	targets := func() ([]monitor.Target, error) { return stateTargets(store) }
	if *targetList != "" {
		ts, err := monitor.ParseTargets(*targetList)
		if err != nil {
			return usagef("monitor: --targets: %v", err)
		}
		targets = func() ([]monitor.Target, error) { return ts, nil }
	}
	return monitor.Run(ctx, monitor.Options{
		Targets:    targets,
		LastDeploy: func() (*monitor.Deploy, error) { return lastDeploy(store) },
		Interval:   *interval,
		Once:       *once,
		JSON:       *asJSON,
		Redraw:     monitor.IsTerminal(e.stdout),
		Out:        e.stdout,
		Scraper:    &monitor.Scraper{Timeout: *timeout},
	})
}

// stateTargets are every instance the state directory records, serving or
// not (a deploy in progress shows its new instance starting or verifying and
// the old one draining), at their ops listeners. A missing state file is no
// instances.
func stateTargets(store *rollout.Store) ([]monitor.Target, error) {
	st, err := store.Load()
	if err != nil {
		return nil, err
	}
	var out []monitor.Target
	for _, in := range st.Instances {
		if in.Addr == "" {
			continue // started, address not known yet
		}
		name := in.ID
		if in.Role != rollout.RoleServing {
			name += " (" + string(in.Role) + ")"
		}
		addr := in.OpsAddr
		if addr == "" { // recorded by an older mealsyncctl, whose instances served everything on one port
			addr = in.Addr
		}
		out = append(out, monitor.Target{Name: name, URL: "http://" + addr})
	}
	return out, nil
}

// lastDeploy is the newest deploy or rollback of the history (scales are
// not deploys); nil when there is none.
func lastDeploy(store *rollout.Store) (*monitor.Deploy, error) {
	h, err := store.History()
	if err != nil {
		return nil, err
	}
	for i := len(h) - 1; i >= 0; i-- {
		x := h[i]
		if x.Kind != "deploy" && x.Kind != "rollback" {
			continue
		}
		return &monitor.Deploy{
			Kind: x.Kind, Version: x.Version, Outcome: string(x.Outcome), Detail: x.Detail,
			Time: x.Started.Add(time.Duration(x.Duration * float64(time.Second))),
		}, nil
	}
	return nil, nil
}
