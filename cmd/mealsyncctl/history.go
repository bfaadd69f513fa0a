package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
)

func runHistory(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "history", "history [flags]", `
Lists deploys, rollbacks and scales, oldest first: the release, when it
started, how long it took (from the command to the last old instance gone),
and the outcome: succeeded, rolled back (the new release failed the gate and
the old one kept serving), interrupted (the command was killed and a later
one reconciled it) or failed (not even the rollback could finish).`)
	dir := stateDirFlag(e, fs)
	n := fs.Int("n", 20, "show the last `N` entries (0: all)")
	asJSON := fs.Bool("json", false, "print the entries as JSON")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	h, err := (&rollout.Store{Dir: abs}).History()
	if err != nil {
		return err
	}
	if *n > 0 && len(h) > *n {
		h = h[len(h)-*n:]
	}
	if *asJSON {
		if h == nil {
			h = []rollout.Entry{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	}
	if len(h) == 0 {
		fmt.Fprintf(e.stdout, "no history in %s\n", abs)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tKIND\tVERSION\tFROM\tDURATION\tOUTCOME")
	for _, x := range h {
		from := x.From
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1fs\t%s\n", x.Started.Local().Format(time.DateTime), x.Kind, x.Version, from, x.Duration, x.Outcome.Label())
	}
	return tw.Flush()
}
