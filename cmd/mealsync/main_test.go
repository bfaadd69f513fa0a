package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// server is a `run serve` started in-process on 127.0.0.1:0, its ops
// listener on another free port.
type server struct {
	base string
	ops  string // the ops listener's base URL
	done chan error
	stop context.CancelFunc
	logs *logSink

	stopped sync.Once
}

// logSink collects the JSON log lines and announces the "listening" line.
type logSink struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	lines     []map[string]any
	listening chan map[string]any
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // incomplete: keep for the next write
			break
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			l.lines = append(l.lines, m)
			if m["msg"] == "listening" {
				l.listening <- m
			}
		}
	}
	return len(p), nil
}

func (l *logSink) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.lines {
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func envFunc(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// startServer runs `mealsync serve` and waits for readiness.
func startServer(t *testing.T, vars map[string]string) *server {
	t.Helper()
	base := map[string]string{
		"MEALSYNC_ADDR":           "127.0.0.1:0",
		"MEALSYNC_OPS_ADDR":       "127.0.0.1:0",
		"MEALSYNC_LOG_FORMAT":     "json",
		"MEALSYNC_SHUTDOWN_DELAY": "0s",
	}
	for k, v := range vars {
		base[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logSink{listening: make(chan map[string]any, 1)}
	s := &server{done: make(chan error, 1), stop: cancel, logs: logs}
	go func() { s.done <- run(ctx, []string{"mealsync", "serve"}, envFunc(base), logs, io.Discard) }()
	select {
	case l := <-logs.listening:
		s.base, s.ops = "http://"+l["addr"].(string), "http://"+l["ops_addr"].(string)
	case err := <-s.done:
		cancel()
		t.Fatalf("server exited before listening: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server did not start listening within 20 s")
	}
	t.Cleanup(func() { s.shutdown(t) })
	waitFor(t, 10*time.Second, "readiness UP", func() bool {
		resp, err := http.Get(s.base + "/actuator/health/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

// shutdown cancels run and waits for it; later calls do nothing.
func (s *server) shutdown(t *testing.T) {
	t.Helper()
	s.stopped.Do(func() { s.wait(t) })
}

func (s *server) wait(t *testing.T) {
	t.Helper()
	s.stop()
	select {
	case err, ok := <-s.done:
		if !ok {
			return // shut down before
		}
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		close(s.done)
	case <-time.After(40 * time.Second):
		t.Error("run did not return after cancel")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// call does one JSON request and decodes the envelope.
func call(t *testing.T, method, url, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var env map[string]any
	json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env
}

func data(env map[string]any) map[string]any { m, _ := env["data"].(map[string]any); return m }

// TestEndToEnd walks a client's first session on each store (PostgreSQL
// directly and behind PgBouncer): register →
// login → refresh → preferences → reuse of a rotated token rejected.
func TestEndToEnd(t *testing.T) {
	stores := map[string]func(t *testing.T) map[string]string{
		"sqlite": func(t *testing.T) map[string]string {
			return map[string]string{"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/mealsync.db"}
		},
		"postgres": func(t *testing.T) map[string]string {
			vars := map[string]string{"MEALSYNC_DATABASE_URL": testdb.PostgresURL(t)}
			// Production's order: migrate, seed, then serve.
			for _, cmd := range []string{"migrate", "seed"} {
				if err := run(context.Background(), []string{"mealsync", cmd}, envFunc(vars), io.Discard, io.Discard); err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
			}
			return vars
		},
		// Production behind PgBouncer in transaction mode: queries through
		// it, migrations (and LISTEN) over the direct URL.
		"pgbouncer": func(t *testing.T) map[string]string {
			direct := testdb.PostgresURL(t)
			vars := map[string]string{"MEALSYNC_DATABASE_URL": testdb.PgBouncerURL(t, direct), "MEALSYNC_DIRECT_DATABASE_URL": direct}
			for _, cmd := range []string{"migrate", "seed"} {
				if err := run(context.Background(), []string{"mealsync", cmd}, envFunc(vars), io.Discard, io.Discard); err != nil {
					t.Fatalf("%s: %v", cmd, err)
				}
			}
			return vars
		},
	}
	for _, name := range []string{"sqlite", "postgres", "pgbouncer"} {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, stores[name](t))
			api := s.base + "/api/v1"
			st, _ := call(t, "POST", api+"/users/register", "", map[string]any{"email": "kim@example.com", "password": "kimchi stew 9", "name": "Kim"})
			if st != 200 {
				t.Fatalf("register: %d", st)
			}
			st, env := call(t, "POST", api+"/users/login", "", map[string]any{"email": "kim@example.com", "password": "kimchi stew 9"})
			if st != 200 {
				t.Fatalf("login: %d %v", st, env)
			}
			id := data(env)["id"].(string)
			refresh1 := data(env)["refreshToken"].(map[string]any)["token"].(string)

			st, env = call(t, "POST", api+"/users/refresh", "", map[string]any{"refreshToken": refresh1})
			if st != 200 {
				t.Fatalf("refresh: %d %v", st, env)
			}
			access := data(env)["token"].(string)
			refresh2 := data(env)["refreshToken"].(map[string]any)["token"].(string)

			st, env = call(t, "PUT", api+"/users/"+id+"/preference", access, map[string]any{
				"dietaryRestrictions": []string{"vegan"}, "favoriteCuisines": []string{"Korean"}, "dislikedIngredients": []string{"olives"},
			})
			if st != 200 || fmt.Sprint(data(env)["userPreference"]) != "map[allergies:[olives] dietaryRestrictions:[vegan] dislikedIngredients:[olives] favoriteCuisines:[Korean] preferredCuisines:[Korean]]" {
				t.Fatalf("preferences: %d %v", st, env)
			}
			st, _ = call(t, "POST", api+"/users/refresh", "", map[string]any{"refreshToken": refresh1})
			if st != 400 {
				t.Fatalf("reused refresh token: %d, want 400", st)
			}
			// Reuse revoked the family: the newest token is dead too.
			st, _ = call(t, "POST", api+"/users/refresh", "", map[string]any{"refreshToken": refresh2})
			if st != 400 {
				t.Fatalf("token of a revoked family: %d, want 400", st)
			}
			// And the access tokens of that login stopped working at once.
			if st, _ = call(t, "GET", api+"/users/"+id, access, nil); st != 401 {
				t.Fatalf("access token after the reuse alarm: %d, want 401", st)
			}
			st, env = call(t, "POST", api+"/users/login", "", map[string]any{"email": "kim@example.com", "password": "kimchi stew 9"})
			if st != 200 {
				t.Fatalf("login again: %d %v", st, env)
			}
			access = data(env)["token"].(string)
			walkRecipes(t, api, id, access)

			if !s.logs.contains(`"msg":"request"`) || !s.logs.contains(`"route":"POST /api/v1/users/login"`) {
				t.Fatal("no structured access log line per request")
			}
			if s.logs.contains("kimchi stew 9") {
				t.Fatal("a password reached the logs")
			}
		})
	}
}

// walkRecipes continues the session: search → save → recommended →
// generate → meal plan → shopping list, on the seeded starter catalogue.
func walkRecipes(t *testing.T, api, userID, token string) {
	t.Helper()
	st, env := call(t, "GET", api+"/recipes?name=curry&limit=5", "", nil)
	if st != 200 || env["totalElements"].(float64) < 1 {
		t.Fatalf("search: %d %v", st, env)
	}
	first := env["data"].([]any)[0].(map[string]any)
	st, env = call(t, "POST", api+"/recipes/save", token, map[string]any{"userId": userID, "recipeId": first["id"]})
	if st != 200 || data(env)["type"] != "SAVED" {
		t.Fatalf("save: %d %v", st, env)
	}
	st, env = call(t, "GET", api+"/recipes/saved", token, nil)
	if st != 200 || env["totalElements"].(float64) != 1 {
		t.Fatalf("saved: %d %v", st, env)
	}
	st, env = call(t, "GET", api+"/recipes/recommended?limit=10", token, nil)
	recs, _ := env["data"].([]any)
	if st != 200 || len(recs) == 0 {
		t.Fatalf("recommended: %d %v", st, env)
	}
	for _, r := range recs {
		rec := r.(map[string]any)
		if rec["id"] == first["id"] {
			t.Fatal("a saved recipe was recommended")
		}
		if !strings.Contains(fmt.Sprint(rec["tags"]), "vegan") { // the walk's user is vegan
			t.Fatalf("recommended a recipe not tagged vegan: %v", rec["name"])
		}
	}
	st, env = call(t, "POST", api+"/recipes/generate-recipes", token, map[string]any{"ingredients": []any{"tofu", map[string]any{"name": "rice", "quantity": "1", "unit": "cup"}}})
	if gen, _ := env["data"].([]any); st != 200 || len(gen) == 0 {
		t.Fatalf("generate: %d %v", st, env)
	}
	st, env = call(t, "POST", api+"/meal-plans", token, map[string]any{"startDate": "2026-12-07", "numberOfDays": 2, "mealsPerDay": 3})
	if st != 201 {
		t.Fatalf("meal plan: %d %v", st, env)
	}
	planID := data(env)["id"].(string)
	st, env = call(t, "GET", api+"/meal-plans/"+planID+"/shopping-list", token, nil)
	if items, _ := data(env)["items"].([]any); st != 200 || len(items) == 0 {
		t.Fatalf("shopping list: %d %v", st, env)
	}
}

// TestServeRefusesOutdatedPostgresSchema: without migrate-on-start, serve
// stops on a schema it does not know; `migrate` fixes that.
func TestServeRefusesOutdatedPostgresSchema(t *testing.T) {
	url := testdb.PostgresURL(t)
	vars := map[string]string{"MEALSYNC_DATABASE_URL": url, "MEALSYNC_ADDR": "127.0.0.1:0"}
	err := run(context.Background(), []string{"mealsync", "serve"}, envFunc(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "mealsync migrate") {
		t.Fatalf("serve on an empty schema: %v", err)
	}
	// seed follows the same rule as serve.
	if err := run(context.Background(), []string{"mealsync", "seed"}, envFunc(vars), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "mealsync migrate") {
		t.Fatalf("seed on an empty schema: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"mealsync", "migrate"}, envFunc(vars), &out, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if !strings.Contains(out.String(), "applied 001_users") {
		t.Fatalf("migrate output: %s", out.String())
	}
	startServer(t, map[string]string{"MEALSYNC_DATABASE_URL": url})
}

func TestProductionNeedsASecret(t *testing.T) {
	for _, secret := range []string{"", "mealsync-development-secret-do-not-use-in-production", "too-short"} {
		vars := map[string]string{"MEALSYNC_ENV": "production", "MEALSYNC_JWT_SECRET": secret,
			"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db"}
		err := run(context.Background(), []string{"mealsync"}, envFunc(vars), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "MEALSYNC_JWT_SECRET") {
			t.Errorf("secret %q: %v", secret, err)
		}
	}
}

func TestBadConfigListsEveryProblem(t *testing.T) {
	vars := map[string]string{"MEALSYNC_ADDR": "nope", "MEALSYNC_SHUTDOWN_DELAY": "soon", "MEALSYNC_LOG_LEVEL": "loud"}
	err := run(context.Background(), []string{"mealsync", "serve"}, envFunc(vars), io.Discard, io.Discard)
	for _, want := range []string{"MEALSYNC_ADDR", "MEALSYNC_SHUTDOWN_DELAY", "MEALSYNC_LOG_LEVEL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

func TestVersionAndHealthcheck(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"mealsync", "version"}, envFunc(nil), &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "mealsync ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	s := startServer(t, map[string]string{"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/m.db"})
	addr := strings.TrimPrefix(s.base, "http://")
	hc := func() error {
		return run(context.Background(), []string{"mealsync", "healthcheck"}, envFunc(map[string]string{"MEALSYNC_ADDR": addr}), io.Discard, io.Discard)
	}
	if err := hc(); err != nil {
		t.Fatalf("healthcheck of a ready server: %v", err)
	}
	s.shutdown(t)
	if err := hc(); err == nil {
		t.Fatal("healthcheck of a stopped server passed")
	}
}

// A server started with nothing configured — what `go run ./cmd/mealsync`
// does — signs tokens with a key no one can read in the repository: not one
// string in it, tried as the HMAC key, reproduces a token the server issued,
// and tokens forged with them are refused. The key survives a restart, so
// sessions do too.
func TestDefaultStartSignsWithNoPublishedKey(t *testing.T) {
	published := testenv.PublishedStrings(t) // from the repository, before leaving it
	dir := t.TempDir()
	t.Chdir(dir) // the defaults put the database and the key under ./data
	s := startServer(t, nil)
	api := s.base + "/api/v1"
	if st, _ := call(t, "POST", api+"/users/register", "", map[string]any{"email": "kim@example.com", "password": "kimchi stew 9", "name": "Kim"}); st != 200 {
		t.Fatalf("register: %d", st)
	}
	st, env := call(t, "POST", api+"/users/login", "", map[string]any{"email": "kim@example.com", "password": "kimchi stew 9"})
	if st != 200 {
		t.Fatalf("login: %d", st)
	}
	id, token := data(env)["id"].(string), data(env)["token"].(string)

	keyFile := filepath.Join(dir, "data", "jwt-signing-key")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no key file beside the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	key, _ := os.ReadFile(keyFile)
	// The control: the check below does find the key among candidates.
	if _, ok := testenv.SignedWith(token, []string{strings.TrimSpace(string(key))}); !ok {
		t.Fatal("the token is not signed with the key file's key; the check below would prove nothing")
	}
	if len(published) < 1000 {
		t.Fatalf("only %d strings read from the repository", len(published))
	}
	if k, ok := testenv.SignedWith(token, published); ok {
		t.Fatalf("the server signs with %q, a string published in the repository", k)
	}
	// And forged tokens are refused end to end: every published string of a
	// key's length (the server takes no shorter key), sent as a real request.
	sent := 0
	for _, k := range published {
		if len(k) < 32 {
			continue
		}
		if st, _ := call(t, "GET", api+"/users/"+id, testenv.ForgeToken(k, id), nil); st != 401 {
			t.Fatalf("a token signed with %q: %d, want 401", k, st)
		}
		sent++
	}
	t.Logf("%d repository strings tried as keys, %d forged tokens sent", len(published), sent)

	// A restart keeps the key: the token issued before still works.
	s.shutdown(t)
	s = startServer(t, nil)
	if st, _ := call(t, "GET", s.base+"/api/v1/users/"+id, token, nil); st != 200 {
		t.Fatalf("token after a restart: %d, want 200 (the key is kept)", st)
	}
}

// Two instances on one database, each caching its users: a sign-out
// everywhere made on one reaches the other within MEALSYNC_USER_CACHE_TTL
// (0.5 s by default; the bound is 1 s, asserted here with slack for
// a loaded machine, and the time measured is logged).
func TestSignOutEverywhereReachesAnotherInstance(t *testing.T) {
	vars := map[string]string{"MEALSYNC_DATABASE_URL": testdb.PostgresURL(t)}
	if err := run(context.Background(), []string{"mealsync", "migrate"}, envFunc(vars), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	vars["MEALSYNC_JWT_SECRET"] = "a-secret-both-instances-share-0123456789"
	a, b := startServer(t, vars), startServer(t, vars)
	creds := map[string]any{"email": "two@example.com", "password": "two instances 2", "name": "Two"}
	if st, _ := call(t, "POST", a.base+"/api/v1/users/register", "", creds); st != 200 {
		t.Fatalf("register: %d", st)
	}
	st, env := call(t, "POST", a.base+"/api/v1/users/login", "", creds)
	if st != 200 {
		t.Fatalf("login: %d", st)
	}
	id, token := data(env)["id"].(string), data(env)["token"].(string)
	for range 3 { // B knows the user now, from its cache
		if st, _ := call(t, "GET", b.base+"/api/v1/users/"+id, token, nil); st != 200 {
			t.Fatalf("B before the sign-out: %d", st)
		}
	}
	if st, _ := call(t, "POST", a.base+"/api/v1/users/"+id+"/logout-all", token, nil); st != 204 {
		t.Fatalf("logout-all on A: %d", st)
	}
	ended := time.Now()
	if st, _ := call(t, "GET", a.base+"/api/v1/users/"+id, token, nil); st != 401 {
		t.Fatalf("A right after its own sign-out: %d, want 401 at once", st)
	}
	waitFor(t, 2*time.Second, "B to refuse the ended session", func() bool {
		st, _ := call(t, "GET", b.base+"/api/v1/users/"+id, token, nil)
		return st == 401
	})
	t.Logf("B refused the token %v after the sign-out on A", time.Since(ended).Round(time.Millisecond))
}
