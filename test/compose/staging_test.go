package compose_test

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/mealsync/mealsync/internal/config"
)

// TestStagingDatabaseKeepsItsData: a named volume declared at the top level
// (so `down` keeps it) holds PostgreSQL's data directory.
func TestStagingDatabaseKeepsItsData(t *testing.T) {
	p := loadProject(t, stagingFile, exampleEnv(t))
	db := service(t, p, "db")
	var volume string
	for _, v := range db.Volumes {
		if v.Target == "/var/lib/postgresql/data" {
			if v.Type != types.VolumeTypeVolume {
				t.Fatalf("PostgreSQL's data is on a %s mount, want a named volume", v.Type)
			}
			volume = v.Source
		}
	}
	if volume == "" {
		t.Fatal("nothing is mounted at /var/lib/postgresql/data: the data dies with the container")
	}
	if _, declared := p.Volumes[volume]; !declared {
		t.Errorf("volume %q is not declared at the top level", volume)
	}
	if db.HealthCheck == nil || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("db healthcheck does not run pg_isready: %+v", db.HealthCheck)
	}
	if got := service(t, p, "app").DependsOn["db"].Condition; got != types.ServiceConditionHealthy {
		t.Errorf("app depends_on db: condition %q, want %q", got, types.ServiceConditionHealthy)
	}
}

func TestStagingRestartsUnlessStopped(t *testing.T) {
	for name, s := range loadProject(t, stagingFile, exampleEnv(t)).Services {
		if s.Restart != types.RestartPolicyUnlessStopped {
			t.Errorf("service %s: restart = %q, want unless-stopped", name, s.Restart)
		}
	}
}

// TestStagingRunsThePublishedImageByTag: the tag is required, so staging
// never silently runs whatever `latest` happens to be.
func TestStagingRunsThePublishedImageByTag(t *testing.T) {
	env := exampleEnv(t)
	tag := "3f2a9c1"
	app := service(t, loadProject(t, stagingFile, withValue(env, "MEALSYNC_TAG", &tag)), "app")
	if app.Build != nil {
		t.Error("staging builds the app instead of running the published image")
	}
	if !strings.HasSuffix(app.Image, ":"+tag) {
		t.Errorf("image = %q, want the tag %s", app.Image, tag)
	}

	_, err := tryLoadProject(t, stagingFile, withValue(env, "MEALSYNC_TAG", nil))
	if err == nil || !strings.Contains(err.Error(), "MEALSYNC_TAG") {
		t.Errorf("loading without MEALSYNC_TAG: err = %v, want an error naming MEALSYNC_TAG", err)
	}
}

func TestStagingAppMigratesItsOwnDatabaseAndLogsJSON(t *testing.T) {
	app := service(t, loadProject(t, stagingFile, exampleEnv(t)), "app")
	if len(app.EnvFiles) == 0 {
		t.Error("app has no env_file: its secrets would have to be written into the compose file")
	}
	cfg := appConfig(t, app)
	if cfg.Env != config.EnvStaging {
		t.Errorf("MEALSYNC_ENV = %q, want staging", cfg.Env)
	}
	// .env.example's production URL must not leak into staging: the
	// `environment:` entry, built from POSTGRES_*, wins over the env_file.
	if !strings.Contains(cfg.DatabaseURL, "@db:5432/") {
		t.Errorf("database URL %q does not name the staging db service", config.RedactURL(cfg.DatabaseURL))
	}
	if !cfg.MigrateOnStart {
		t.Error("MEALSYNC_MIGRATE_ON_START is not true: staging would refuse to start after a schema change")
	}
	if cfg.LogFormat != "json" {
		t.Errorf("log format = %q, want json", cfg.LogFormat)
	}
}
