package api_test

import (
	"strings"
	"testing"
)

func TestHealthProbes(t *testing.T) {
	e := sqliteEnv(t)
	for _, p := range []string{"/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness"} {
		r := e.expect(e.doOps("GET", p), 200) // probes may use either port
		if r.body["status"] != "UP" {
			t.Fatalf("ops %s: %s", p, r.raw)
		}
	}
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
	e.expect(e.doOps("GET", "/actuator/health/readiness"), 503)
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
	r := e.expect(e.doOps("GET", "/actuator/info"), 200)
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

	r := e.expect(e.doOps("GET", "/actuator/prometheus"), 200)
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
	text = string(e.expect(e.doOps("GET", "/actuator/prometheus"), 200).raw)
	if !strings.Contains(text, `route="unmatched",status="404"`) {
		t.Error(`unknown paths must be counted as route="unmatched"`)
	}
	if strings.Contains(text, "/actuator/") {
		t.Error("probes must not be counted as API requests")
	}
	if strings.Contains(text, s.id) {
		t.Error("route labels must be patterns, not paths")
	}

	names := e.expect(e.doOps("GET", "/actuator/metrics"), 200)
	if !strings.Contains(string(names.raw), `"http_server_requests_seconds"`) {
		t.Fatalf("names: %s", names.raw)
	}
	m := e.expect(e.doOps("GET", "/actuator/metrics/http.server.requests?tag=status:401"), 200)
	ms := m.body["measurements"].([]any)
	if first := ms[0].(map[string]any); first["statistic"] != "COUNT" || first["value"] != 1.0 {
		t.Fatalf("measurements: %s", m.raw)
	}
	e.expect(e.doOps("GET", "/actuator/metrics/no_such_metric"), 404)
	e.expect(e.doOps("GET", "/actuator/metrics/http.server.requests?tag=nocolon"), 400)
}

// Only the health probes are on the public port: build info and metrics
// answer 404 there in the JSON envelope, like any unknown path, and are
// served by the ops listener. The ops listener serves no API, and no
// profiles anywhere.
func TestOpsEndpointsAreNotPublic(t *testing.T) {
	e := sqliteEnv(t)
	for _, p := range []string{
		"/actuator/info", "/actuator/prometheus", "/actuator/metrics", "/actuator/metrics/http.server.requests",
		"/actuator/metrics/mealsync_ready?tag=a:b", "/debug/pprof/", "/debug/pprof/heap", "/actuator/prometheus/",
	} {
		r := e.expect(e.do("GET", p, "", nil), 404)
		if got := r.errors(); len(got) != 1 || !strings.HasPrefix(got[0], "Resource: ") {
			t.Errorf("public %s: %q, want the JSON 404", p, got)
		}
		if strings.Contains(string(r.raw), "go_goroutines") || strings.Contains(string(r.raw), "goVersion") {
			t.Errorf("public %s leaks: %.200s", p, r.raw)
		}
	}
	for _, p := range []string{"/actuator/info", "/actuator/prometheus", "/actuator/metrics"} {
		e.expect(e.doOps("GET", p), 200)
	}
	e.expect(e.doOps("GET", "/debug/pprof/"), 404)
	r := e.expect(e.doOps("GET", "/api/v1/recipes"), 404)
	if got := r.errors(); len(got) != 1 {
		t.Errorf("ops /api/v1/recipes: %s, want the JSON 404", r.raw)
	}
	e.expect(e.doOps("POST", "/actuator/info"), 405)
}
