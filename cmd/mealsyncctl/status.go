package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
)

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
	r, err := rollout.ReadStatus(ctx, df.setup(e, *dir, nil))
	if err != nil {
		return err
	}
	for _, w := range r.Warnings {
		fmt.Fprintln(e.stderr, "mealsyncctl:", w)
	}
	switch {
	case *asJSON && !r.Deployed:
		return json.NewEncoder(e.stdout).Encode(r)
	case *asJSON:
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case !r.Deployed:
		fmt.Fprintf(e.stdout, "nothing deployed yet: no state in %s\n", r.StateDir)
		return nil
	}
	printStatus(e, r)
	return nil
}

func printStatus(e *env, r rollout.Status) {
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
