package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/rollout"
)

// ctl runs the CLI in-process.
func ctl(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	err = run(context.Background(), append([]string{"mealsyncctl"}, args...), getenv, &out, &errb)
	return out.String(), errb.String(), err
}

func TestHelpForEveryCommandAndFlag(t *testing.T) {
	out, _, err := ctl(t, nil, "help")
	if err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(out, "mealsyncctl "+name) {
			t.Errorf("help does not list %s", name)
		}
	}
	flags := map[string][]string{
		"deploy":   {"-binary", "-env-file", "-tag", "-instances", "-verify", "-ready-timeout", "-driver", "-state-dir", "-nginx-conf", "-upstream-file", "-compose-file", "-stop-timeout", "Examples:"},
		"rollback": {"-verify", "-state-dir", "previous"},
		"scale":    {"-verify", "scale N"},
		"status":   {"-json", "interrupted", "dead"},
		"repair":   {"-dry-run", "-verify", "-state-dir", "dead", "stray"},
		"history":  {"-n", "-json", "rolled back"},
	}
	for name, want := range flags {
		for _, args := range [][]string{{name, "-h"}, {"help", name}} {
			out, _, err := ctl(t, nil, args...)
			if err != nil {
				t.Errorf("%v: %v", args, err)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("%v does not mention %q:\n%s", args, w, out)
				}
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"deploy", "--state-dir", dir}, // the process driver needs --binary
		{"deploy", "--state-dir", dir, "--driver", "swarm"}, // no such driver
		{"deploy", "--state-dir", dir, "--driver", "compose"},
		{"scale", "--state-dir", dir},
		{"scale", "zero", "--state-dir", dir},
		{"repair", "now", "--state-dir", dir},
		{"deploy", "--no-such-flag"},
	} {
		_, _, err := ctl(t, nil, args...)
		var u usageError
		if !errors.As(err, &u) {
			t.Errorf("%v: %v, want a usage error (exit 2)", args, err)
		}
	}
	if _, _, err := ctl(t, nil, "rollback", "--state-dir", dir); err == nil || !strings.Contains(err.Error(), "no previous release") {
		t.Errorf("rollback with no history: %v", err)
	}
	for _, cmd := range [][]string{{"status"}, {"repair", "--dry-run"}} {
		out, _, err := ctl(t, nil, append(cmd, "--state-dir", filepath.Join(dir, "none"))...)
		if err != nil || !strings.Contains(out, "nothing deployed yet") {
			t.Errorf("%s of an empty state dir: %q %v", cmd, out, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none")); !os.IsNotExist(err) {
		t.Errorf("looking at an empty state dir created it: %v", err)
	}
}

// TestComposeDriverThroughTheCLI drives `mealsyncctl --driver compose`
// against the fake docker program (internal/rollout/testdata/fakedocker) on
// PATH: adopt the containers `docker compose up` started, deploy a tag,
// fail a bad one, roll back. The real thing needs a Docker engine.
func TestComposeDriverThroughTheCLI(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "docker"), "./internal/rollout/testdata/fakedocker")
	build.Dir = "../.."
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build fakedocker: %v\n%s", err, b)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_DOCKER_DIR", t.TempDir())

	project := t.TempDir()
	compose := filepath.Join(project, "docker-compose.prod.yml")
	os.WriteFile(compose, []byte("services: {}\n"), 0o644)
	os.MkdirAll(filepath.Join(project, "nginx"), 0o755)
	repoUpstream, _ := os.ReadFile("../../nginx/upstream.conf")
	os.WriteFile(filepath.Join(project, "nginx", "upstream.conf"), repoUpstream, 0o644)
	up := exec.Command("docker", "compose", "-f", compose, "up", "-d", "--no-deps", "--no-recreate", "--scale", "app=1", "app")
	up.Env = append(os.Environ(), "MEALSYNC_TAG=abc123")
	if b, err := up.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	t.Chdir(project) // the deploy workflow runs from the project directory
	env := map[string]string{"MEALSYNCCTL_STATE_DIR": filepath.Join(project, ".mealsyncctl")}
	fast := []string{"--verify", "300ms", "--poll", "50ms", "--ready-timeout", "2s"}

	out, errOut, err := ctl(t, env, append([]string{"deploy", "--driver", "compose", "--tag", "def456"}, fast...)...)
	if err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, out, errOut)
	}
	if !strings.Contains(out, "adopted 1 running instance(s) of release abc123") || !strings.Contains(out, "deploy of def456 succeeded") {
		t.Errorf("deploy output:\n%s", out)
	}

	// Flags are remembered: the next commands need none of them.
	out, _, err = ctl(t, env, append([]string{"deploy", "--tag", "bad-never"}, fast...)...)
	var f *rollout.Failure
	if !errors.As(err, &f) || f.Step != rollout.StepReady {
		t.Fatalf("bad deploy: %v\n%s", err, out)
	}

	out, _, err = ctl(t, env, append([]string{"rollback"}, fast...)...)
	if err != nil || !strings.Contains(out, "rollback of abc123 succeeded") {
		t.Fatalf("rollback: %v\n%s", err, out)
	}

	out, _, err = ctl(t, env, "status", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Current    rollout.Release
		Consistent bool
		Instances  []struct{ Health string }
		Upstream   struct{ Servers []string }
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Current.Tag != "abc123" || !s.Consistent || len(s.Instances) != 1 || s.Instances[0].Health != "ready" || len(s.Upstream.Servers) != 1 {
		t.Errorf("status after rollback: %s", out)
	}

	out, _, _ = ctl(t, env, "history")
	for _, want := range []string{"deploy    def456", "succeeded", "rolled back", "rollback  abc123"} {
		if !strings.Contains(out, want) {
			t.Errorf("history lacks %q:\n%s", want, out)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(project, ".mealsyncctl", "metrics.prom"))
	for _, want := range []string{`mealsync_deploys_total{outcome="succeeded"} 2`, `mealsync_deploys_total{outcome="rolled_back"} 1`, `mealsync_release_info{version="abc123"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics.prom lacks %q:\n%s", want, metrics)
		}
	}
}

func TestSecondCommandIsRefusedWhileOneRuns(t *testing.T) {
	dir := t.TempDir()
	store, err := rollout.NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := store.Lock("deploy")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	bin, _ := os.Executable() // any executable file will do: the lock is checked first
	for _, args := range [][]string{
		{"deploy", "--state-dir", dir, "--binary", bin, "--version", "v9"},
		{"scale", "2", "--state-dir", dir},
		{"rollback", "--state-dir", dir},
		{"repair", "--state-dir", dir},
	} {
		_, _, err := ctl(t, nil, args...)
		if !errors.Is(err, rollout.ErrLocked) || !strings.Contains(err.Error(), "deploy since") {
			t.Errorf("%v while locked: %v", args, err)
		}
	}
}
