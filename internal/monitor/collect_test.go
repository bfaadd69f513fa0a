package monitor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	listRoute   = "GET /api/v1/recipes"
	createRoute = "POST /api/v1/meal-plans"
)

func TestCollectComputesTheIntervalFromTwoScrapes(t *testing.T) {
	started := t0.Add(-(3*time.Hour + 5*time.Minute))
	inst := newFakeInstance(t, "1.4.0", started, 2, 10)
	// Before the first scrape: a slow past that must not leak into the
	// interval's figures (cumulatively its p95 would be in the 2.5-5 s bucket).
	inst.observe(listRoute, "200", 3, 1000)
	inst.observe(listRoute, "500", 3, 200)

	s := &Scraper{}
	targets := []Target{inst.target("i1")}
	first, base := s.Collect(context.Background(), t0, targets, Counters{})
	f := first[0]
	if f.Error != "" || !f.Ready || f.Version != "1.4.0" || f.Commit != "c0ffee1.4.0" {
		t.Fatalf("first scrape = %+v", f)
	}
	if f.RequestRate != nil || f.P95 != nil || f.ErrorRatio != nil {
		t.Fatalf("first scrape has rates without a baseline: %s %s %s", show(f.RequestRate), show(f.P95), show(f.ErrorRatio))
	}
	if f.Uptime == nil || *f.Uptime != 3*time.Hour+5*time.Minute {
		t.Fatalf("uptime = %v, want 3h5m", f.Uptime)
	}
	if f.DBInUse == nil || *f.DBInUse != 2 || f.DBMax == nil || *f.DBMax != 10 {
		t.Fatalf("db = %v/%v, want 2/10", f.DBInUse, f.DBMax)
	}

	// The interval: 100 requests over 2 s on two routes, 5 of them 5xx.
	inst.observe(listRoute, "200", 0.003, 86) // le 0.005
	inst.observe(createRoute, "500", 0.004, 4)
	inst.observe(listRoute, "503", 0.004, 1)
	inst.observe(listRoute, "200", 0.22, 9) // le 0.25
	second, _ := s.Collect(context.Background(), t0.Add(2*time.Second), targets, base)
	g := second[0]
	if g.RequestRate == nil || !near(*g.RequestRate, 50) {
		t.Errorf("rate = %s req/s, want 100 requests / 2 s = 50", show(g.RequestRate))
	}
	if g.ErrorRatio == nil || !near(*g.ErrorRatio, 0.05) {
		t.Errorf("error ratio = %s, want 5/100", show(g.ErrorRatio))
	}
	// By hand, as histogram_quantile(0.95, ...) does it: rank 0.95*100 = 95;
	// 91 requests are ≤ 0.2 s and 100 ≤ 0.25 s, so the 95th is the 4th of
	// the 9 in (0.2, 0.25]: 0.2 + 0.05 * 4/9.
	if want := 0.2 + 0.05*4/9; g.P95 == nil || !near(*g.P95, want) {
		t.Errorf("p95 = %s, want %v", show(g.P95), want)
	}
	if g.Restarted || g.Interval != 2*time.Second {
		t.Errorf("restarted = %v, interval = %v", g.Restarted, g.Interval)
	}
}

func TestCollectIdleInstanceHasARateButNoLatency(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Minute), 0, 4)
	inst.observe(listRoute, "200", 0.01, 5)
	s := &Scraper{}
	targets := []Target{inst.target("i1")}
	_, base := s.Collect(context.Background(), t0, targets, Counters{})
	snaps, _ := s.Collect(context.Background(), t0.Add(2*time.Second), targets, base)
	g := snaps[0]
	if g.RequestRate == nil || *g.RequestRate != 0 || g.P95 != nil || g.ErrorRatio != nil || g.Error != "" {
		t.Fatalf("idle interval: rate %s, p95 %s, 5xx %s, error %q; want 0, unknown, unknown, none",
			show(g.RequestRate), show(g.P95), show(g.ErrorRatio), g.Error)
	}
}

func TestCollectFreshInstanceCountsItsFirstRequests(t *testing.T) {
	// No request yet: client_golang exposes no request histogram at all.
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Second), 0, 4)
	s := &Scraper{}
	targets := []Target{inst.target("i1")}
	first, base := s.Collect(context.Background(), t0, targets, Counters{})
	if first[0].Error != "" {
		t.Fatalf("a fresh instance is not an error: %q", first[0].Error)
	}
	inst.observe(listRoute, "200", 0.01, 5)
	snaps, _ := s.Collect(context.Background(), t0.Add(2*time.Second), targets, base)
	if g := snaps[0]; g.RequestRate == nil || !near(*g.RequestRate, 2.5) || g.Restarted {
		t.Fatalf("rate %s restarted %v, want 5 / 2 s = 2.5 and no restart", show(g.RequestRate), g.Restarted)
	}
}

func TestCollectKeepsTheBaselineAcrossAFailedScrape(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 0, 4)
	s := &Scraper{}
	targets := []Target{inst.target("i1")}
	_, base := s.Collect(context.Background(), t0, targets, Counters{})
	inst.observe(listRoute, "200", 0.01, 10)
	inst.broken.Store(true)
	failed, base := s.Collect(context.Background(), t0.Add(2*time.Second), targets, base)
	if g := failed[0]; g.Error != "metrics: HTTP 500" || !g.Ready || g.RequestRate != nil {
		t.Fatalf("failed scrape: error %q ready %v rate %s", g.Error, g.Ready, show(g.RequestRate))
	}
	inst.broken.Store(false)
	inst.observe(listRoute, "200", 0.01, 10)
	snaps, _ := s.Collect(context.Background(), t0.Add(4*time.Second), targets, base)
	if g := snaps[0]; g.RequestRate == nil || !near(*g.RequestRate, 5) || g.Interval != 4*time.Second {
		t.Fatalf("rate %s over %v, want 20 requests / 4 s = 5", show(g.RequestRate), g.Interval)
	}
}

func TestCollectCounterReset(t *testing.T) {
	for _, tc := range []struct {
		name           string
		before, after  int
		newStartTime   bool
		wantRate       float64
		wantRestarted  bool
		wantUptimeSecs float64
	}{
		// The counters went back: whatever the start time says, the new
		// process's count is the interval's increase, never a negative rate.
		{name: "counters went down", before: 1000, after: 7, wantRate: 3.5, wantRestarted: true, wantUptimeSecs: 60},
		// The new process already served more than the old one had: only
		// the changed start time reveals the restart (else 4 / 2 s = 2).
		{name: "start time changed", before: 3, after: 7, newStartTime: true, wantRate: 3.5, wantRestarted: true, wantUptimeSecs: 1},
		{name: "no restart", before: 3, after: 7, wantRate: 2, wantUptimeSecs: 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := newFakeInstance(t, "1.4.0", t0.Add(-58*time.Second), 1, 4)
			inst.observe(listRoute, "200", 0.01, tc.before)
			s := &Scraper{}
			targets := []Target{inst.target("i1")}
			_, base := s.Collect(context.Background(), t0, targets, Counters{})

			if tc.before > tc.after || tc.newStartTime {
				started := t0.Add(-58 * time.Second)
				if tc.newStartTime {
					started = t0.Add(time.Second)
				}
				inst.restart(started)
				inst.observe(listRoute, "200", 0.01, tc.after)
			} else {
				inst.observe(listRoute, "200", 0.01, tc.after-tc.before)
			}
			snaps, _ := s.Collect(context.Background(), t0.Add(2*time.Second), targets, base)
			g := snaps[0]
			if g.RequestRate == nil || !near(*g.RequestRate, tc.wantRate) {
				t.Errorf("rate = %s, want %v", show(g.RequestRate), tc.wantRate)
			}
			if g.Restarted != tc.wantRestarted {
				t.Errorf("restarted = %v, want %v", g.Restarted, tc.wantRestarted)
			}
			// All in the (0.005, 0.01] bucket: 0.005 + 0.005 * 0.95.
			if g.P95 == nil || !near(*g.P95, 0.00975) {
				t.Errorf("p95 = %s, want 0.00975", show(g.P95))
			}
			if g.Uptime == nil || g.Uptime.Seconds() != tc.wantUptimeSecs {
				t.Errorf("uptime = %v, want %vs", g.Uptime, tc.wantUptimeSecs)
			}
		})
	}
}

func TestCollectUnreadableInstancesAreRows(t *testing.T) {
	good := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 1, 4)

	// Accepts the connection, never answers (a hung process).
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(hang) })

	// Answers, but is not MealSync (a wrong --targets entry).
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)

	// Answers 200 with a web page to everything (a wrong port: the proxy).
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>Welcome to nginx!</html>\n"))
	}))
	t.Cleanup(page.Close)

	// Shutting down: readiness DOWN, everything else still served.
	draining := newFakeInstance(t, "1.3.9", t0.Add(-time.Hour), 0, 4)
	draining.ready.Store(false)

	targets := []Target{
		good.target("good"),
		{Name: "gone", URL: closedURL(t)},
		{Name: "hung", URL: slow.URL},
		{Name: "other", URL: other.URL},
		{Name: "nohost", URL: "http://mealsync-does-not-exist.invalid:8081"},
		draining.target("draining"),
		{Name: "page", URL: page.URL},
	}
	s := &Scraper{Timeout: 300 * time.Millisecond}
	start := time.Now()
	snaps, _ := s.Collect(context.Background(), t0, targets, Counters{})
	// Scraped concurrently: one timeout's worth, not one per instance.
	if took := time.Since(start); took > 3*s.Timeout {
		t.Errorf("Collect took %v with a %v timeout: instances not scraped concurrently", took, s.Timeout)
	}
	want := []struct {
		name, err string
		ready     bool
	}{
		{"good", "", true},
		{"gone", "unreachable: connection refused", false},
		{"hung", "unreachable: timeout after 300ms", false},
		{"other", "readiness: HTTP 404; info: HTTP 404; metrics: HTTP 404", false},
		{"nohost", "unreachable: no such host mealsync-does-not-exist.invalid", false},
		{"draining", "", false},
		{"page", "readiness: HTTP 200, not an actuator health answer; info: not JSON: invalid character '<' looking for beginning of value; metrics: ", false},
	}
	if len(snaps) != len(want) {
		t.Fatalf("%d snapshots for %d targets", len(snaps), len(want))
	}
	for i, w := range want {
		g := snaps[i]
		if g.Name != w.name || g.Ready != w.ready {
			t.Errorf("row %d = %s ready=%v, want %s ready=%v", i, g.Name, g.Ready, w.name, w.ready)
		}
		if w.name == "nohost" && strings.HasPrefix(g.Error, "unreachable: ") {
			// Some resolvers answer "server misbehaving" instead of NXDOMAIN.
			continue
		}
		if w.name == "page" && strings.HasPrefix(g.Error, w.err) {
			continue // then the text parser's own words
		}
		if g.Error != w.err {
			t.Errorf("%s: error = %q, want %q", w.name, g.Error, w.err)
		}
	}
	if d := snaps[5]; d.Version != "1.3.9" || d.Uptime == nil || d.DBMax == nil {
		t.Errorf("a draining instance still reports its version and metrics: %+v", d)
	}
}

func TestCollectFallsBackToBuildInfoMetric(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 0, 4)
	mux := http.NewServeMux()
	mux.Handle("GET /actuator/health/readiness", inst.srv.Config.Handler)
	mux.Handle("GET /actuator/prometheus", inst.srv.Config.Handler)
	noInfo := httptest.NewServer(mux) // an older build without /actuator/info
	t.Cleanup(noInfo.Close)

	snaps, _ := (&Scraper{}).Collect(context.Background(), t0, []Target{{Name: "old", URL: noInfo.URL}}, Counters{})
	g := snaps[0]
	if g.Version != "1.4.0" || g.Commit != "c0ffee1.4.0" || !g.Ready {
		t.Errorf("version %q commit %q ready %v, want mealsync_build_info's", g.Version, g.Commit, g.Ready)
	}
	if g.Error != "info: HTTP 404" {
		t.Errorf("error = %q", g.Error)
	}
}
