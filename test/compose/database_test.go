package compose_test

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

const databaseProfile = "database"

// databaseProfileEnv is .env.example with the database profile's two lines
// uncommented, as its comment tells an operator to.
func databaseProfileEnv(t *testing.T) string {
	t.Helper()
	env := exampleEnv(t)
	for _, line := range []string{"COMPOSE_PROFILES=database\n", "MEALSYNC_DATABASE_URL=postgres://${POSTGRES_USER}:"} {
		if !strings.Contains(env, "\n# "+line) {
			t.Fatalf(".env.example has no commented-out %q for the database profile", line)
		}
		env = strings.Replace(env, "\n# "+line, "\n"+line, 1)
	}
	return env
}

// pgbackrestConf reads deploy/postgres/pgbackrest.conf: section → option → value.
func pgbackrestConf(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "postgres", "pgbackrest.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conf := map[string]map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			conf[section] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("pgbackrest.conf: not an option in a section: %q", line)
			}
			conf[section][k] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return conf
}

// postgresSettings are the server settings of a service's `postgres -c k=v` command.
func postgresSettings(t *testing.T, s types.ServiceConfig) map[string]string {
	t.Helper()
	cmd := []string(s.Command)
	if len(cmd) == 0 || cmd[0] != "postgres" {
		t.Fatalf("service %s: command %q does not start postgres", s.Name, cmd)
	}
	settings := map[string]string{}
	for i := 1; i < len(cmd); i += 2 {
		if cmd[i] != "-c" || i+1 >= len(cmd) {
			t.Fatalf("service %s: command %q is not postgres -c k=v ...", s.Name, cmd)
		}
		k, v, _ := strings.Cut(cmd[i+1], "=")
		settings[k] = v
	}
	return settings
}

// mountAt returns the service's mount at target, or fails t.
func mountAt(t *testing.T, s types.ServiceConfig, target string) types.ServiceVolumeConfig {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == target {
			return v
		}
	}
	t.Fatalf("service %s mounts nothing at %s: %+v", s.Name, target, s.Volumes)
	return types.ServiceVolumeConfig{}
}

// TestProdDatabaseProfileIsOptIn: without the profile nothing of it runs, and
// an .env for a managed database needs no database password (compose
// interpolates every service, profile or not); the app's dependency on the
// container is optional.
func TestProdDatabaseProfileIsOptIn(t *testing.T) {
	managed := withValue(exampleEnv(t), "POSTGRES_PASSWORD", nil)
	p := loadProjectProfiles(t, prodFile, managed)
	for _, name := range []string{"postgres", "pgbackrest"} {
		if _, err := p.GetService(name); err == nil {
			t.Errorf("service %s runs without the database profile", name)
		}
	}
	// Without a password the container gets none, and the official image
	// refuses to initialise a database (not run here: no Docker engine).
	noPassword := loadProjectProfiles(t, prodFile, withValue(databaseProfileEnv(t), "POSTGRES_PASSWORD", nil), databaseProfile)
	if got := environment(service(t, noPassword, "postgres"))["POSTGRES_PASSWORD"]; got != "" {
		t.Errorf("without POSTGRES_PASSWORD in .env the container gets %q", got)
	}
	full := loadProjectProfiles(t, prodFile, databaseProfileEnv(t), databaseProfile)
	for _, name := range []string{"postgres", "pgbackrest"} {
		if s := service(t, full, name); !slices.Equal(s.Profiles, []string{databaseProfile}) {
			t.Errorf("service %s: profiles %v, want only %s", name, s.Profiles, databaseProfile)
		}
	}
	dep, ok := service(t, full, "app").DependsOn["postgres"]
	if !ok || dep.Required || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("app depends_on postgres = %+v (present %v), want an optional wait for healthy", dep, ok)
	}
}

// TestProdDatabaseProfileWiring: with the profile and the .env lines its
// comment gives, the app's database URL names the postgres service with the
// credentials and database the container creates; both database containers
// mount the same data, socket and repository at the paths pgbackrest.conf
// names; the archive settings are on the server's command line; nothing is
// published and nothing runs as root.
func TestProdDatabaseProfileWiring(t *testing.T) {
	p := loadProjectProfiles(t, prodFile, databaseProfileEnv(t), databaseProfile)
	pg := service(t, p, "postgres")
	sidecar := service(t, p, "pgbackrest")
	env := environment(pg)

	u, err := url.Parse(appConfig(t, service(t, p, "app")).DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	if u.Hostname() != "postgres" || u.Port() != "5432" || !slices.Contains(pg.Expose, "5432") ||
		u.User.Username() != env["POSTGRES_USER"] || pass != env["POSTGRES_PASSWORD"] || pass == "" ||
		strings.TrimPrefix(u.Path, "/") != env["POSTGRES_DB"] {
		t.Errorf("the app's database URL %s does not reach the postgres service as it is set up (user %q, database %q, expose %v)",
			u.Redacted(), env["POSTGRES_USER"], env["POSTGRES_DB"], pg.Expose)
	}

	settings := postgresSettings(t, pg)
	for k, want := range map[string]string{
		"archive_mode": "on", "archive_timeout": "60", "wal_level": "replica",
		"archive_command": "pgbackrest --stanza=mealsync archive-push %p",
	} {
		if settings[k] != want {
			t.Errorf("postgres -c %s=%q, want %q", k, settings[k], want)
		}
	}

	conf := pgbackrestConf(t)
	stanza, ok := conf["mealsync"]
	if !ok {
		t.Fatalf("pgbackrest.conf has no [mealsync] stanza: %v", conf)
	}
	confFile := filepath.Join(p.WorkingDir, "deploy", "postgres", "pgbackrest.conf")
	for _, s := range []types.ServiceConfig{pg, sidecar} {
		if v := mountAt(t, s, "/etc/pgbackrest/pgbackrest.conf"); v.Type != types.VolumeTypeBind || v.Source != confFile || !v.ReadOnly {
			t.Errorf("service %s: pgbackrest.conf mount %+v, want %s read-only", s.Name, v, confFile)
		}
		if v := mountAt(t, s, "/etc/pgbackrest/conf.d"); !v.ReadOnly {
			t.Errorf("service %s: conf.d is writable", s.Name)
		}
		for target, volume := range map[string]string{
			stanza["pg1-path"]:           "postgres-data",
			stanza["pg1-socket-path"]:    "postgres-run",
			conf["global"]["repo1-path"]: "pgbackrest-repo",
		} {
			if v := mountAt(t, s, target); v.Type != types.VolumeTypeVolume || v.Source != volume {
				t.Errorf("service %s: %s holds %s %q, want the volume %s", s.Name, target, v.Type, v.Source, volume)
			}
			if _, ok := p.Volumes[volume]; !ok {
				t.Errorf("volume %s is not declared", volume)
			}
		}
		if s.User != "postgres" || !slices.Equal(s.CapDrop, []string{"ALL"}) || len(s.CapAdd) != 0 {
			t.Errorf("service %s: user %q, cap_drop %v, cap_add %v; want postgres with every capability dropped", s.Name, s.User, s.CapDrop, s.CapAdd)
		}
		if len(s.Ports) != 0 {
			t.Errorf("service %s publishes %+v on the host", s.Name, s.Ports)
		}
		if s.Build == nil || s.Build.Context != filepath.Join(p.WorkingDir, "deploy", "postgres") || s.Build.Dockerfile != "Containerfile" || s.Image != pg.Image {
			t.Errorf("service %s: build %+v image %q, want deploy/postgres/Containerfile as %q", s.Name, s.Build, s.Image, pg.Image)
		}
	}
	if port := stanza["pg1-port"]; port != "5432" {
		t.Errorf("pgbackrest.conf pg1-port = %q, want the server's 5432", port)
	}
	if got := sidecar.DependsOn["postgres"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("pgbackrest depends_on postgres: %q, want healthy (stanza-create needs the server)", got)
	}
	if !slices.Equal(sidecar.Entrypoint, types.ShellCommand{"mealsync-backup-schedule"}) {
		t.Errorf("pgbackrest entrypoint = %q, want mealsync-backup-schedule", sidecar.Entrypoint)
	}
	if hc := sidecar.HealthCheck; hc == nil || !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", "mealsync-backup-schedule", "--healthy"}) {
		t.Errorf("pgbackrest healthcheck = %+v, want the schedule's own --healthy", sidecar.HealthCheck)
	}
	// The image has what the services run.
	containerfile := readRepoFile(t, "deploy/postgres/Containerfile")
	mustHave := []string{"FROM postgres:15-bookworm\n", " pgbackrest jq;", "COPY --chmod=0755 backup-schedule.sh /usr/local/bin/mealsync-backup-schedule\n", "\nUSER postgres\n"}
	for _, w := range mustHave {
		if !strings.Contains(containerfile, w) {
			t.Errorf("deploy/postgres/Containerfile lacks %q", w)
		}
	}
}

// TestProdDatabaseSecretsStayOutOfGit: the database password comes from
// .env, and the S3 repository's keys from a conf.d file git ignores.
func TestProdDatabaseSecretsStayOutOfGit(t *testing.T) {
	for _, line := range strings.Split(readRepoFile(t, prodFile), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == "POSTGRES_PASSWORD" && !strings.HasPrefix(strings.TrimSpace(v), "${POSTGRES_PASSWORD") {
			t.Errorf("%s sets POSTGRES_PASSWORD inline: %s", prodFile, line)
		}
	}
	for section, opts := range pgbackrestConf(t) {
		for k := range opts {
			if strings.Contains(k, "key") || strings.Contains(k, "pass") {
				t.Errorf("pgbackrest.conf [%s] sets %s: secrets belong in conf.d/*.conf, outside git", section, k)
			}
		}
	}
	if !strings.Contains(readRepoFile(t, ".gitignore"), "\ndeploy/postgres/conf.d/*.conf\n") {
		t.Error(".gitignore does not keep deploy/postgres/conf.d/*.conf (the S3 repository's keys) out of git")
	}
}
