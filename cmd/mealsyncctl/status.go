package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
)

// statusReport is what `status --json` prints.
type statusReport struct {
	StateDir    string             `json:"state_dir"`
	Driver      string             `json:"driver"`
	Current     *rollout.Release   `json:"current,omitempty"`
	Previous    *rollout.Release   `json:"previous,omitempty"`
	Desired     int                `json:"desired"`
	Instances   []instanceStatus   `json:"instances"`
	Upstream    upstreamStatus     `json:"upstream"`
	Interrupted *rollout.Operation `json:"interrupted,omitempty"` // a killed command's operation
	InProgress  *rollout.Operation `json:"in_progress,omitempty"` // a running command's operation
	LockHolder  string             `json:"lock_holder,omitempty"`
	LastDeploy  *rollout.Entry     `json:"last_deploy,omitempty"`
	Consistent  bool               `json:"consistent"` // no operation pending, upstream matches, every serving instance ready, as many as wanted, no stray
	Problems    []string           `json:"problems,omitempty"`
	Strays      []string           `json:"strays,omitempty"` // running instances this state directory started and does not record
	Remedy      string             `json:"remedy,omitempty"` // the command that fixes the problems
	metrics     func(*rollout.State) error
	state       *rollout.State
}

type instanceStatus struct {
	rollout.Instance
	Health     string `json:"health"`
	Detail     string `json:"detail,omitempty"`
	InUpstream bool   `json:"in_upstream"`
}

type upstreamStatus struct {
	File    string   `json:"file"`
	Servers []string `json:"servers"`
	Error   string   `json:"error,omitempty"`
}

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "status", "status [flags]", `
Shows the release serving now and the one before it, every instance with a
live readiness probe, the servers the nginx upstream file names (and whether
they match), the last deploy, and a deploy that is running now or was
interrupted (its CLI killed). An instance whose process or container is gone
is dead (a pid another process took over is recognised by its start time);
dead instances, fewer serving instances than wanted, strays and an upstream
that names other servers make the state inconsistent, and status names the
command that repairs it. It changes nothing, except metrics.prom.`)
	dir := stateDirFlag(e, fs)
	df := addDriverFlags(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(abs, "state.json")); errors.Is(err, iofs.ErrNotExist) {
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(statusReport{StateDir: abs, Consistent: true, Instances: []instanceStatus{}})
		}
		fmt.Fprintf(e.stdout, "nothing deployed yet: no state in %s\n", abs)
		return nil
	}
	store, err := rollout.NewStore(abs)
	if err != nil {
		return err
	}
	st, err := store.Load()
	if err != nil {
		return err
	}
	settings, err := df.merge(st.Settings)
	if err != nil {
		return err
	}
	driver, proxy := build(e, store, settings, df.stopWait)
	r := statusReport{
		StateDir: store.Dir, Driver: describeSettings(settings),
		Current: st.Current, Previous: st.Previous, Desired: st.Desired,
		Instances: []instanceStatus{}, Upstream: upstreamStatus{File: settings.UpstreamFile},
	}
	held, holder := store.Held()
	if held {
		r.LockHolder = holder
	}
	if st.Op != nil {
		if held {
			r.InProgress = st.Op
		} else {
			r.Interrupted = st.Op
			r.Problems = append(r.Problems, "an interrupted "+st.Op.Kind+" is recorded")
		}
	}
	r.Upstream.Servers, err = proxy.Servers()
	if err != nil {
		r.Upstream.Error = err.Error()
		r.Problems = append(r.Problems, "the upstream file cannot be read: "+err.Error())
	}
	d := (&rollout.Engine{Store: store, State: st, Driver: driver, Proxy: proxy}).Diagnose(ctx)
	for _, in := range st.Instances {
		p := d.Probes[in.ID]
		is := instanceStatus{Instance: in, Health: p.Health.String(), Detail: p.Detail, InUpstream: slices.Contains(r.Upstream.Servers, in.Addr)}
		r.Instances = append(r.Instances, is)
		if in.Role == rollout.RoleServing && p.Health != rollout.Ready {
			r.Problems = append(r.Problems, fmt.Sprintf("serving instance %s is %s (%s)", in.Name(), p.Health, p.Detail))
		}
	}
	if r.InProgress == nil {
		if !sameSet(r.Upstream.Servers, st.Addrs()) {
			r.Problems = append(r.Problems, fmt.Sprintf("the upstream names %s but the serving instances are %s",
				list(r.Upstream.Servers), list(st.Addrs())))
		}
		if d.Release != "" && d.Live < d.Desired {
			r.Problems = append(r.Problems, fmt.Sprintf("%d of %d wanted instance(s) serve", d.Live, d.Desired))
		}
		r.Strays = d.Strays
		for _, s := range d.Strays {
			r.Problems = append(r.Problems, s+" runs but is not recorded")
		}
		for _, p := range d.Problems {
			if !strings.HasPrefix(p, "the upstream cannot be read") { // reported above
				r.Problems = append(r.Problems, p)
			}
		}
		if len(r.Problems) > 0 {
			r.Remedy = "mealsyncctl repair (repair --dry-run shows what it would do)"
		}
	}
	if h, err := store.History(); err == nil {
		for i := len(h) - 1; i >= 0; i-- {
			if h[i].Kind == "deploy" || h[i].Kind == "rollback" {
				r.LastDeploy = &h[i]
				break
			}
		}
	}
	r.Consistent = len(r.Problems) == 0 && r.InProgress == nil
	if !held {
		if err := store.WriteMetrics(st); err != nil {
			fmt.Fprintln(e.stderr, "mealsyncctl: writing metrics.prom:", err)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	printStatus(e, r)
	return nil
}

func printStatus(e *env, r statusReport) {
	w := e.stdout
	fmt.Fprintf(w, "state dir:  %s\n", r.StateDir)
	fmt.Fprintf(w, "driver:     %s\n", r.Driver)
	rel := "none deployed"
	if r.Current != nil {
		rel = r.Current.Version
		if r.Current.Binary != "" {
			rel += "  (" + r.Current.Binary + ")"
		}
	}
	if r.Previous != nil {
		rel += "; previous " + r.Previous.Version + " (what rollback deploys)"
	}
	fmt.Fprintf(w, "release:    %s\n", rel)
	fmt.Fprintf(w, "instances:  %d wanted, %d recorded\n", r.Desired, len(r.Instances))
	if len(r.Instances) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tVERSION\tROLE\tADDRESS\tOPS\tPROCESS\tHEALTH\tIN UPSTREAM\tSTARTED")
		for _, in := range r.Instances {
			proc := "-"
			switch {
			case in.PID != 0:
				proc = fmt.Sprintf("pid %d", in.PID)
			case in.Container != "":
				proc = "container " + shortID(in.Container)
			}
			health := in.Health
			if in.Detail != "" && in.Health != "ready" {
				health += " (" + in.Detail + ")"
			}
			ops := in.OpsAddr
			if ops == "" {
				ops = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Version, in.Role, in.Addr, ops, proc, health,
				yesNo(in.InUpstream), in.Started.Local().Format(time.DateTime))
		}
		tw.Flush()
	}
	up := list(r.Upstream.Servers)
	if r.Upstream.Error != "" {
		up = "unreadable: " + r.Upstream.Error
	}
	fmt.Fprintf(w, "upstream:   %s: %s\n", r.Upstream.File, up)
	if r.LastDeploy != nil {
		d := r.LastDeploy
		fmt.Fprintf(w, "last:       %s of %s %s, %s, took %.1fs\n", d.Kind, d.Version, d.Outcome.Label(),
			d.Started.Local().Format(time.DateTime), d.Duration)
	}
	if op := r.InProgress; op != nil {
		fmt.Fprintf(w, "RUNNING:    a %s of %s by %s, now at: %s\n", op.Kind, op.Target, r.LockHolder, op.Step)
	}
	if op := r.Interrupted; op != nil {
		fmt.Fprintf(w, "INTERRUPTED: a %s of %s started %s by pid %d stopped at %q (%s ago) and no command is running.\n"+
			"            The next deploy, rollback, scale or repair reconciles it first: ready instances stay, the\n"+
			"            upstream is set to them, everything else is stopped; then it does its own work.\n",
			op.Kind, op.Target, op.Started.Local().Format(time.DateTime), op.PID, op.Step,
			time.Since(op.Updated).Round(time.Second))
	}
	if len(r.Problems) == 0 && r.InProgress == nil {
		fmt.Fprintln(w, "consistent: yes (the upstream names exactly the serving instances, all ready)")
	} else if len(r.Problems) > 0 {
		fmt.Fprintf(w, "consistent: no: %s\n", strings.Join(r.Problems, "; "))
	}
	if r.Remedy != "" {
		fmt.Fprintf(w, "fix:        %s\n", r.Remedy)
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func list(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
