package compose_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/mealsync/mealsync/internal/config"
)

func TestDevDatabaseIsCheckedWithPgIsReady(t *testing.T) {
	db := service(t, loadProject(t, devFile, exampleEnv(t)), "db")
	if !strings.HasPrefix(db.Image, "postgres:") {
		t.Errorf("db image = %q, want the postgres image", db.Image)
	}
	if db.HealthCheck == nil || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("db healthcheck does not run pg_isready: %+v", db.HealthCheck)
	}
}

// TestDevSchemaIsResetBeforeTheAppStarts: the old `create-drop`. The app must
// wait for the database to be healthy and for the reset to have finished
// successfully, or it would migrate a schema that is about to be dropped.
func TestDevSchemaIsResetBeforeTheAppStarts(t *testing.T) {
	p := loadProject(t, devFile, exampleEnv(t))
	app := service(t, p, "app")
	for dep, want := range map[string]string{
		"db":       types.ServiceConditionHealthy,
		"db-reset": types.ServiceConditionCompletedSuccessfully,
	} {
		if got := app.DependsOn[dep].Condition; got != want {
			t.Errorf("app depends_on %s: condition %q, want %q", dep, got, want)
		}
	}

	reset := service(t, p, "db-reset")
	if got := reset.DependsOn["db"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("db-reset depends_on db: condition %q, want %q", got, types.ServiceConditionHealthy)
	}
	cmd := strings.Join(reset.Command, " ")
	for _, sql := range []string{"DROP SCHEMA IF EXISTS public CASCADE", "CREATE SCHEMA public"} {
		if !strings.Contains(cmd, sql) {
			t.Errorf("db-reset command %q does not %s", cmd, sql)
		}
	}
	if !slices.Contains(reset.Command, "ON_ERROR_STOP=1") {
		t.Errorf("db-reset command %q would exit 0 after a failed statement (no ON_ERROR_STOP=1)", cmd)
	}
	if reset.Restart != "" && reset.Restart != types.RestartPolicyNo {
		t.Errorf("db-reset restart = %q: a one-shot job must not be restarted", reset.Restart)
	}
	if env := environment(reset); env["PGHOST"] != "db" {
		t.Errorf("db-reset PGHOST = %q, want db", env["PGHOST"])
	}
}

func TestDevAppRunsFromSourceWithDebugLogsAndMigrations(t *testing.T) {
	app := service(t, loadProject(t, devFile, exampleEnv(t)), "app")
	if app.Build == nil || app.Build.Dockerfile != "Dockerfile" {
		t.Errorf("app is not built from the Dockerfile: %+v", app.Build)
	}
	cfg := appConfig(t, app)
	if cfg.Env != config.EnvDevelopment {
		t.Errorf("MEALSYNC_ENV = %q, want development", cfg.Env)
	}
	if !cfg.Postgres() || !strings.Contains(cfg.DatabaseURL, "@db:5432/") {
		t.Errorf("database URL %q does not name the db service", config.RedactURL(cfg.DatabaseURL))
	}
	if !cfg.MigrateOnStart {
		t.Error("MEALSYNC_MIGRATE_ON_START is not true: the reset schema would stay empty")
	}
	if cfg.LogLevel.String() != "DEBUG" {
		t.Errorf("log level = %v, want debug", cfg.LogLevel)
	}
	if err := cfg.ValidateSecrets(); err != nil {
		t.Errorf("the dev app would not start: %v", err)
	}
	if !slices.ContainsFunc(app.Ports, func(p types.ServicePortConfig) bool {
		return p.Target == 8081 && p.Published == "8081"
	}) {
		t.Errorf("dev app does not publish 8081: %+v", app.Ports)
	}
}
