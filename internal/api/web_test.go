package api_test

import (
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/web"
)

// TestWebAppBesideTheAPI: with the web app mounted, its pages and assets
// answer at / under their own policy, while the API, the probes and every
// path that is neither keep answering exactly as without it.
func TestWebAppBesideTheAPI(t *testing.T) {
	app, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testdb.SQLite(t), func(d *api.Deps) { d.Web = app })
	plain := sqliteEnv(t)

	for _, p := range []string{"/", "/recipes", "/signin", "/household"} {
		r := e.expect(e.do("GET", p, "", nil), 200)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") ||
			r.header.Get("X-Request-Id") == "" {
			t.Errorf("%s: %v", p, r.header)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/recipes?limit=1"},
		{"GET", "/api/v1/nothing-here"},
		{"GET", "/api/v1/recipes/not-a-uuid"},
		{"GET", "/nothing-here"},
		{"GET", "/recipes/x/y"},
		{"GET", "/actuator/health"},
		{"GET", "/actuator/prometheus"},
		{"PATCH", "/api/v1/users/register"},
	} {
		with, without := e.do(c.method, c.path, "", nil), plain.do(c.method, c.path, "", nil)
		if with.status != without.status || with.header.Get("Content-Type") != without.header.Get("Content-Type") ||
			with.header.Get("Content-Security-Policy") != without.header.Get("Content-Security-Policy") {
			t.Errorf("%s %s: %d %s with the web app, %d %s without", c.method, c.path,
				with.status, with.header.Get("Content-Type"), without.status, without.header.Get("Content-Type"))
		}
		if with.header.Get("Content-Security-Policy") != "default-src 'none'; frame-ancestors 'none'" {
			t.Errorf("%s %s: policy %q", c.method, c.path, with.header.Get("Content-Security-Policy"))
		}
	}
}
