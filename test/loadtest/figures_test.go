package loadtest_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/loadtest"
)

// TestLoadFigures is a longer run for docs/BENCHMARKS.md, not a CI test: it
// runs only with MEALSYNC_LOADTEST_FIGURES=1. The same stack as the smoke
// test (nginx, one instance, PostgreSQL with the starter catalogue), at the
// app's own think time. Knobs, all optional:
//
//	MEALSYNC_LOADTEST_USERS     virtual users (2000)
//	MEALSYNC_LOADTEST_THINK     mean think time (15s)
//	MEALSYNC_LOADTEST_RAMP_UP   ramp-up (30s)
//	MEALSYNC_LOADTEST_DURATION  steady phase (60s)
//	MEALSYNC_LOADTEST_HTML      write the HTML report to this file
//
// It logs the text report, which carries the generator's own CPU and memory
// per user.
func TestLoadFigures(t *testing.T) {
	if os.Getenv("MEALSYNC_LOADTEST_FIGURES") != "1" {
		t.Skip("set MEALSYNC_LOADTEST_FIGURES=1 to run (a benchmark, not a test)")
	}
	users := envInt(t, "MEALSYNC_LOADTEST_USERS", 2000)
	s, accts := startStack(t, users)
	rep, err := loadtest.Run(context.Background(), loadtest.Options{
		Target: s.nginx.URL, Users: users, Accounts: accts, Seed: 11, MaxErrors: 1,
		Think:    envDuration(t, "MEALSYNC_LOADTEST_THINK", 15*time.Second),
		RampUp:   envDuration(t, "MEALSYNC_LOADTEST_RAMP_UP", 30*time.Second),
		Duration: envDuration(t, "MEALSYNC_LOADTEST_DURATION", time.Minute),
	}, loadtest.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	if p := os.Getenv("MEALSYNC_LOADTEST_HTML"); p != "" {
		if err := rep.WriteHTMLFile(p); err != nil {
			t.Fatal(err)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}
