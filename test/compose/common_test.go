package compose_test

import (
	"net"
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

// TestAppOpsListenerStaysOnTheNetwork: every app listens for operators on
// 9081 of its compose network (what Prometheus's DNS discovery scrapes; the
// default, loopback, would be unreachable from another container), and no
// file publishes that port on the host.
func TestAppOpsListenerStaysOnTheNetwork(t *testing.T) {
	for _, file := range composeFiles {
		t.Run(file, func(t *testing.T) {
			app := service(t, loadProject(t, file, exampleEnv(t)), "app")
			host, port, err := net.SplitHostPort(appConfig(t, app).OpsAddr)
			if err != nil || (host != "" && host != "0.0.0.0") || port != "9081" {
				t.Errorf("MEALSYNC_OPS_ADDR gives %q, want :9081", appConfig(t, app).OpsAddr)
			}
			for _, p := range app.Ports {
				if p.Target == 9081 {
					t.Errorf("the ops port is published on the host: %+v", p)
				}
			}
		})
	}
	if app := service(t, prodProject(t), "app"); !slices.Contains(app.Expose, "9081") {
		t.Errorf("prod app expose = %v, want 9081 for Prometheus too", app.Expose)
	}
}
