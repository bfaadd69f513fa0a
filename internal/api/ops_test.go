package api_test

import (
	"strings"
	"testing"
)

func TestHealthProbes(t *testing.T) {
	e := sqliteEnv(t)
	h := e.expect(e.do("GET", "/actuator/health", "", nil), 200)
	comps := h.body["components"].(map[string]any)
	for _, c := range []string{"db", "diskSpace"} {
		if comps[c].(map[string]any)["status"] != "UP" {
			t.Fatalf("%s: %v", c, comps[c])
		}
	}
	if h.body["status"] != "UP" {
		t.Fatalf("health: %s", h.raw)
	}
	e.expect(e.do("GET", "/actuator/health/liveness", "", nil), 200)
	r := e.expect(e.do("GET", "/actuator/health/readiness", "", nil), 200)
	if r.body["status"] != "UP" {
		t.Fatalf("readiness: %s", r.raw)
	}

	// Shutting down: readiness DOWN at once, liveness unaffected.
	e.ready.Store(false)
	r = e.expect(e.do("GET", "/actuator/health/readiness", "", nil), 503)
	if r.body["status"] != "DOWN" {
		t.Fatalf("readiness while stopping: %s", r.raw)
	}
	e.expect(e.do("GET", "/actuator/health", "", nil), 503)
	e.expect(e.do("GET", "/actuator/health/liveness", "", nil), 200)
	e.ready.Store(true)

	// Database gone: readiness and health DOWN, liveness still UP.
	e.db.Close()
	r = e.expect(e.do("GET", "/actuator/health/readiness", "", nil), 503)
	h = e.expect(e.do("GET", "/actuator/health", "", nil), 503)
	if h.body["components"].(map[string]any)["db"].(map[string]any)["status"] != "DOWN" {
		t.Fatalf("db component: %s", h.raw)
	}
	e.expect(e.do("GET", "/actuator/health/liveness", "", nil), 200)
}

func TestInfo(t *testing.T) {
	e := sqliteEnv(t)
	r := e.expect(e.do("GET", "/actuator/info", "", nil), 200)
	b := r.body["build"].(map[string]any)
	for _, k := range []string{"version", "commit", "time", "goVersion"} {
		if _, ok := b[k]; !ok {
			t.Fatalf("info lacks build.%s: %s", k, r.raw)
		}
	}
	if !strings.HasPrefix(b["goVersion"].(string), "go") {
		t.Fatalf("goVersion %v", b["goVersion"])
	}
}

func TestPrometheusAndMetrics(t *testing.T) {
	e := sqliteEnv(t)
	s := e.newUser("hal@example.com")
	e.expect(e.do("GET", "/api/v1/users/"+s.id, s.token, nil), 200)
	e.expect(e.do("GET", "/api/v1/users/"+s.id, "", nil), 401)

	r := e.expect(e.do("GET", "/actuator/prometheus", "", nil), 200)
	text := string(r.raw)
	for _, want := range []string{
		`http_server_requests_seconds_count{method="GET",route="GET /api/v1/users/{id}",status="200"} 1`,
		`http_server_requests_seconds_count{method="GET",route="GET /api/v1/users/{id}",status="401"} 1`,
		`http_server_requests_seconds_bucket{method="POST",route="POST /api/v1/users/login",status="200",le="+Inf"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	e.expect(e.do("GET", "/no/such/path", "", nil), 404)
	text = string(e.expect(e.do("GET", "/actuator/prometheus", "", nil), 200).raw)
	if !strings.Contains(text, `route="unmatched",status="404"`) {
		t.Error(`unknown paths must be counted as route="unmatched"`)
	}
	if strings.Contains(text, "/actuator/") {
		t.Error("probes must not be counted as API requests")
	}
	if strings.Contains(text, s.id) {
		t.Error("route labels must be patterns, not paths")
	}

	names := e.expect(e.do("GET", "/actuator/metrics", "", nil), 200)
	if !strings.Contains(string(names.raw), `"http_server_requests_seconds"`) {
		t.Fatalf("names: %s", names.raw)
	}
	m := e.expect(e.do("GET", "/actuator/metrics/http.server.requests?tag=status:401", "", nil), 200)
	ms := m.body["measurements"].([]any)
	if first := ms[0].(map[string]any); first["statistic"] != "COUNT" || first["value"] != 1.0 {
		t.Fatalf("measurements: %s", m.raw)
	}
	e.expect(e.do("GET", "/actuator/metrics/no_such_metric", "", nil), 404)
	e.expect(e.do("GET", "/actuator/metrics/http.server.requests?tag=nocolon", "", nil), 400)
}
