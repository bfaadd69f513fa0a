package deploy_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/live"
	"github.com/mealsync/mealsync/internal/syncsim"
	"github.com/mealsync/mealsync/internal/testenv"
)

// Households' devices (internal/syncsim) keep editing their shared lists,
// live over WebSockets through nginx, some going offline now and then,
// while mealsyncctl deploy replaces both instances, twice: every live
// connection of an old instance is closed with 1012 and resumes on another,
// and at the end every device equals the server — nothing lost, duplicated
// or resurrected.
func TestLiveSyncAcrossDeploys(t *testing.T) {
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	env := r.envFile("good")
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "2")...)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	deployed := make(chan struct{})
	cfg := syncsim.Config{BaseURL: r.nginx.URL, Ops: 20, Until: deployed, Pause: 60 * time.Millisecond, Seed: 3,
		OfflineEvery: 10, LoseAnswerEvery: 8, Client: &http.Client{Timeout: 10 * time.Second}}
	// Accounts are made on an instance directly: nginx lets one address
	// sign in five times a minute, and every device here shares one.
	setup := cfg
	setup.BaseURL = "http://" + r.state().Instances[0].Addr
	var hs []*syncsim.Household
	for h := range 4 {
		var tokens []string
		for d := range 3 {
			tok, err := syncsim.Account(ctx, setup, fmt.Sprintf("deploy-h%d-d%d@example.com", h, d))
			if err != nil {
				t.Fatal(err)
			}
			tokens = append(tokens, tok)
		}
		hh, err := syncsim.NewHousehold(ctx, setup, fmt.Sprintf("deploy-house-%d", h), tokens)
		if err != nil {
			t.Fatal(err)
		}
		use := cfg
		if h%2 == 0 { // always online: every deploy must move its connection
			use.OfflineEvery = 0
		}
		hh.Use(use)
		hs = append(hs, hh)
	}

	var wg sync.WaitGroup
	for _, h := range hs {
		for _, d := range h.Devices {
			wg.Add(1)
			go func() { defer wg.Done(); d.Run(ctx) }()
		}
	}
	began := time.Now()
	type window struct{ from, to time.Time }
	var deploys []window
	for _, to := range []string{"v2", "v1"} {
		// Each deploy begins once every always-online device is live, so
		// that it has connections to move.
		testenv.WaitFor(t, 30*time.Second, "every always-online device to be live", func() bool { return allConnected(hs) })
		start := time.Now()
		res := r.mustRun(r.deployArgs(bins[to], env)...)
		deploys = append(deploys, window{start, time.Now()})
		t.Logf("deploy to %s took %.1fs, %v after the devices began", to, res.took.Seconds(), time.Since(began).Round(time.Millisecond))
	}
	close(deployed) // the devices stop once the deploys are done
	wg.Wait()
	r.checkConsistent(2, "v1")

	check, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	reconnects := 0
	moved := make([]int, len(deploys))
	for i, h := range hs {
		for _, p := range h.Check(check, cfg) {
			t.Errorf("%s: %s", h.ID, p)
		}
		for _, d := range h.Devices {
			reconnects += d.Reconnects
			d.Close()
			if i%2 != 0 {
				continue // goes offline by choice: its sessions end on the device's terms
			}
			// Every live connection open when a deploy began was on an
			// instance that deploy replaced: it must have been closed with
			// 1012 (resume elsewhere) before the deploy ended. A device
			// reconnecting at that moment had nothing to move.
			for k, w := range deploys {
				for _, s := range d.History() {
					if !s.Open(w.from) {
						continue
					}
					moved[k]++
					switch {
					case s.Closed.IsZero() || s.Closed.After(w.to):
						t.Errorf("%s: a live connection open when deploy %d began outlived it: it was not moved", d.Name, k+1)
					case !s.ByServer || s.Code != live.CloseRestart:
						t.Errorf("%s: deploy %d ended its live connection with close code %d (by server: %v), want %d", d.Name, k+1, s.Code, s.ByServer, live.CloseRestart)
					}
				}
			}
		}
	}
	for k, n := range moved {
		if n == 0 {
			t.Errorf("deploy %d began while no always-online device was connected: the test proved nothing about moving connections", k+1)
		}
	}
	t.Logf("%d households × %d devices through 2 deploys of 2 instances: %d reconnections; live connections moved per deploy: %v",
		len(hs), len(hs[0].Devices), reconnects, moved)
}

// allConnected reports whether every device of the always-online
// households (the even ones) has a live connection.
func allConnected(hs []*syncsim.Household) bool {
	for i, h := range hs {
		for _, d := range h.Devices {
			if i%2 == 0 && !d.Connected() {
				return false
			}
		}
	}
	return true
}
