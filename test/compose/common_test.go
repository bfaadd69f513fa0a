package compose_test

import (
	"slices"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestEveryFileLoads runs each file through the loader with .env.example as
// its .env: schema validation, interpolation (including every ${VAR:?}) and
// the consistency check (depends_on, volumes and networks that exist).
func TestEveryFileLoads(t *testing.T) {
	wantServices := map[string][]string{
		devFile:     {"app", "db", "db-reset"},
		stagingFile: {"app", "db"},
		prodFile:    {"app", "nginx"},
	}
	for _, file := range composeFiles {
		t.Run(file, func(t *testing.T) {
			p := loadProject(t, file, exampleEnv(t))
			for _, name := range wantServices[file] {
				service(t, p, name)
			}
		})
	}
}

// TestAppHealthcheck: every app service checks itself with the binary's own
// `healthcheck` (the image has no shell or curl) on the image's timings.
func TestAppHealthcheck(t *testing.T) {
	for _, file := range composeFiles {
		t.Run(file, func(t *testing.T) {
			hc := service(t, loadProject(t, file, exampleEnv(t)), "app").HealthCheck
			if hc == nil || hc.Disable {
				t.Fatal("app has no healthcheck")
			}
			if want := (types.HealthCheckTest{"CMD", "/mealsync", "healthcheck"}); !slices.Equal(hc.Test, want) {
				t.Errorf("test = %q, want %q", hc.Test, want)
			}
			for _, d := range []struct {
				name      string
				got, want time.Duration
			}{
				{"interval", duration(hc.Interval), 30 * time.Second},
				{"timeout", duration(hc.Timeout), 3 * time.Second},
				{"start_period", duration(hc.StartPeriod), 10 * time.Second},
			} {
				if d.got != d.want {
					t.Errorf("%s = %v, want %v", d.name, d.got, d.want)
				}
			}
			if hc.Retries == nil || *hc.Retries != 3 {
				t.Errorf("retries = %v, want 3", hc.Retries)
			}
		})
	}
}

// TestEveryLongRunningServiceHasAHealthcheck: one-shot jobs excepted.
func TestEveryLongRunningServiceHasAHealthcheck(t *testing.T) {
	oneShot := map[string]bool{"db-reset": true}
	for _, file := range composeFiles {
		t.Run(file, func(t *testing.T) {
			for name, s := range loadProject(t, file, exampleEnv(t)).Services {
				if oneShot[name] {
					continue
				}
				if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 {
					t.Errorf("service %s has no healthcheck", name)
				}
			}
		})
	}
}

// TestLogRotationOnEveryService: the json-file driver with both a size cap
// and a file count, or a service's logs grow until the disk is full.
func TestLogRotationOnEveryService(t *testing.T) {
	for _, file := range composeFiles {
		t.Run(file, func(t *testing.T) {
			p := loadProject(t, file, exampleEnv(t))
			for name, s := range p.Services {
				l := s.Logging
				if l == nil || l.Driver != "json-file" {
					t.Errorf("service %s: logging driver is not json-file: %+v", name, l)
					continue
				}
				for _, opt := range []string{"max-size", "max-file"} {
					if l.Options[opt] == "" {
						t.Errorf("service %s: logging has no %s", name, opt)
					}
				}
			}
		})
	}
}
