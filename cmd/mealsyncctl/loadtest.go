package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/monitor"
)

func runLoadtest(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "loadtest", "loadtest --target URL [flags]", `
Plays MealSync's real traffic against a server you run: --users virtual
users, each with its own account and keep-alive connection, each looping
think time (exponential, mean --think) → one action of the app drawn from
--mix (browse the catalogue with realistic filters, search by name, open a
recipe, recommendations, today's picks, save/unsave, saved, recent, meal
plans and their shopping lists, generation from ingredients, an occasional
sign-in); tokens are refreshed before they expire, as the app does.

Phases: setup (accounts signed up and in, not measured) → ramp-up (users
start evenly over --ramp-up) → steady (--duration, what the summary is
about). Latency counts from each request's intended start, so a stalled
server cannot hide its stall. The report: a text summary, --json, and
--html FILE with the charts. A live progress line shows on a terminal.

New accounts need sign-ups, which the server throttles per client address
(MEALSYNC_REGISTER_MAX_PER_ADDRESS): users get one loopback address each
when the target is on loopback (--source-addrs auto); otherwise start the
server with MEALSYNC_REGISTER_MAX_PER_ADDRESS=0, or sign accounts up once
with --prepare FILE and reuse them with --accounts FILE.

Safe by default: only loopback and private targets (--i-own-this-target
for others), bounded by --duration and --max-requests, stopped by Ctrl-C
with a partial report, aborted when the error ratio passes --max-errors.
Exit status: 0 done; 1 aborted, interrupted or failed; 2 wrong usage.`)
	o := loadtest.Options{}
	fs.StringVar(&o.Target, "target", "", "the server's base `URL`: nginx (http://127.0.0.1) or an instance (http://127.0.0.1:8081)")
	fs.BoolVar(&o.AllowAnyTarget, "i-own-this-target", false, "allow a target outside loopback and the private ranges: only a server you run")
	fs.IntVar(&o.Users, "users", loadtest.DefaultUsers, "virtual users")
	fs.DurationVar(&o.Think, "think", loadtest.DefaultThink, "mean think time between a user's actions (exponential)")
	fs.DurationVar(&o.RampUp, "ramp-up", loadtest.DefaultRampUp, "users start evenly over this time")
	fs.DurationVar(&o.Duration, "duration", loadtest.DefaultDuration, "the steady phase, after the ramp-up")
	mix := fs.String("mix", "", "action weights that replace the default ones, e.g. browse=40,login=0 (actions: browse, search, open, recommended, today, save, saved, recent, plan, plans, generate, login; default "+loadtest.DefaultMix().String()+")")
	fs.Uint64Var(&o.Seed, "seed", 0, "random seed: the same seed replays every user's choices (0: a random one, printed)")
	fs.DurationVar(&o.Timeout, "timeout", loadtest.DefaultTimeout, "one request's time limit")
	fs.Int64Var(&o.MaxRequests, "max-requests", loadtest.DefaultMaxRequests, "stop after this many requests (setup excluded)")
	fs.Float64Var(&o.MaxErrors, "max-errors", loadtest.DefaultMaxErrors, "abort when this `ratio` of requests failed (0.05 = 5 %; 1 never aborts)")
	fs.DurationVar(&o.TokenTTL, "token-ttl", loadtest.DefaultTokenTTL, "the server's access-token lifetime (MEALSYNC_ACCESS_TOKEN_TTL): users refresh before it")
	fs.IntVar(&o.SetupConcurrency, "setup-concurrency", loadtest.DefaultSetupConcurrency, "sign-ups and sign-ins in flight during setup (each costs the server a password hash)")
	fs.DurationVar(&o.SetupTimeout, "setup-timeout", loadtest.DefaultSetupTimeout, "time limit of the setup phase")
	fs.StringVar(&o.SourceAddrs, "source-addrs", "auto", "users' client `addresses`: auto (one loopback address each towards a loopback target), none, or an IPv4 CIDR such as 127.96.0.0/11")
	accounts := fs.String("accounts", "", "sign in with the accounts in this `file` (email:password lines, as --prepare writes) instead of signing new ones up")
	prepare := fs.String("prepare", "", "only sign --users accounts up and write them to this new `file` (mode 0600), for --accounts")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of the text summary")
	htmlFile := fs.String("html", "", "also write the report as a self-contained HTML page with charts to this `file`")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("loadtest: unexpected argument %q", fs.Arg(0))
	}
	if *mix != "" {
		m, err := loadtest.ParseMix(*mix)
		if err != nil {
			return usagef("loadtest: --mix: %v", err)
		}
		o.Mix = m
	}
	if *accounts != "" && *prepare != "" {
		return usagef("loadtest: --accounts and --prepare exclude each other")
	}
	if *accounts != "" {
		accts, err := loadtest.ReadAccountsFile(*accounts)
		if err != nil {
			return usagef("loadtest: --accounts: %v", err)
		}
		o.Accounts = accts
	}
	if o.Target == "" {
		return usagef("loadtest: --target is required")
	}
	if err := o.Validate(); err != nil {
		return usagef("loadtest: %v", err)
	}

	if *prepare != "" {
		n, err := loadtest.Prepare(ctx, o, *prepare)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%d accounts signed up and written to %s\n", n, *prepare)
		return nil
	}

	live := monitor.IsTerminal(e.stdout) && !*asJSON
	var hooks loadtest.Hooks
	if live {
		hooks.OnTick = func(t loadtest.Tick) { fmt.Fprintf(e.stdout, "\r\x1b[K%s", loadtest.ProgressLine(t)) }
	}
	started := time.Now()
	rep, err := loadtest.Run(ctx, o, hooks)
	if live {
		fmt.Fprint(e.stdout, "\r\x1b[K")
	}
	if rep == nil {
		return err
	}
	if *asJSON {
		if werr := rep.WriteJSON(e.stdout); werr != nil {
			return werr
		}
	} else if werr := rep.WriteText(e.stdout); werr != nil {
		return werr
	}
	if *htmlFile != "" {
		if werr := rep.WriteHTMLFile(*htmlFile); werr != nil {
			return fmt.Errorf("write the HTML report: %w", werr)
		}
		fmt.Fprintf(e.stderr, "HTML report: %s (%s run)\n", *htmlFile, time.Since(started).Round(time.Second))
	}
	return err
}
