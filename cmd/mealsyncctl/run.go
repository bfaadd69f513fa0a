package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `mealsyncctl deploys MealSync behind nginx without dropping a request.

Usage:
  mealsyncctl deploy   [flags]    replace every instance with a new release, one at a time
  mealsyncctl rollback [flags]    redeploy the previous good release through the same gate
  mealsyncctl scale N  [flags]    run N instances of the current release
  mealsyncctl status   [flags]    the release, the instances, the upstream, an interrupted deploy
  mealsyncctl repair   [flags]    replace dead instances, stop strays, fix the upstream (--dry-run)
  mealsyncctl history  [flags]    past deploys, rollbacks and scales
  mealsyncctl monitor  [flags]    a live view of every instance (--once, --json)
  mealsyncctl loadtest [flags]    play the app's real traffic: N virtual users (--html report)
  mealsyncctl help [COMMAND]      this text, or a command's flags

Each new instance passes one gate: start → readiness UP (--ready-timeout) →
in service → stays good for --verify, judged against the old instances probed
at the same moments (readiness and its own 5xx count; while the old ones fail
too, the machine or the database is in trouble and the window waits) → then
the old instance gets SIGTERM and finishes its requests. With the process
driver a new instance starts on the listening socket of the one it replaces:
both accept on one address, nginx is not reloaded, clients' connections stay
open. Otherwise (a new instance in a scale, the compose driver) it is added to
the nginx upstream and the old one removed, each with nginx -t and a reload.
There are never fewer than N ready instances, never more than N+1.
If a new instance fails any step, or nginx rejects the config, the last good
upstream is restored, every new instance stops, the old release keeps
serving, and the command exits 1 with one paragraph saying why.

State lives in --state-dir (default $MEALSYNCCTL_STATE_DIR, else ./.mealsyncctl):
state.json, history.json, metrics.prom (for node_exporter's textfile
collector), logs/ and a lock that keeps two commands from running at once.
A command killed half-way is detected and reconciled by the next one. An
instance that dies on its own (killed, crashed) shows in status as dead;
repair (or scale) replaces it.

Exit status: 0 done; 1 failed or rolled back; 2 wrong usage.
Run 'mealsyncctl COMMAND -h' for a command's flags.
`

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand. The monitor command (internal/monitor) joins
// this table the same way.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"deploy":   {"replace every instance with a new release", runDeploy},
		"rollback": {"redeploy the previous good release", runRollback},
		"scale":    {"run N instances of the current release", runScale},
		"status":   {"show the current state", runStatus},
		"repair":   {"bring the state, the instances and the upstream into agreement", runRepair},
		"history":  {"list past deploys", runHistory},
		"monitor":  {"a live view of every instance", runMonitor},
		"loadtest": {"play the app's real traffic against a server you run", runLoadtest},
	}
}

// env is what a command may use of the outside world.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	name, rest := args[1], args[2:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if c, ok := commands()[rest[0]]; ok {
				if err := c.run(ctx, e, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
					return err
				}
				return nil
			}
			return usagef("help: unknown command %q", rest[0])
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	c, ok := commands()[name]
	if !ok {
		fmt.Fprint(stderr, usage)
		return usagef("unknown command %q", name)
	}
	err := c.run(ctx, e, rest)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// newFlagSet is a command's flag set; -h prints usage and the flags to stdout.
func newFlagSet(e *env, name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: mealsyncctl %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args; -h shows the help on stdout and ends the command.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}
