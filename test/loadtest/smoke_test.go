// Package loadtest_test runs `mealsyncctl loadtest`'s engine briefly against
// the stack users reach — nginx with the repository's configuration, a real
// mealsync instance, PostgreSQL — as CI's smoke test of the load generator
// and of the stack under it, and checks the operator's monitor against the
// generator's own report.
package loadtest_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/monitor"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// Smoke-run size: 500 users for 20 s, as issue 11 asks of CI. Think time is
// 3 s rather than the app's 15 s so the run sends ~170 requests a second —
// enough to show a broken path — while keeping CI's CPU time modest (CI runs
// two test packages at once, and test/deploy beside this one needs its own
// share). The accounts are written to the database beforehand, sharing one
// password hash, the way --accounts takes prepared ones: 500 sign-ups would
// cost the server 500 more password hashes (~11 s of CPU), and sign-ups are
// tested in internal/loadtest and by TestCommand. The 500 sign-ins still go
// through nginx, one at a time, so they take at most one core.
const (
	smokeUsers    = 500
	smokeThink    = 3 * time.Second
	smokeRampUp   = 5 * time.Second
	smokeDuration = 20 * time.Second
)

// stack is nginx in front of one instance on a seeded PostgreSQL database.
type stack struct {
	nginx *testenv.Nginx
	inst  *testenv.Instance
}

// startStack migrates and seeds a database, gives it n accounts (returned),
// and starts an instance on it behind nginx.
func startStack(t *testing.T, n int) (stack, []loadtest.Account) {
	t.Helper()
	testenv.RequireNginx(t)
	dbURL := testdb.PostgresURL(t)
	bin := testenv.BuildMealsync(t)
	for _, sub := range []string{"migrate", "seed"} {
		cmd := exec.Command(bin, sub)
		cmd.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+dbURL, "MEALSYNC_LOG_FORMAT=json")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mealsync %s: %v\n%s", sub, err, out)
		}
	}
	accts := testenv.CreateAccounts(t, dbURL, n, auth.HashPassword)
	inst := testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: dbURL, Env: map[string]string{
		// nginx is the client the app sees; it believes nginx's
		// X-Forwarded-For, so each virtual user is the client address the
		// generator gave it.
		"MEALSYNC_TRUSTED_PROXIES": "127.0.0.1/32",
	}})
	return stack{nginx: testenv.StartNginx(t, "", []string{inst.Addr}), inst: inst}, accts
}

// TestSmokeThroughNginx is CI's load test: 500 users play the app's whole
// mix through nginx for 20 s, and not one request may fail — in the setup
// (sign-ins through nginx's limit of 5 a minute per address, each user from
// its own client address, and preferences), the ramp-up or the steady phase.
//
// In the same run it checks the monitor against the report
// (issue 11 section 3): `mealsyncctl monitor` computes request rates from the
// instance's own counters, the report from what the users received. They
// must agree, exactly over the whole run, and within the skew of two clocks
// over each 2 s interval of the steady phase.
func TestSmokeThroughNginx(t *testing.T) {
	s, accts := startStack(t, smokeUsers)
	scraper := &monitor.Scraper{Timeout: 10 * time.Second}
	targets := []monitor.Target{{Name: "app", URL: s.inst.OpsURL}}
	ctx := context.Background()

	_, before := scraper.Collect(ctx, time.Now(), targets, monitor.Counters{})
	var intervals []interval
	var prev *scrapePoint
	opts := loadtest.Options{
		Target: s.nginx.URL, Users: smokeUsers, Think: smokeThink, RampUp: smokeRampUp, Duration: smokeDuration, Accounts: accts,
		SetupConcurrency: 1,
		Seed:             11, MaxErrors: 1, // every error is a failure below; the run goes on to count them all
	}
	tick := 0
	rep, err := loadtest.Run(ctx, opts, loadtest.Hooks{OnTick: func(tk loadtest.Tick) {
		if tk.Phase != "steady" {
			return
		}
		if tick++; tick%2 == 1 && prev != nil {
			return // the monitor's default interval: 2 s
		}
		began := time.Now()
		snaps, next := scraper.Collect(ctx, tk.Time, targets, prevCounters(prev))
		p := &scrapePoint{counters: next, completed: tk.Completed, at: tk.Time, skew: time.Since(tk.Time), took: time.Since(began)}
		if prev != nil && snaps[0].RequestRate != nil {
			intervals = append(intervals, interval{from: prev, to: p, monitorRate: *snaps[0].RequestRate, over: snaps[0].Interval})
		}
		prev = p
	}})
	if err != nil {
		t.Fatalf("load test: %v", err)
	}
	after, _ := scraper.Collect(ctx, time.Now(), targets, before)

	// The smoke test.
	if rep.Outcome != loadtest.OutcomeCompleted {
		t.Errorf("outcome %s: %s", rep.Outcome, rep.Detail)
	}
	if rep.Setup.FromFile != smokeUsers || rep.Setup.SignedIn != smokeUsers {
		t.Errorf("setup: %+v", rep.Setup)
	}
	for _, a := range rep.Setup.Requests {
		if a.Errors > 0 {
			t.Errorf("setup: %d of %d %s requests failed: %+v", a.Errors, a.Requests, a.Name, a.ErrorsBy)
		}
	}
	for _, ph := range []loadtest.PhaseReport{rep.RampUp, rep.Steady} {
		for _, a := range ph.ByRequest {
			if a.Errors > 0 {
				t.Errorf("%d of %d %s requests failed: %+v", a.Errors, a.Requests, a.Name, a.ErrorsBy)
			}
		}
	}
	// ~170 req/s offered; a stack that answered under half of it is broken
	// even without errors (a busy machine slows it, not that much).
	want := float64(smokeUsers) / smokeThink.Seconds() * 0.5
	if rep.Steady.Throughput < want {
		t.Errorf("steady throughput %.1f req/s, want at least %.0f", rep.Steady.Throughput, want)
	}
	seen := map[string]bool{}
	for _, a := range rep.Steady.ByRequest {
		seen[a.Name] = true
	}
	for _, name := range []string{"browse", "search", "recipe", "recommended", "today-picks", "save", "saved", "recent",
		"plan-create", "shopping-list", "plans", "generate"} {
		if !seen[name] {
			t.Errorf("no %s request in the steady phase", name)
		}
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	t.Logf("steady: %d requests, %.1f req/s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms; setup %.1f s; generator %.1f s CPU (%.0f µs a request), %.1f KB a user",
		rep.Steady.Requests, rep.Steady.Throughput, rep.Steady.Latency.P50, rep.Steady.Latency.P95, rep.Steady.Latency.P99,
		rep.Setup.Seconds, rep.Generator.CPUSeconds, rep.Generator.CPUPerRequestMicros, rep.Generator.RSSPerUserBytes/1e3)

	// The monitor against the report, over the whole run: every request the
	// users sent reached the instance once (nginx retries only failed
	// requests, and none failed), and the monitor counted each once.
	var sent int64
	for _, a := range rep.Setup.Requests {
		sent += a.Requests
	}
	sent += rep.RampUp.Requests + rep.Steady.Requests
	snap := after[0]
	if snap.RequestRate == nil {
		t.Fatalf("the monitor could not read the instance: %s", snap.Error)
	}
	if counted := int64(math.Round(*snap.RequestRate * snap.Interval.Seconds())); counted != sent {
		t.Errorf("the monitor counted %d requests over the run, the report %d", counted, sent)
	}

	// And over each 2 s of the steady phase. Both sides measure the same
	// clock interval (the monitor is given the tick's time); they differ by
	// the requests that completed between the tick and the scrape reading
	// the counters (the scrape's skew, measured), and by requests the
	// instance had finished that the client had not yet read. Allowed: what
	// the measured skew can hold at the interval's rate, plus 10 requests.
	if len(intervals) < 4 {
		t.Fatalf("only %d monitor intervals in the steady phase", len(intervals))
	}
	for _, iv := range intervals {
		secs := iv.to.at.Sub(iv.from.at).Seconds()
		client := float64(iv.to.completed - iv.from.completed)
		server := iv.monitorRate * iv.over.Seconds()
		allow := 10 + client/secs*(iv.from.skew+iv.to.skew).Seconds()
		if math.Abs(server-client) > allow {
			t.Errorf("over %.2f s the monitor counted %.0f requests (%.1f/s), the report %.0f (%.1f/s); allowed difference %.0f",
				secs, server, iv.monitorRate, client, client/secs, allow)
		}
	}
	t.Logf("monitor vs report: %d intervals within tolerance; e.g. %s", len(intervals), intervals[len(intervals)/2])
}

type scrapePoint struct {
	counters  monitor.Counters
	completed int64
	at        time.Time
	skew      time.Duration // from the tick to the scrape's end
	took      time.Duration
}

func prevCounters(p *scrapePoint) monitor.Counters {
	if p == nil {
		return monitor.Counters{}
	}
	return p.counters
}

type interval struct {
	from, to    *scrapePoint
	monitorRate float64
	over        time.Duration
}

func (iv interval) String() string {
	secs := iv.to.at.Sub(iv.from.at).Seconds()
	return "monitor " + strconv.FormatFloat(iv.monitorRate, 'f', 1, 64) + " req/s, report " +
		strconv.FormatFloat(float64(iv.to.completed-iv.from.completed)/secs, 'f', 1, 64) + " req/s"
}
