// Package compose_test checks the docker compose files at the repository's root
// (dev, staging, prod) and .env.example. It loads them with the Compose
// specification's own Go loader, which validates them against the schema and
// for consistency, then asserts what each environment promises. No Docker
// engine is needed.
package compose_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/mealsync/mealsync/internal/config"
)

// The compose files under test, by environment.
const (
	devFile     = "docker-compose.dev.yml"
	stagingFile = "docker-compose.staging.yml"
	prodFile    = "docker-compose.prod.yml"
)

var composeFiles = []string{devFile, stagingFile, prodFile}

// repoRoot is the repository's root: go test runs in this package's folder.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from the test's folder: %v", err)
	}
	return root
}

// readRepoFile returns a file at the repository's root.
func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exampleEnv is .env.example as it is: what an operator's first `.env` holds.
func exampleEnv(t *testing.T) string {
	t.Helper()
	return readRepoFile(t, ".env.example")
}

// loadProject loads a compose file as `docker compose -f file` would on a host
// where dotEnv is the .env beside it: the file is copied into a fresh folder
// with dotEnv written as .env, which compose reads for ${…} interpolation and
// which the services' `env_file: .env` then resolves against. The shell's own
// environment is left out so the result does not depend on who runs the test.
// Every profile is enabled, so services behind one are checked too.
func loadProject(t *testing.T, file, dotEnv string) *types.Project {
	t.Helper()
	p, err := tryLoadProject(t, file, dotEnv)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return p
}

func tryLoadProject(t *testing.T, file, dotEnv string) (*types.Project, error) {
	t.Helper()
	return tryLoadProjectProfiles(t, file, dotEnv, "*")
}

// loadProjectProfiles is loadProject with only the named profiles enabled (none:
// only the services without a profile), as `docker compose --profile P` runs it.
func loadProjectProfiles(t *testing.T, file, dotEnv string, profiles ...string) *types.Project {
	t.Helper()
	p, err := tryLoadProjectProfiles(t, file, dotEnv, profiles...)
	if err != nil {
		t.Fatalf("load %s with profiles %v: %v", file, profiles, err)
	}
	return p
}

func tryLoadProjectProfiles(t *testing.T, file, dotEnv string, profiles ...string) (*types.Project, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(readRepoFile(t, file)), 0o600); err != nil {
		t.Fatal(err)
	}
	dotEnvPath := filepath.Join(dir, ".env")
	if err := os.WriteFile(dotEnvPath, []byte(dotEnv), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, file)},
		cli.WithWorkingDirectory(dir),
		cli.WithEnvFiles(dotEnvPath),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// service returns a service of the project or fails the test.
func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	return s
}

// environment is a service's final environment: env_file merged with
// `environment:`, as the container gets it.
func environment(s types.ServiceConfig) map[string]string {
	env := make(map[string]string, len(s.Environment))
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// appConfig reads a service's environment with the server's own config
// loader, so the tests see the values the server would run with.
func appConfig(t *testing.T, s types.ServiceConfig) *config.Config {
	t.Helper()
	env := environment(s)
	cfg, err := config.Load(func(k string) string { return env[k] }, nil, io.Discard)
	if err != nil {
		t.Fatalf("service %s: the server rejects the environment compose gives it:\n%v", s.Name, err)
	}
	return cfg
}

// withValue returns a .env text with one variable's line replaced (or removed
// when value is nil).
func withValue(dotEnv, name string, value *string) string {
	var out []string
	for _, line := range strings.Split(dotEnv, "\n") {
		if strings.HasPrefix(line, name+"=") {
			if value == nil {
				continue
			}
			line = name + "=" + *value
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// duration turns a compose duration into a time.Duration (0 when unset).
func duration(d *types.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return time.Duration(*d)
}

// hasTmpfs reports whether target is a tmpfs in the service, by either syntax.
func hasTmpfs(s types.ServiceConfig, target string) bool {
	if slices.ContainsFunc(s.Tmpfs, func(t string) bool { return strings.SplitN(t, ":", 2)[0] == target }) {
		return true
	}
	return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeTmpfs && v.Target == target
	})
}
