// Package sync_test proves live sync with real processes: households'
// devices (internal/syncsim) edit shared lists through the repository's
// nginx in front of two MealSync instances on one PostgreSQL, while an
// instance is killed and the instances are replaced, and at the end every
// device equals the server — nothing lost, duplicated or resurrected.
package sync_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/syncsim"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// households makes n households of m devices each, all through base.
func households(t *testing.T, ctx context.Context, cfg syncsim.Config, n, m int) []*syncsim.Household {
	t.Helper()
	var out []*syncsim.Household
	for h := range n {
		var tokens []string
		for d := range m {
			tok, err := syncsim.Account(ctx, cfg, fmt.Sprintf("h%d-d%d@example.com", h, d))
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok)
		}
		hh, err := syncsim.NewHousehold(ctx, cfg, fmt.Sprintf("house-%d", h), tokens)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hh)
	}
	return out
}

// play runs every device, calling during (if any) meanwhile, then checks.
func play(t *testing.T, ctx context.Context, cfg syncsim.Config, hs []*syncsim.Household, during func()) {
	t.Helper()
	var wg sync.WaitGroup
	for _, h := range hs {
		for _, d := range h.Devices {
			wg.Add(1)
			go func() {
				defer wg.Done()
				began := time.Now()
				d.Run(ctx)
				t.Logf("%s ran its operations in %v", d.Name, time.Since(began).Round(time.Millisecond))
			}()
		}
	}
	if during != nil {
		during()
	}
	wg.Wait()
	check, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	reconnects := 0
	for _, h := range hs {
		for _, p := range h.Check(check, cfg) {
			t.Errorf("%s: %s", h.ID, p)
		}
		for _, d := range h.Devices {
			reconnects += d.Reconnects
			d.Close()
		}
	}
	t.Logf("%d households × %d devices, %d operations each: %d reconnections", len(hs), len(hs[0].Devices), cfg.Ops, reconnects)
}

var env = map[string]string{
	"MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0",
	"MEALSYNC_JWT_SECRET":               "sync-test-secret-shared-by-every-instance",
	"MEALSYNC_TRUSTED_PROXIES":          "127.0.0.1/32",
	"MEALSYNC_SHUTDOWN_DELAY":           "1s",
}

// One instance, SQLite: the simulator's rules hold with nothing failing.
func TestDevicesConvergeOnOneInstance(t *testing.T) {
	inst := testenv.StartMealsync(t, testenv.Options{Env: env})
	cfg := syncsim.Config{BaseURL: inst.URL, Ops: 30, Pause: 5 * time.Millisecond, Seed: 1, OfflineEvery: 8, LoseAnswerEvery: 6}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	play(t, ctx, cfg, households(t, ctx, cfg, 3, 3), nil)
}

// Two instances behind nginx on PostgreSQL: devices on either see each
// other's changes (through the database's notifications), through a
// SIGKILL of one instance and a restart of each in turn.
func TestDevicesConvergeAcrossInstancesThroughFailures(t *testing.T) {
	url := testdb.PostgresURL(t)
	bin := testenv.BuildMealsync(t)
	e := map[string]string{"MEALSYNC_MIGRATE_ON_START": "true"}
	for k, v := range env {
		e[k] = v
	}
	start := func() *testenv.Instance {
		return testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: url, Env: e})
	}
	a, b := start(), start()
	nginx := testenv.StartNginx(t, "", []string{a.Addr, b.Addr})
	cfg := syncsim.Config{BaseURL: nginx.URL, Ops: 40, Pause: 20 * time.Millisecond, Seed: 2, OfflineEvery: 10, LoseAnswerEvery: 8,
		Client: &http.Client{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Accounts are made on an instance directly: nginx lets one address sign
	// in five times a minute, and every device here shares one.
	setup := cfg
	setup.BaseURL = a.URL
	hs := households(t, ctx, setup, 3, 3)
	for _, h := range hs {
		h.Use(cfg)
	}
	play(t, ctx, cfg, hs, func() {
		// Mid-run: one instance is killed outright, a new one takes its
		// place; then the other is stopped gracefully (1012 to its devices)
		// and replaced too. nginx passes over the dead one by itself.
		time.Sleep(300 * time.Millisecond) // let the devices get going: the schedule of the fault, not synchronisation
		a.Kill()
		c := start()
		nginx.WriteUpstream(t, []string{c.Addr, b.Addr})
		nginx.Reload(t)
		time.Sleep(300 * time.Millisecond) // the schedule of the second fault
		d := start()
		nginx.WriteUpstream(t, []string{c.Addr, d.Addr})
		nginx.Reload(t)
		if err := b.Stop(); err != nil && !strings.Contains(err.Error(), "signal") {
			t.Errorf("stopping b: %v", err)
		}
	})
}
