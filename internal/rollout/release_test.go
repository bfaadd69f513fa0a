package rollout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// versionBinary is a stand-in "binary" whose `version` prints the version
// its environment names, as a release whose env file sets it would.
func versionBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "mealsync")
	script := "#!/bin/sh\n[ \"$1\" = version ] || exit 2\n[ -n \"$RELEASE_NAME\" ] || exit 1\necho \"mealsync $RELEASE_NAME (commit abc123)\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcessResolve(t *testing.T) {
	ctx := context.Background()
	d := &Process{Store: newStore(t), BaseEnv: []string{"PATH=" + os.Getenv("PATH")}}
	bin := versionBinary(t)
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("RELEASE_NAME=v7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()

	// A release directory names the mealsync in it; the version comes from
	// the binary, run with the env file.
	rel, err := d.Resolve(ctx, ReleaseSpec{Binary: filepath.Dir(bin), EnvFile: envFile, Workdir: work})
	if err != nil {
		t.Fatal(err)
	}
	want := Release{Version: "v7", Binary: bin, EnvFile: envFile, Dir: work}
	if rel != want {
		t.Errorf("resolved %+v, want %+v", rel, want)
	}

	// The env file is read once: the instances get what the version check
	// saw, even once the file is gone.
	if err := os.Remove(envFile); err != nil {
		t.Fatal(err)
	}
	env, err := d.environment(rel, Instance{ID: "i1"}, "i1")
	if err != nil || !slices.Contains(env, "RELEASE_NAME=v7") {
		t.Errorf("an instance's environment after the env file went: %q, %v", env, err)
	}

	// A named version is not asked for.
	if rel, err := d.Resolve(ctx, ReleaseSpec{Binary: bin, Version: "named"}); err != nil || rel.Version != "named" {
		t.Errorf("named version: %+v, %v", rel, err)
	}
	// A binary that names no version.
	var ve *VersionError
	if _, err := d.Resolve(ctx, ReleaseSpec{Binary: bin}); !errors.As(err, &ve) || ve.Binary != bin {
		t.Errorf("binary naming no version: %v, want a *VersionError", err)
	}

	var missing *MissingError
	if _, err := d.Resolve(ctx, ReleaseSpec{}); !errors.As(err, &missing) || missing.Field != "binary" {
		t.Errorf("no binary: %v, want a *MissingError for binary", err)
	}
	notExec := filepath.Join(t.TempDir(), "mealsync")
	os.WriteFile(notExec, []byte("data"), 0o644)
	if _, err := d.Resolve(ctx, ReleaseSpec{Binary: notExec, Version: "v1"}); err == nil || !strings.Contains(err.Error(), "is not an executable file") {
		t.Errorf("non-executable binary: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "env")
	os.WriteFile(bad, []byte("NOT A PAIR\n"), 0o644)
	if _, err := d.Resolve(ctx, ReleaseSpec{Binary: bin, EnvFile: bad, Version: "v1"}); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("a bad env file: %v", err)
	}
}

func TestComposeResolve(t *testing.T) {
	d := &Compose{}
	if rel, err := d.Resolve(context.Background(), ReleaseSpec{Tag: "3f2c1ab"}); err != nil || rel != (Release{Version: "3f2c1ab", Tag: "3f2c1ab"}) {
		t.Errorf("tag only: %+v, %v", rel, err)
	}
	if rel, err := d.Resolve(context.Background(), ReleaseSpec{Tag: "3f2c1ab", Version: "v1.4"}); err != nil || rel.Version != "v1.4" {
		t.Errorf("named: %+v, %v", rel, err)
	}
	var missing *MissingError
	if _, err := d.Resolve(context.Background(), ReleaseSpec{Binary: "/bin/true"}); !errors.As(err, &missing) || missing.Field != "tag" {
		t.Errorf("no tag: %v", err)
	}
}
