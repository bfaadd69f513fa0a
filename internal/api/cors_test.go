package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/testdb"
)

const (
	webApp = "https://app.example.com"
	devApp = "http://localhost:3000"
)

func corsEnv(t *testing.T, origins ...string) *env {
	return newEnv(t, testdb.SQLite(t), func(d *api.Deps) { d.CORSOrigins = origins })
}

// accessControl lists the response's Access-Control-* headers.
func accessControl(r response) []string {
	var out []string
	for h := range r.header {
		if strings.HasPrefix(h, "Access-Control-") {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

func preflight(e *env, origin, method, headers string) response {
	e.t.Helper()
	return e.do("OPTIONS", "/api/v1/recipes/save", "", nil,
		"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
}

func hasToken(list []string, want string) bool {
	for _, v := range list {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), want) {
				return true
			}
		}
	}
	return false
}

// By default there is no CORS policy at all: no answer carries an
// Access-Control-* header, preflights included, so browsers refuse every
// cross-origin call.
func TestNoCORSByDefault(t *testing.T) {
	e := sqliteEnv(t)
	for name, r := range map[string]response{
		"preflight":      preflight(e, webApp, "POST", "authorization,content-type"),
		"GET":            e.do("GET", "/api/v1/recipes", "", nil, "Origin", webApp),
		"401":            e.do("GET", "/api/v1/recipes/saved", "", nil, "Origin", webApp),
		"actuator probe": e.do("GET", "/actuator/health", "", nil, "Origin", webApp),
	} {
		if got := accessControl(r); len(got) != 0 {
			t.Errorf("%s (%d): %v, want no Access-Control header", name, r.status, got)
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	e := corsEnv(t, webApp, devApp)
	for _, origin := range []string{webApp, devApp} {
		r := e.expect(preflight(e, origin, "DELETE", "authorization,content-type,idempotency-key,x-request-id"), http.StatusNoContent)
		h := r.header
		if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Methods") != "DELETE" ||
			!hasToken(h.Values("Access-Control-Allow-Headers"), "authorization") ||
			!hasToken(h.Values("Access-Control-Allow-Headers"), "idempotency-key") ||
			h.Get("Access-Control-Max-Age") != "600" || !hasToken(h.Values("Vary"), "Origin") {
			t.Errorf("preflight from %s: %v", origin, h)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight from %s allows credentials", origin)
		}
	}
	// Refused: another origin (however close), a method or a header the API
	// does not take. The browser sees no permission and gives up.
	for _, c := range []struct{ origin, method, headers string }{
		{"https://evil.example.com", "POST", "content-type"},
		{"https://app.example.com.evil.net", "POST", "content-type"},
		{"http://app.example.com", "POST", "content-type"}, // another scheme is another origin
		{"null", "POST", "content-type"},
		{webApp, "PATCH", "content-type"},
		{webApp, "POST", "content-type,x-forwarded-for"},
	} {
		r := preflight(e, c.origin, c.method, c.headers)
		if got := accessControl(r); len(got) != 0 {
			t.Errorf("preflight %+v: %d with %v, want no Access-Control header", c, r.status, got)
		}
		if !hasToken(r.header.Values("Vary"), "Origin") {
			t.Errorf("preflight %+v: Vary %q lacks Origin", c, r.header.Values("Vary"))
		}
	}
}

func TestCORSActualRequests(t *testing.T) {
	e := corsEnv(t, webApp)
	u := e.newUser("cors@example.com")
	for name, r := range map[string]response{
		"public list":   e.expect(e.do("GET", "/api/v1/recipes", "", nil, "Origin", webApp), 200),
		"with a token":  e.expect(e.do("GET", "/api/v1/users/"+u.id, u.token, nil, "Origin", webApp), 200),
		"no token, 401": e.expect(e.do("GET", "/api/v1/recipes/saved", "", nil, "Origin", webApp), 401),
		"a JSON POST":   e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": u.email, "password": "correct horse 1"}, "Origin", webApp), 200),
	} {
		h := r.header
		if h.Get("Access-Control-Allow-Origin") != webApp || !hasToken(h.Values("Vary"), "Origin") {
			t.Errorf("%s: Allow-Origin %q, Vary %q", name, h.Get("Access-Control-Allow-Origin"), h.Values("Vary"))
		}
		for _, exposed := range []string{"X-Request-ID", "ETag", "Retry-After"} {
			if !hasToken(h.Values("Access-Control-Expose-Headers"), exposed) {
				t.Errorf("%s: Expose-Headers %q lacks %s", name, h.Values("Access-Control-Expose-Headers"), exposed)
			}
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed", name)
		}
	}
	// Another origin is served (the API is not a browser's business) but
	// gets no permission to read the answer; a cache keys on Origin.
	r := e.expect(e.do("GET", "/api/v1/recipes", "", nil, "Origin", "https://evil.example.com"), 200)
	if got := accessControl(r); len(got) != 0 || !hasToken(r.header.Values("Vary"), "Origin") {
		t.Errorf("denied origin: %v, Vary %q", got, r.header.Values("Vary"))
	}
}
