package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// The /actuator endpoints keep the paths and shapes the old Spring
// deployment's tooling uses. They run outside the API middleware: probes are
// frequent, need no auth, and must not flood the access log. The public port
// serves only the three health endpoints; info and metrics are on the ops
// listener (opsRoutes), so they stay private without nginx too, whose edge
// config also lets only /actuator/health through.

const (
	readinessTimeout = time.Second // a probe must answer before the balancer gives up
	diskThreshold    = 10 << 20    // Spring's default: DOWN under 10 MB free
)

type health struct {
	Status     string               `json:"status"`
	Components map[string]component `json:"components,omitempty"`
}

type component struct {
	Status  string         `json:"status"`
	Details map[string]any `json:"details,omitempty"`
}

func status(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

func writeHealth(w http.ResponseWriter, h health) {
	code := http.StatusOK
	if h.Status != "UP" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

// GET /actuator/health: database, disk and readiness, each with details.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
	defer cancel()
	db := component{Status: "UP", Details: map[string]any{"database": s.db.Dialect()}}
	if err := s.db.Ping(ctx); err != nil {
		db.Status, db.Details["error"] = "DOWN", "ping failed"
	}
	disk := diskHealth(s.dataDir)
	ready := component{Status: status(s.ready.Load())}
	up := db.Status == "UP" && disk.Status == "UP" && ready.Status == "UP"
	writeHealth(w, health{Status: status(up), Components: map[string]component{
		"db": db, "diskSpace": disk, "readinessState": ready, "ping": {Status: "UP"},
	}})
}

// GET /actuator/health/liveness: the process answers, nothing else. A
// database outage must not make an orchestrator restart healthy processes.
func (s *Server) handleLiveness(w http.ResponseWriter, r *http.Request) {
	writeHealth(w, health{Status: "UP"})
}

// GET /actuator/health/readiness: DOWN while starting and from the first
// moment of shutdown; otherwise a database ping with a 1 s timeout, which on
// PostgreSQL also fails on a read-only server (a standby, or one still in
// recovery after a restore: it would refuse every write).
func (s *Server) handleReadiness(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeHealth(w, health{Status: "DOWN"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
	defer cancel()
	writeHealth(w, health{Status: status(s.db.Ping(ctx) == nil)})
}

// GET /actuator/info
func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"app": map[string]string{"name": "mealsync"}, "build": s.build})
}

// GET /actuator/prometheus: the text exposition format.
func (s *Server) prometheusHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
}

// GET /actuator/metrics: the metric names, as Actuator lists them.
func (s *Server) handleMetricNames(w http.ResponseWriter, r *http.Request) {
	families, err := s.registry.Gather()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := make([]string, 0, len(families))
	for _, f := range families {
		names = append(names, f.GetName())
	}
	writeJSON(w, http.StatusOK, map[string]any{"names": names})
}

type measurement struct {
	Statistic string  `json:"statistic"`
	Value     float64 `json:"value"`
}

type availableTag struct {
	Tag    string   `json:"tag"`
	Values []string `json:"values"`
}

// GET /actuator/metrics/{name}?tag=key:value: one metric summed over the
// series that match the tags, shaped like Actuator's answer. Dotted
// Micrometer names (http.server.requests) are accepted too.
func (s *Server) handleMetric(w http.ResponseWriter, r *http.Request) {
	name := strings.ReplaceAll(r.PathValue("name"), ".", "_")
	want := map[string]string{}
	for _, t := range r.URL.Query()["tag"] {
		k, v, ok := strings.Cut(t, ":")
		if !ok || k == "" {
			writeJSON(w, http.StatusBadRequest, envelope{Errors: []errorItem{{"tag", "Tags are key:value"}}})
			return
		}
		want[k] = v
	}
	families, err := s.registry.Gather()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var fam *dto.MetricFamily
	for _, f := range families {
		if n := f.GetName(); n == name || n == name+"_seconds" || n == name+"_total" || n == name+"_bytes" {
			fam = f
			break
		}
	}
	if fam == nil {
		writeJSON(w, http.StatusNotFound, envelope{Errors: []errorItem{{"Resource", "No metric named " + r.PathValue("name")}}})
		return
	}
	tags := map[string]map[string]bool{}
	var count, sum, value float64
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if !matches(labels, want) {
			continue
		}
		for k, v := range labels {
			if tags[k] == nil {
				tags[k] = map[string]bool{}
			}
			tags[k][v] = true
		}
		switch {
		case m.Histogram != nil:
			count += float64(m.Histogram.GetSampleCount())
			sum += m.Histogram.GetSampleSum()
		case m.Summary != nil:
			count += float64(m.Summary.GetSampleCount())
			sum += m.Summary.GetSampleSum()
		case m.Counter != nil:
			value += m.Counter.GetValue()
		case m.Gauge != nil:
			value += m.Gauge.GetValue()
		case m.Untyped != nil:
			value += m.Untyped.GetValue()
		}
	}
	var ms []measurement
	switch fam.GetType() {
	case dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY:
		ms = []measurement{{"COUNT", count}, {"TOTAL_TIME", sum}}
	case dto.MetricType_COUNTER:
		ms = []measurement{{"COUNT", value}}
	default:
		ms = []measurement{{"VALUE", value}}
	}
	avail := []availableTag{}
	for k, vs := range tags {
		if _, fixed := want[k]; fixed {
			continue
		}
		t := availableTag{Tag: k}
		for v := range vs {
			t.Values = append(t.Values, v)
		}
		sort.Strings(t.Values)
		avail = append(avail, t)
	}
	sort.Slice(avail, func(i, j int) bool { return avail[i].Tag < avail[j].Tag })
	writeJSON(w, http.StatusOK, map[string]any{
		"name": fam.GetName(), "description": fam.GetHelp(), "measurements": ms, "availableTags": avail,
	})
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}
