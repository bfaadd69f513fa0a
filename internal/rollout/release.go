package rollout

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ReleaseSpec is a release as an operator names it, before it is checked:
// what deploy's flags say.
type ReleaseSpec struct {
	Binary  string // process driver: the mealsync program, or a release directory holding one named mealsync
	EnvFile string // process driver: KEY=VALUE file with the instances' configuration ("": none)
	Workdir string // process driver: the instances' working directory ("": the current one)
	Tag     string // compose driver: the image tag
	Version string // the release's name; "": what the binary's `version` prints, or the tag
}

// Resolver is a Driver that turns a ReleaseSpec into a Release it can
// start, checking what it needs of it.
type Resolver interface {
	Resolve(ctx context.Context, spec ReleaseSpec) (Release, error)
}

var (
	_ Resolver = (*Process)(nil)
	_ Resolver = (*Compose)(nil)
)

// MissingError: the spec lacks a field (Field, as ReleaseSpec's fields are
// named in lower case) that the driver needs.
type MissingError struct{ Driver, Field string }

func (e *MissingError) Error() string {
	return fmt.Sprintf("the %s driver needs a %s", e.Driver, e.Field)
}

// VersionError: the binary did not say which version it is, and the spec
// names none.
type VersionError struct {
	Binary string
	Output string // what it printed
	Err    error  // how it ended
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("`%s version` did not name a mealsync version (%v: %q)", e.Binary, e.Err, e.Output)
}

// Resolve checks the release the spec names with the engine's driver.
func (e *Engine) Resolve(ctx context.Context, spec ReleaseSpec) (Release, error) {
	r, ok := e.Driver.(Resolver)
	if !ok {
		return Release{}, fmt.Errorf("the %T driver cannot resolve a release", e.Driver)
	}
	return r.Resolve(ctx, spec)
}

// Resolve: an image tag, named by itself unless the spec names it.
func (d *Compose) Resolve(ctx context.Context, spec ReleaseSpec) (Release, error) {
	if spec.Tag == "" {
		return Release{}, &MissingError{Driver: "compose", Field: "tag"}
	}
	if spec.Version == "" {
		spec.Version = spec.Tag
	}
	return Release{Version: spec.Version, Tag: spec.Tag}, nil
}

// Resolve makes the spec's paths absolute, checks that the binary is an
// executable file and that the env file reads, and asks the binary its
// version ("mealsync VERSION (commit …)") unless the spec names one. The
// env file is read here once for the whole command (see envFile).
func (d *Process) Resolve(ctx context.Context, spec ReleaseSpec) (Release, error) {
	if spec.Binary == "" {
		return Release{}, &MissingError{Driver: "process", Field: "binary"}
	}
	bin, err := filepath.Abs(spec.Binary)
	if err != nil {
		return Release{}, err
	}
	if fi, err := os.Stat(bin); err == nil && fi.IsDir() {
		bin = filepath.Join(bin, "mealsync")
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		return Release{}, fmt.Errorf("%s is not an executable file", bin)
	}
	rel := Release{Binary: bin, Version: spec.Version}
	if spec.EnvFile != "" {
		if rel.EnvFile, err = filepath.Abs(spec.EnvFile); err != nil {
			return rel, err
		}
		if _, err := d.envFile(rel.EnvFile); err != nil {
			return rel, err
		}
	}
	workdir := spec.Workdir
	if workdir == "" {
		workdir = "."
	}
	if rel.Dir, err = filepath.Abs(workdir); err != nil {
		return rel, err
	}
	if rel.Version == "" {
		if rel.Version, err = d.binaryVersion(ctx, rel); err != nil {
			return rel, err
		}
	}
	return rel, nil
}

// binaryVersion runs `BINARY version` as an instance would run (its
// directory, BaseEnv and the env file) and reads the version it prints.
func (d *Process) binaryVersion(ctx context.Context, rel Release) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rel.Binary, "version")
	cmd.Dir = rel.Dir
	cmd.Env = append([]string{}, d.BaseEnv...)
	if rel.EnvFile != "" {
		vars, err := d.envFile(rel.EnvFile)
		if err != nil {
			return "", err
		}
		cmd.Env = append(cmd.Env, vars...)
	}
	out, err := cmd.Output()
	f := strings.Fields(string(out))
	if err != nil || len(f) < 2 || f[0] != "mealsync" {
		return "", &VersionError{Binary: rel.Binary, Output: strings.TrimSpace(string(out)), Err: err}
	}
	return f[1], nil
}

// PassEnv is what instances inherit from the command's environment: enough
// to run, nothing of the operator's MEALSYNC_* settings (those come from
// the release's env file).
func PassEnv(getenv func(string) string) []string {
	var out []string
	for _, k := range []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR"} {
		if v := getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}
