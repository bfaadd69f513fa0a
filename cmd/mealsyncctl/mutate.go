package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mealsync/mealsync/internal/rollout"
)

// openSession starts a command that changes something: the state directory's
// lock, its state, the engine. The caller runs Reconcile before its own
// work, and close at the end.
func openSession(e *env, dir, command string, df *driverFlags, gate *rollout.Options) (*rollout.Session, error) {
	return rollout.Open(df.setup(e, dir, gate), command)
}

// close ends the session, writing metrics.prom: a failure to is a warning.
func (e *env) close(s *rollout.Session) {
	if err := s.Close(); err != nil {
		fmt.Fprintln(e.stderr, "mealsyncctl:", err)
	}
}

func runDeploy(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "deploy", "deploy [flags]", `
Replaces every running instance with one of the new release, one at a time,
through the gate (see 'mealsyncctl help'). The process driver runs BINARY
serve with the env file's variables, on the listening socket of the
instance it replaces (passed as LISTEN_FDS, so nginx is not reloaded) or on
a new one, and MEALSYNC_OPS_ADDR set to a free port; the compose driver scales the compose service up by one container with
MEALSYNC_TAG=TAG. A first deploy starts --instances instances (default 1).

Examples:
  mealsyncctl deploy --binary /opt/mealsync/releases/v1.4.0/mealsync \
      --env-file /etc/mealsync/env --nginx-conf /etc/nginx/nginx.conf \
      --upstream-file /etc/nginx/upstream.conf --instances 2
  mealsyncctl deploy --driver compose --tag 3f2c1ab`)
	dir := stateDirFlag(e, fs)
	df := addDriverFlags(fs)
	gate := addGateFlags(fs)
	var spec rollout.ReleaseSpec
	fs.StringVar(&spec.Binary, "binary", "", "process driver: the mealsync `program` to run, or a release directory holding one named mealsync")
	fs.StringVar(&spec.EnvFile, "env-file", "", "process driver: KEY=VALUE `file` with the instances' MEALSYNC_* configuration")
	fs.StringVar(&spec.Workdir, "workdir", ".", "process driver: the instances' working `directory`")
	fs.StringVar(&spec.Tag, "tag", "", "compose driver: the image `tag` to deploy (MEALSYNC_TAG)")
	fs.StringVar(&spec.Version, "version", "", "the release's `name` in status and history (default: what BINARY version prints, or the tag)")
	instances := fs.Int("instances", 0, "how many instances to end with (`N`; default: as many as now, or 1 on a first deploy)")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("deploy: unexpected argument %q", fs.Arg(0))
	}
	if *instances < 0 {
		return usagef("deploy: --instances must be at least 1")
	}
	s, err := openSession(e, *dir, "deploy", df, gate)
	if err != nil {
		return err
	}
	defer e.close(s)
	rel, err := s.Engine.Resolve(ctx, spec)
	if err != nil {
		return releaseError(err)
	}
	if err := s.Reconcile(ctx); err != nil {
		return err
	}
	return s.Engine.Deploy(ctx, "deploy", rel, *instances)
}

// releaseError says in flags what the release lacks.
func releaseError(err error) error {
	var missing *rollout.MissingError
	if errors.As(err, &missing) {
		return usagef("deploy: the %s driver needs --%s", missing.Driver, missing.Field)
	}
	var noVersion *rollout.VersionError
	if errors.As(err, &noVersion) {
		return fmt.Errorf("deploy: %w; give --version", err)
	}
	return fmt.Errorf("deploy: %w", err)
}

func runRollback(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "rollback", "rollback [flags]", `
Redeploys the release that was serving before the current one, through the
same gate as deploy: each instance of the previous release must become
ready and pass the verification window before a current one is drained.
Running it twice returns to where you started.`)
	dir := stateDirFlag(e, fs)
	df := addDriverFlags(fs)
	gate := addGateFlags(fs)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("rollback: unexpected argument %q", fs.Arg(0))
	}
	s, err := openSession(e, *dir, "rollback", df, gate)
	if err != nil {
		return err
	}
	defer e.close(s)
	if err := s.Reconcile(ctx); err != nil {
		return err
	}
	prev := s.Engine.State.Previous
	if prev == nil {
		return errors.New("rollback: no previous release is recorded (see mealsyncctl history)")
	}
	return s.Engine.Deploy(ctx, "rollback", *prev, 0)
}

func runScale(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "scale", "scale N [flags]", `
Runs N instances of the current release. New instances pass the same gate
as a deploy's; removed ones leave the upstream, nginx reloads, and only
then do they get SIGTERM. If a new instance fails, every instance this
command started is removed again and the command exits 1.`)
	dir := stateDirFlag(e, fs)
	df := addDriverFlags(fs)
	gate := addGateFlags(fs)
	var nArg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		nArg, args = args[0], args[1:]
	}
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if nArg == "" && fs.NArg() > 0 {
		nArg = fs.Arg(0)
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 1 {
		return usagef("scale: want a number of instances of at least 1, got %q", nArg)
	}
	s, err := openSession(e, *dir, "scale", df, gate)
	if err != nil {
		return err
	}
	defer e.close(s)
	if err := s.Reconcile(ctx); err != nil {
		return err
	}
	return s.Engine.Scale(ctx, n)
}
