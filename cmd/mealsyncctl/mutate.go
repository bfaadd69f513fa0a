package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
)

// withEngine runs a command that changes something: it takes the state
// directory's lock, reconciles whatever an interrupted command left, adopts
// instances started outside this tool (compose), runs fn, and writes
// metrics.prom whatever the outcome.
func withEngine(ctx context.Context, e *env, dir, command string, df *driverFlags, gate *rollout.Options,
	check func(rollout.Settings) error, fn func(*rollout.Engine) error) error {
	store, err := rollout.NewStore(dir)
	if err != nil {
		return err
	}
	lock, err := store.Lock(command)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	st, err := store.Load()
	if err != nil {
		return err
	}
	if st.Settings, err = df.merge(st.Settings); err != nil {
		return err
	}
	if check != nil {
		if err := check(st.Settings); err != nil {
			return err
		}
	}
	driver, proxy := build(e, store, st.Settings, df.stopWait)
	eng := &rollout.Engine{Store: store, State: st, Driver: driver, Proxy: proxy, Opts: *gate, Out: e.stdout}
	defer func() {
		if err := store.WriteMetrics(eng.State); err != nil {
			fmt.Fprintln(e.stderr, "mealsyncctl: writing metrics.prom:", err)
		}
	}()
	if err := eng.Recover(ctx); err != nil {
		return err
	}
	if err := eng.Adopt(ctx); err != nil {
		return err
	}
	return fn(eng)
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
	binary := fs.String("binary", "", "process driver: the mealsync `program` to run, or a release directory holding one named mealsync")
	envFile := fs.String("env-file", "", "process driver: KEY=VALUE `file` with the instances' MEALSYNC_* configuration")
	workdir := fs.String("workdir", ".", "process driver: the instances' working `directory`")
	tag := fs.String("tag", "", "compose driver: the image `tag` to deploy (MEALSYNC_TAG)")
	version := fs.String("version", "", "the release's `name` in status and history (default: what BINARY version prints, or the tag)")
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
	var rel rollout.Release
	check := func(s rollout.Settings) (err error) {
		rel, err = resolveRelease(ctx, e, s.Driver, *binary, *envFile, *workdir, *tag, *version)
		return err
	}
	return withEngine(ctx, e, *dir, "deploy", df, gate, check, func(eng *rollout.Engine) error {
		return eng.Deploy(ctx, "deploy", rel, *instances)
	})
}

// resolveRelease checks the release's files and names it.
func resolveRelease(ctx context.Context, e *env, driver, binary, envFile, workdir, tag, version string) (rollout.Release, error) {
	if driver == "compose" {
		if tag == "" {
			return rollout.Release{}, usagef("deploy: the compose driver needs --tag")
		}
		if version == "" {
			version = tag
		}
		return rollout.Release{Version: version, Tag: tag}, nil
	}
	if binary == "" {
		return rollout.Release{}, usagef("deploy: the process driver needs --binary")
	}
	bin, err := filepath.Abs(binary)
	if err != nil {
		return rollout.Release{}, err
	}
	if fi, err := os.Stat(bin); err == nil && fi.IsDir() {
		bin = filepath.Join(bin, "mealsync")
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return rollout.Release{}, fmt.Errorf("deploy: %s is not an executable file", bin)
	}
	rel := rollout.Release{Binary: bin}
	if envFile != "" {
		if rel.EnvFile, err = filepath.Abs(envFile); err != nil {
			return rel, err
		}
		if _, err := rollout.ReadEnvFile(rel.EnvFile); err != nil {
			return rel, err
		}
	}
	if rel.Dir, err = filepath.Abs(workdir); err != nil {
		return rel, err
	}
	rel.Version = version
	if rel.Version == "" {
		if rel.Version, err = binaryVersion(ctx, e, rel); err != nil {
			return rel, err
		}
	}
	return rel, nil
}

// binaryVersion asks the binary: "mealsync VERSION (commit …)".
func binaryVersion(ctx context.Context, e *env, rel rollout.Release) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rel.Binary, "version")
	cmd.Dir = rel.Dir
	cmd.Env = passEnv(e.getenv)
	if rel.EnvFile != "" {
		vars, _ := rollout.ReadEnvFile(rel.EnvFile)
		cmd.Env = append(cmd.Env, vars...)
	}
	out, err := cmd.Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) < 2 || f[0] != "mealsync" {
		return "", fmt.Errorf("deploy: `%s version` did not name a mealsync version (%v: %q); give --version", rel.Binary, err, strings.TrimSpace(string(out)))
	}
	return f[1], nil
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
	return withEngine(ctx, e, *dir, "rollback", df, gate, nil, func(eng *rollout.Engine) error {
		prev := eng.State.Previous
		if prev == nil {
			return errors.New("rollback: no previous release is recorded (see mealsyncctl history)")
		}
		return eng.Deploy(ctx, "rollback", *prev, 0)
	})
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
	return withEngine(ctx, e, *dir, "scale", df, gate, nil, func(eng *rollout.Engine) error {
		return eng.Scale(ctx, n)
	})
}
