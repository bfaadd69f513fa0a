package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/catalogindex"
	"github.com/mealsync/mealsync/internal/generate"
	"github.com/mealsync/mealsync/internal/households"
	"github.com/mealsync/mealsync/internal/idempotency"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/live"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/usercache"
)

const testSecret = "test-secret-that-is-at-least-32-bytes-long"

// allowedImageHost is the test server's MEALSYNC_IMAGE_URL_HOSTS.
const allowedImageHost = "images.example.com"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a server on a real database, reached through the real router.
type env struct {
	t     testing.TB
	db    *sqldb.DB
	clock *clock
	ready *atomic.Bool
	srv   *httptest.Server
	ops   *httptest.Server // the ops listener
	hub   *live.Hub
}

func newEnv(t testing.TB, db *sqldb.DB, opts ...func(*api.Deps)) *env {
	t.Helper()
	return newEnvCaching(t, db, 0, opts...)
}

// newEnvUncached is newEnv reading users from the database on every
// request (MEALSYNC_USER_CACHE_SIZE=0).
func newEnvUncached(t testing.TB, db *sqldb.DB) *env {
	t.Helper()
	return newEnvCaching(t, db, -1)
}

// newEnvCaching is newEnv with users cached as in production. The tests use
// an interval of 0 — the change feed is asked before every answer — so that
// a test writing to the database directly sees its write at once, while
// every request still goes through the cache. A negative interval turns the
// caches off (users and the catalogue index).
func newEnvCaching(t testing.TB, db *sqldb.DB, interval time.Duration, opts ...func(*api.Deps)) *env {
	t.Helper()
	c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var users mealsync.UserStore = db
	var tokens mealsync.TokenStore = db
	if interval >= 0 {
		c := usercache.New(db, db, 10_000, interval, time.Now)
		users, tokens = c, c.Tokens(db)
	}
	svc := auth.NewService(users, tokens, db, [][]byte{[]byte(testSecret)}, auth.Config{
		AccessTTL: 15 * time.Minute, RefreshTTL: 7 * 24 * time.Hour, MaxLoginFailures: 5, LoginWindow: 15 * time.Minute,
	}, c.now, log)
	var ready atomic.Bool
	ready.Store(true)
	images, err := blob.NewLocal(filepath.Join(t.TempDir(), "images"), "")
	if err != nil {
		t.Fatal(err)
	}
	// The catalogue comes from memory as in production, the feed asked on
	// every list (interval 0) for the same reason as the users'.
	var recipes mealsync.RecipeStore = db
	if interval >= 0 {
		recipes = catalogindex.New(db, db, interval, time.Now)
	}
	k := kitchen.New(recipes, db, db, generate.NewCatalog(kitchen.CatalogSource(recipes)), images, []string{allowedImageHost}, c.now, log)
	hub := live.NewHub(live.DefaultMaxPerUser)
	deps := api.Deps{Log: log, Auth: svc, Users: users, Recipes: recipes, Kitchen: k, Images: images, DB: db,
		Households: households.New(db, db, recipes, c.now, hub.Changed), Hub: hub, Tickets: auth.NewTickets(db, svc, c.now),
		Idempotency: idempotency.New(db, c.now, log), Registry: prometheus.NewRegistry(), Ready: &ready, DataDir: t.TempDir(), Now: c.now,
		// The cache is on, re-reading the catalogue version on every request:
		// tests that write to the store directly see their writes at once.
		ListCacheSize: 100, CatalogueVersionTTL: 0}
	for _, o := range opts {
		o(&deps)
	}
	h := api.New(deps)
	srv, ops := httptest.NewServer(h), httptest.NewServer(h.Ops())
	t.Cleanup(srv.Close)
	t.Cleanup(ops.Close)
	return &env{t: t, db: db, clock: c, ready: &ready, srv: srv, ops: ops, hub: hub}
}

// testWriter sends the server's warnings and errors to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

// errors returns "field: message" for each error entry.
func (r response) errors() []string {
	var out []string
	list, _ := r.body["errors"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		out = append(out, m["field"].(string)+": "+m["message"].(string))
	}
	return out
}

func (e *env) do(method, path, token string, body any, hdr ...string) response {
	e.t.Helper()
	return e.doAt(e.srv, method, path, token, body, hdr...)
}

// doOps is do on the ops listener.
func (e *env) doOps(method, path string) response {
	e.t.Helper()
	return e.doAt(e.ops, method, path, "", nil)
}

func (e *env) doAt(srv *httptest.Server, method, path, token string, body any, hdr ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i]) // an empty value sends no such header
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.send(srv, req)
}

// send sends req to srv and decodes the answer.
func (e *env) send(srv *httptest.Server, req *http.Request) response {
	e.t.Helper()
	r, err := roundTrip(srv, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// roundTrip is send for goroutines other than the test's, which must not
// call t.Fatal.
func roundTrip(srv *httptest.Server, req *http.Request) (response, error) {
	resp, err := srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			return r, fmt.Errorf("%s %s: response is not JSON: %v: %s", req.Method, req.URL.Path, err, raw)
		}
	}
	return r, nil
}

func (e *env) expect(r response, status int) response {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// session is a logged-in user.
type session struct {
	id, email, token, refresh string
}

func (e *env) register(email string) {
	e.t.Helper()
	e.expect(e.do("POST", "/api/v1/users/register", "", map[string]any{
		"email": email, "password": "correct horse 1", "name": "Test " + email, "role": "USER",
	}), 200)
}

func (e *env) login(email string) session {
	e.t.Helper()
	r := e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": email, "password": "correct horse 1"}), 200)
	d := r.data()
	return session{id: d["id"].(string), email: email, token: d["token"].(string),
		refresh: d["refreshToken"].(map[string]any)["token"].(string)}
}

func (e *env) newUser(email string) session {
	e.t.Helper()
	e.register(email)
	return e.login(email)
}

func (e *env) newAdmin(email string) session {
	e.t.Helper()
	e.register(email)
	u, err := e.db.UserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	role := mealsync.RoleAdmin
	if _, err := e.db.UpdateUser(context.Background(), u.ID, mealsync.UserUpdate{Role: &role, At: u.UpdatedAt}); err != nil {
		e.t.Fatal(err)
	}
	return e.login(email)
}

// forEachStore runs f on SQLite and PostgreSQL.
func forEachStore(t *testing.T, f func(t *testing.T, e *env)) {
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) { f(t, newEnv(t, st.Open(t))) })
	}
}

func sqliteEnv(t *testing.T) *env { return newEnv(t, testdb.SQLite(t)) }
