package replicas_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestReplicaUnderTheLoadMix runs the load test's whole mix (browse,
// search, recipes, recommendations, saves, plans, generation, refreshes)
// against an instance given a replica, and meanwhile stops the replica,
// starts it again, and pauses its replay: not one request may fail, and an
// admin who publishes a recipe always finds it in the list at once. It
// reports the primary's CPU with the replica in rotation and without it
// (the FIGURE line; docs/BENCHMARKS.md explains the numbers).
func TestReplicaUnderTheLoadMix(t *testing.T) {
	primary, replica := startPair(t)
	bin := testenv.BuildMealsync(t)
	for _, sub := range []string{"migrate", "seed"} {
		cmd := exec.Command(bin, sub)
		cmd.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+dbURL(primary), "MEALSYNC_LOG_FORMAT=json")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mealsync %s: %v\n%s", sub, err, out)
		}
	}
	const users = 150
	accts := testenv.CreateAccounts(t, dbURL(primary), users, auth.HashPassword)
	name := fmt.Sprintf("127.0.0.1:%d", replica.Port)
	inst := testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: dbURL(primary), Env: map[string]string{
		"MEALSYNC_DATABASE_REPLICA_URLS":    dbURL(replica),
		"MEALSYNC_REPLICA_MAX_LAG":          "1s",
		"MEALSYNC_CATALOGUE_VERSION_TTL":    "200ms",
		"MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0",
	}})
	m := &scraper{url: inst.OpsURL + "/actuator/prometheus"}
	inRotation := func(want float64) func(metrics) bool {
		return func(v metrics) bool { return v[`mealsync_db_replica_in_rotation{replica="`+name+`"}`] == want }
	}
	m.waitFor(t, "the replica in rotation", inRotation(1))
	admin := signUpAdmin(t, inst.URL, primary)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	steady := make(chan struct{})
	type result struct {
		rep *loadtest.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := loadtest.Run(ctx, loadtest.Options{
			Target: inst.URL, Users: users, Think: time.Second, RampUp: 3 * time.Second, Duration: 5 * time.Minute,
			Accounts: accts, SetupConcurrency: 2, Seed: 14, MaxErrors: 1,
		}, loadtest.Hooks{OnTick: func(tk loadtest.Tick) {
			if tk.Phase == "steady" {
				select {
				case <-steady:
				default:
					close(steady)
				}
			}
		}})
		done <- result{rep, err}
	}()
	select {
	case <-steady:
	case r := <-done:
		t.Fatalf("the load test ended before its steady phase: %v %+v", r.err, r.rep)
	}

	// The same load, with the replica in rotation and without it.
	with := measurePrimary(t, m, primary, 8*time.Second)
	replica.Stop(t, "fast")
	m.waitFor(t, "the stopped replica out of rotation", inRotation(0))
	without := measurePrimary(t, m, primary, 8*time.Second)
	mustList(t, inst.URL, admin, "while the replica is down")
	replica.Start(t)
	m.waitFor(t, "the restarted replica back in rotation", inRotation(1))

	// Replay paused: the replica falls behind and leaves; an admin's
	// recipe is listed at once all along.
	replicaDB := replica.DB(t, "postgres")
	if _, err := replicaDB.Exec("SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "the paused replica out of rotation", func(v metrics) bool {
		mustList(t, inst.URL, admin, "with the replica's replay paused")
		return inRotation(0)(v)
	})
	if _, err := replicaDB.Exec("SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	m.waitFor(t, "the replica back after replaying", inRotation(1))
	mustList(t, inst.URL, admin, "once the replica is back")

	stop()
	r := <-done
	if !errors.Is(r.err, loadtest.ErrInterrupted) { // stopped here, as planned
		t.Fatalf("load test: %v", r.err)
	}
	for _, a := range r.rep.Setup.Requests {
		if a.Errors > 0 {
			t.Errorf("setup: %d of %d %s requests failed: %+v", a.Errors, a.Requests, a.Name, a.ErrorsBy)
		}
	}
	kinds := map[string]bool{}
	for _, ph := range []loadtest.PhaseReport{r.rep.RampUp, r.rep.Steady} {
		for _, a := range ph.ByRequest {
			kinds[a.Name] = true
			if a.Errors > 0 {
				t.Errorf("%d of %d %s requests failed: %+v", a.Errors, a.Requests, a.Name, a.ErrorsBy)
			}
		}
	}
	for _, k := range []string{"browse", "search", "recipe", "recommended", "today-picks", "save", "plan-create", "generate"} {
		if !kinds[k] {
			t.Errorf("no %s request during the run: the mix did not cover the catalogue's readers", k)
		}
	}
	t.Logf("FIGURE replica under the load mix: %d requests, %.0f req/s, p95 %.1f ms, 0 errors; primary PostgreSQL CPU %.0f µs a request with the replica in rotation (catalogue feed %.1f queries/s to the replica), %.0f µs without it (%.1f feed queries/s to the primary)",
		r.rep.Steady.Requests, r.rep.Steady.Throughput, r.rep.Steady.Latency.P95,
		with.cpuPerRequest(), with.replicaFeed, without.cpuPerRequest(), without.primaryFeed)
}

// primaryLoad is the primary PostgreSQL's CPU over a window of the load,
// against the requests the instance answered in it and the catalogue feed's
// queries by target.
type primaryLoad struct {
	cpuSeconds, requests     float64
	primaryFeed, replicaFeed float64 // queries a second
}

func (p primaryLoad) cpuPerRequest() float64 { return p.cpuSeconds / p.requests * 1e6 }

func measurePrimary(t *testing.T, m *scraper, primary *testdb.Server, window time.Duration) primaryLoad {
	t.Helper()
	cpu0, v0, t0 := testenv.TreeCPU(primary.PID()), m.read(t), time.Now()
	deadline := time.NewTimer(window)
	<-deadline.C // the window is the measurement, not a wait for a condition
	cpu1, v1, secs := testenv.TreeCPU(primary.PID()), m.read(t), time.Since(t0).Seconds()
	feed := func(v metrics, primary bool) (n float64) {
		for k, x := range v {
			if strings.HasPrefix(k, `mealsync_db_catalogue_reads_total{target="`) && (k == `mealsync_db_catalogue_reads_total{target="primary"}`) == primary {
				n += x
			}
		}
		return n
	}
	return primaryLoad{
		cpuSeconds:  cpu1 - cpu0,
		requests:    sumPrefix(v1, "http_server_requests_seconds_count") - sumPrefix(v0, "http_server_requests_seconds_count"),
		primaryFeed: (feed(v1, true) - feed(v0, true)) / secs,
		replicaFeed: (feed(v1, false) - feed(v0, false)) / secs,
	}
}

func sumPrefix(v metrics, prefix string) (n float64) {
	for k, x := range v {
		if strings.HasPrefix(k, prefix+"{") || k == prefix {
			n += x
		}
	}
	return n
}

// mustList publishes a recipe as the admin and fails unless the list has it
// at once: the instance's own write is never read from a replica's past.
func mustList(t *testing.T, base, admin, when string) {
	t.Helper()
	unique := fmt.Sprintf("Load Mix Stew %d", time.Now().UnixNano())
	publish(t, base, admin, unique)
	if !listed(t, base, unique) {
		t.Fatalf("%s: %q, just published, is not in the list: a read went to a replica's past", when, unique)
	}
}
