package syncbench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/syncsim"
	"github.com/mealsync/mealsync/internal/testenv"
)

// runCatchUp makes a household on inst and writes revisions revisions to
// it, then, rounds times, times a device that knows the revision before
// them catching up: over its live connection (an app's: the token in the
// header) and with GET /api/v1/sync?since=. Each time it must get every
// revision, in order, up to the current one.
func runCatchUp(t *testing.T, inst *testenv.Instance, revisions, rounds int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	c := client()
	cfg := syncsim.Config{BaseURL: inst.URL, Client: c}
	token, err := syncsim.Account(ctx, cfg, "catch-up@example.com")
	if err != nil {
		t.Fatal(err)
	}
	h, err := syncsim.NewHousehold(ctx, cfg, "catch-up", []string{token})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	rev, err := h.Fill(ctx, c, inst.URL, revisions, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d revisions written in %v", revisions, time.Since(began).Round(time.Millisecond))
	since := rev - int64(revisions)

	var live, feed []syncsim.CatchUp
	for range rounds {
		l, err := syncsim.CatchUpLive(ctx, c, inst.URL, token, since, rev)
		if err != nil {
			t.Fatal(err)
		}
		f, err := syncsim.CatchUpFeed(ctx, c, inst.URL, token, since, rev)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []syncsim.CatchUp{l, f} {
			if got.Changes != revisions { // each revision of the fill is one change
				t.Fatalf("caught up with %d changes, want %d", got.Changes, revisions)
			}
		}
		live, feed = append(live, l), append(feed, f)
	}
	for _, r := range []struct {
		name string
		runs []syncsim.CatchUp
	}{{"live connection", live}, {"GET /sync?since=", feed}} {
		d := make([]time.Duration, len(r.runs))
		for i, run := range r.runs {
			d[i] = run.Elapsed
		}
		slices.Sort(d)
		t.Logf("%s, %d revisions behind: median %v, fastest %v, slowest %v over %d rounds; %d messages, %.0f KB",
			r.name, revisions, d[len(d)/2].Round(time.Millisecond/10), d[0].Round(time.Millisecond/10), d[len(d)-1].Round(time.Millisecond/10),
			len(d), r.runs[0].Messages, float64(r.runs[0].Bytes)/1024)
	}
	t.Logf("load average now %s", loadAverage())
}

// A device 700 revisions behind catches up over its live connection (in
// two messages: at most 500 changes each) and over the feed, on both
// databases.
func TestCatchUp(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { runCatchUp(t, startSQLite(t), 700, 2) })
	t.Run("postgres", func(t *testing.T) { runCatchUp(t, startPostgres(t, 1).instances[0], 700, 2) })
}

// TestCatchUpFigures is issue 13's catch-up benchmark, not a CI test: a
// device 10,000 revisions behind, on SQLite and on PostgreSQL.
//
//	MEALSYNC_SYNCBENCH_FIGURES=1 MEALSYNC_REQUIRE_SERVICES=1 go test -v -run CatchUpFigures -timeout 60m ./test/syncbench
//
// Knobs: MEALSYNC_SYNCBENCH_REVISIONS (10000), MEALSYNC_SYNCBENCH_ROUNDS (10).
func TestCatchUpFigures(t *testing.T) {
	figures(t)
	revisions, rounds := envInt(t, "MEALSYNC_SYNCBENCH_REVISIONS", 10000), envInt(t, "MEALSYNC_SYNCBENCH_ROUNDS", 10)
	t.Run("sqlite", func(t *testing.T) { runCatchUp(t, startSQLite(t), revisions, rounds) })
	t.Run("postgres", func(t *testing.T) { runCatchUp(t, startPostgres(t, 1).instances[0], revisions, rounds) })
}
