package monitor

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	_ "modernc.org/sqlite" // a real database/sql pool behind go_sql_* metrics
)

// t0 is the fake clock's start: every test's "now".
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// The server's own buckets (internal/api/metrics.go).
var serverBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .25, .5, 1, 2.5, 5, 10}

// fakeInstance is a MealSync instance as the monitor sees it: the three
// actuator endpoints, with the metrics of a real Prometheus registry
// (request histogram, the database/sql pool collector over a real SQLite
// pool, process start time, build info) served by promhttp.
type fakeInstance struct {
	t       *testing.T
	srv     *httptest.Server
	version string
	ready   atomic.Bool
	broken  atomic.Bool   // /actuator/prometheus answers 500
	scraped chan struct{} // one value per /actuator/prometheus answered

	mu       sync.Mutex
	dbStats  prometheus.Collector
	handler  http.Handler // the current process's /actuator/prometheus
	requests *prometheus.HistogramVec
	start    prometheus.Gauge
}

// newFakeInstance starts an instance whose process started at started, with
// inUse of its maxOpen database connections busy.
func newFakeInstance(t *testing.T, version string, started time.Time, inUse, maxOpen int) *fakeInstance {
	t.Helper()
	f := &fakeInstance{t: t, version: version, scraped: make(chan struct{}, 1000)}
	f.ready.Store(true)

	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "pool.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(maxOpen)
	for range inUse {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	f.dbStats = collectors.NewDBStatsCollector(db, "sqlite")
	f.restart(started)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /actuator/health/readiness", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !f.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"DOWN"}`))
			return
		}
		w.Write([]byte(`{"status":"UP"}`))
	})
	mux.HandleFunc("GET /actuator/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"app":   map[string]string{"name": "mealsync"},
			"build": map[string]string{"version": f.version, "commit": "c0ffee" + f.version, "time": "2025-03-01T10:00:00Z", "goVersion": "go1.26.8"},
		})
	})
	mux.HandleFunc("GET /actuator/prometheus", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		h := f.handler
		f.mu.Unlock()
		if f.broken.Load() {
			http.Error(w, "gather failed", http.StatusInternalServerError)
		} else {
			h.ServeHTTP(w, r)
		}
		f.scraped <- struct{}{}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// restart replaces the process: a fresh registry, so every counter starts
// from zero again, and a new start time. The database pool survives (it is
// only there for its gauges).
func (f *fakeInstance) restart(started time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reg := prometheus.NewRegistry()
	f.registerProcess(reg, started)
	reg.MustRegister(f.dbStats)
	f.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func (f *fakeInstance) registerProcess(reg *prometheus.Registry, started time.Time) {
	f.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_server_requests_seconds", Help: "HTTP requests.", Buckets: serverBuckets,
	}, []string{"method", "route", "status"})
	f.start = prometheus.NewGauge(prometheus.GaugeOpts{Name: "process_start_time_seconds", Help: "Start time."})
	f.start.Set(float64(started.UnixNano()) / 1e9)
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mealsync_ready", Help: "Ready."}, func() float64 {
		if f.ready.Load() {
			return 1
		}
		return 0
	})
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mealsync_build_info", Help: "Build.",
		ConstLabels: prometheus.Labels{"version": f.version, "commit": "c0ffee" + f.version, "goversion": "go1.26.8"},
	})
	build.Set(1)
	reg.MustRegister(f.requests, f.start, ready, build)
}

// observe records n requests of the route answered with status in seconds.
func (f *fakeInstance) observe(route, status string, seconds float64, n int) {
	f.mu.Lock()
	h := f.requests
	f.mu.Unlock()
	method, _, _ := strings.Cut(route, " ")
	for range n {
		h.WithLabelValues(method, route, status).Observe(seconds)
	}
}

func (f *fakeInstance) target(name string) Target { return Target{Name: name, URL: f.srv.URL} }

// waitScraped waits until the instance's metrics were read once more.
func (f *fakeInstance) waitScraped() {
	f.t.Helper()
	select {
	case <-f.scraped:
	case <-time.After(10 * time.Second):
		f.t.Fatal("the monitor never read /actuator/prometheus")
	}
}

// closedURL is the URL of a port nothing listens on any more.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// fakeClock is a clock whose ticks the test sends; each tick moves now.
type fakeClock struct {
	t     *testing.T
	mu    sync.Mutex
	now   time.Time
	ticks chan time.Time
}

func newFakeClock(t *testing.T) *fakeClock {
	return &fakeClock{t: t, now: t0, ticks: make(chan time.Time)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Ticker(time.Duration) (<-chan time.Time, func()) { return c.ticks, func() {} }

// tick advances the clock by d and delivers the tick, returning once Run has
// taken it.
func (c *fakeClock) tick(d time.Duration) {
	c.t.Helper()
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	c.mu.Unlock()
	select {
	case c.ticks <- now:
	case <-time.After(10 * time.Second):
		c.t.Fatal("Run is not waiting for a tick")
	}
}

// output is a concurrency-safe writer that wakes up whoever waits on it.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until cond holds for the output, failing after a deadline.
func (o *output) waitFor(t *testing.T, what string, cond func(string) bool) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if s := o.String(); cond(s) {
			return s
		}
		select {
		case <-o.changed:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; output so far:\n%s", what, o.String())
		}
	}
}

func ptr[T any](v T) *T { return &v }

// show prints an optional figure for a failure message.
func show(v *float64) string {
	if v == nil {
		return "unknown"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
