// Package idempotency_test proves, with real processes, what docs/API.md
// promises a client whose write was cut off by an instance that died: a
// retry with the same Idempotency-Key is applied exactly once, whether the
// instance died after committing the write or before.
//
// Two `mealsync serve` processes share a PostgreSQL database behind the
// repository's nginx, the second as a backup server, so the write goes to
// the first. The first one is SIGKILLed while the client's request is in
// flight:
//
//   - after its commit: a proxy between nginx and the instance holds the
//     instance's answer back, as a network that fails does, so the kill
//     finds the write committed and the client without an answer;
//   - before its commit: the test holds a row lock the write needs, so the
//     kill finds the write uncommitted and the key reserved.
//
// No code in the server knows about any of this: no hook, no variable.
package idempotency_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// site is two instances on one database behind nginx: writes go to first,
// through a holding proxy; second is nginx's backup server.
type site struct {
	t      *testing.T
	db     *sql.DB
	first  *testenv.Instance
	proxy  *holdingProxy
	second *testenv.Instance
	nginx  *testenv.Nginx
	token  string // an access token of a user of the site
}

func startSite(t *testing.T, dbURL string) *site {
	t.Helper()
	env := map[string]string{
		"MEALSYNC_MIGRATE_ON_START": "true",
		// Instances side by side share one key, as production's do.
		"MEALSYNC_JWT_SECRET":               "idempotency-test-secret-shared-by-both-instances",
		"MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0",
	}
	opts := testenv.Options{Binary: testenv.BuildMealsync(t), DatabaseURL: dbURL, Env: env}
	s := &site{t: t}
	s.first = testenv.StartMealsync(t, opts)
	s.second = testenv.StartMealsync(t, opts)
	s.proxy = startHoldingProxy(t, s.first.Addr)
	s.nginx = testenv.StartNginx(t, "", []string{s.proxy.addr(), s.second.Addr + " backup"})
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s.db = db

	email := fmt.Sprintf("crash-%d@example.com", time.Now().UnixNano())
	call(t, http.MethodPost, s.second.URL+"/api/v1/users/register", "", "",
		map[string]string{"email": email, "password": "Sup3r-secret-pw", "name": "Crash"}, http.StatusOK)
	login := call(t, http.MethodPost, s.second.URL+"/api/v1/users/login", "", "",
		map[string]string{"email": email, "password": "Sup3r-secret-pw"}, http.StatusOK)
	var session struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.Unmarshal(login, &session); err != nil || session.Data.Token == "" {
		t.Fatalf("login: %v: %s", err, login)
	}
	s.token = session.Data.Token
	return s
}

// call sends one request straight to an instance and expects status.
func call(t *testing.T, method, url, token, key string, body any, status int) []byte {
	t.Helper()
	resp, raw, err := send(http.DefaultClient, newRequest(t, method, url, token, key, body))
	if err != nil || resp.StatusCode != status {
		t.Fatalf("%s %s: %v %v %s, want %d", method, url, statusOf(resp), err, raw, status)
	}
	return raw
}

func newRequest(t *testing.T, method, url, token, key string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return req
}

func send(c *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp, raw, err
}

func statusOf(resp *http.Response) any {
	if resp == nil {
		return "no answer"
	}
	return resp.StatusCode
}

// answer is what the retrying client finally got, and what each attempt
// got on the way.
type answer struct {
	resp     *http.Response
	body     []byte
	attempts []string // "502", "409", "connection: EOF", …
}

// retryUntilAnswered is the client docs/API.md describes: it sends the
// request, with its key, again after a broken connection or a 502, 503 or
// 504 from the proxy, and after Retry-After on a 409 (the first attempt may
// still hold the key), until the API answers — within a minute.
func retryUntilAnswered(req func() *http.Request) answer {
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(time.Minute)
	var a answer
	for {
		resp, body, err := send(c, req())
		var wait time.Duration
		switch {
		case err != nil:
			a.attempts = append(a.attempts, "connection: "+err.Error())
			wait = 100 * time.Millisecond
		case resp.StatusCode == http.StatusConflict:
			a.attempts = append(a.attempts, "409")
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			wait = time.Duration(max(secs, 1)) * time.Second
		case resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout:
			a.attempts = append(a.attempts, strconv.Itoa(resp.StatusCode))
			wait = 100 * time.Millisecond
		default:
			a.attempts = append(a.attempts, strconv.Itoa(resp.StatusCode))
			a.resp, a.body = resp, body
			return a
		}
		if time.Now().Add(wait).After(deadline) {
			return a
		}
		<-time.After(wait) // the client's back-off before its next attempt
	}
}

// retryAsync runs retryUntilAnswered in the background.
func retryAsync(req func() *http.Request) <-chan answer {
	ch := make(chan answer, 1)
	go func() { ch <- retryUntilAnswered(req) }()
	return ch
}

func (s *site) await(ch <-chan answer) answer {
	s.t.Helper()
	select {
	case a := <-ch:
		if a.resp == nil {
			s.t.Fatalf("the client got no answer within a minute: %v", a.attempts)
		}
		return a
	case <-time.After(2 * time.Minute):
		s.t.Fatal("the client never returned")
		return answer{}
	}
}

// killFirst SIGKILLs the first instance, as a crash would, and closes its
// proxy: from then on its address refuses connections, as a dead
// instance's does.
func (s *site) killFirst() {
	s.first.Kill()
	s.proxy.close()
}

// completed reports whether the key's answer is recorded in the database.
func (s *site) completed(key string) bool {
	var status sql.NullInt64
	err := s.db.QueryRow(`SELECT response_status FROM idempotency_keys WHERE idempotency_key = $1`, key).Scan(&status)
	if err != nil && err != sql.ErrNoRows {
		s.t.Fatal(err)
	}
	return status.Valid
}

func (s *site) count(table, where string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func recipe(name string) map[string]any {
	return map[string]any{
		"name": name, "cuisine": "Test", "description": "Written while an instance died",
		"ingredients":  []any{map[string]any{"name": "water", "quantity": "1", "unit": "l"}},
		"instructions": []any{"Boil it"}, "difficulty": "EASY",
	}
}

func TestAWriteCutOffByACrashIsAppliedOnce(t *testing.T) {
	dbURL := testdb.PostgresURL(t)

	t.Run("POST, killed after its commit", func(t *testing.T) {
		s := startSite(t, dbURL)
		const key, name = "crash-after-commit", "Soup of a killed instance"
		answered := retryAsync(func() *http.Request {
			return newRequest(t, http.MethodPost, s.nginx.URL+"/api/v1/recipes", s.token, key, recipe(name))
		})
		testenv.WaitFor(t, time.Minute, "the first instance to commit the write and answer into the proxy", func() bool {
			return s.completed(key) && len(s.proxy.held()) > 0
		})
		held := s.proxy.heldResponse(t)
		s.killFirst()
		a := s.await(answered)
		if held.StatusCode != http.StatusCreated || a.resp.StatusCode != http.StatusCreated ||
			a.resp.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(a.body, held.body) {
			t.Fatalf("after the crash the client got %d (replayed %q) %s; the dead instance had answered %d %s",
				a.resp.StatusCode, a.resp.Header.Get("Idempotent-Replayed"), a.body, held.StatusCode, held.body)
		}
		if a.attempts[0] == "201" {
			t.Fatalf("the first attempt was answered (%v): the crash cut nothing off", a.attempts)
		}
		if n := s.count("recipes", "name = $1", name); n != 1 {
			t.Fatalf("%d recipes after the crash and the retries, want 1", n)
		}
		t.Logf("the client's attempts: %v", a.attempts)
	})

	t.Run("DELETE, killed after its commit", func(t *testing.T) {
		s := startSite(t, dbURL)
		var created struct {
			Data struct{ ID string } `json:"data"`
		}
		raw := call(t, http.MethodPost, s.second.URL+"/api/v1/recipes", s.token, "", recipe("Soon deleted"), http.StatusCreated)
		if err := json.Unmarshal(raw, &created); err != nil {
			t.Fatal(err)
		}
		const key = "delete-after-commit"
		path := "/api/v1/recipes/" + created.Data.ID
		answered := retryAsync(func() *http.Request {
			return newRequest(t, http.MethodDelete, s.nginx.URL+path, s.token, key, nil)
		})
		testenv.WaitFor(t, time.Minute, "the first instance to commit the delete and answer into the proxy", func() bool {
			return s.completed(key) && len(s.proxy.held()) > 0
		})
		s.killFirst()
		// nginx itself sends a DELETE again to the other instance (the
		// method is idempotent); either way the client gets the first
		// answer, not the 404 of a thing already gone.
		a := s.await(answered)
		if a.resp.StatusCode != http.StatusNoContent || a.resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the retried DELETE: %d (replayed %q) %s, want the first answer, 204, replayed (attempts %v)",
				a.resp.StatusCode, a.resp.Header.Get("Idempotent-Replayed"), a.body, a.attempts)
		}
		if n := s.count("recipes", "id = $1", created.Data.ID); n != 0 {
			t.Fatal("the recipe is still there")
		}
		// Without a key, a retry cannot know it was its own delete.
		call(t, http.MethodDelete, s.second.URL+path, s.token, "", nil, http.StatusNotFound)
		t.Logf("the client's attempts: %v", a.attempts)
	})

	t.Run("POST, killed before its commit", func(t *testing.T) {
		s := startSite(t, dbURL)
		// Every recipe write bumps the catalogue version in its own
		// transaction: holding that row holds the write before its commit.
		lock, err := s.db.BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Rollback()
		if _, err := lock.Exec(`SELECT version FROM catalogue_version WHERE id = 1 FOR UPDATE`); err != nil {
			t.Fatal(err)
		}
		const key, name = "crash-before-commit", "Soup nobody committed"
		answered := retryAsync(func() *http.Request {
			return newRequest(t, http.MethodPost, s.nginx.URL+"/api/v1/recipes", s.token, key, recipe(name))
		})
		testenv.WaitFor(t, time.Minute, "the first instance's write to wait for the lock", func() bool {
			return s.count("pg_stat_activity", "datname = current_database() AND wait_event_type = 'Lock'") > 0
		})
		s.killFirst()
		killed := time.Now()
		if err := lock.Rollback(); err != nil {
			t.Fatal(err)
		}
		a := s.await(answered)
		took := time.Since(killed)
		if a.resp.StatusCode != http.StatusCreated || a.resp.Header.Get("Idempotent-Replayed") == "true" {
			t.Fatalf("after the crash the client got %d (replayed %q) %s, want 201 from a run of its own (attempts %v)",
				a.resp.StatusCode, a.resp.Header.Get("Idempotent-Replayed"), a.body, a.attempts)
		}
		if n := s.count("recipes", "name = $1", name); n != 1 {
			t.Fatalf("%d recipes after the crash and the retries, want 1", n)
		}
		// The key stayed reserved by the dead attempt until its lease ran
		// out: the retries in between were told to wait, not run.
		if !strings.Contains(strings.Join(a.attempts, " "), "409") {
			t.Errorf("no retry was told to wait for the dead attempt's lease: %v", a.attempts)
		}
		if took > time.Minute-mealsync.IdempotencyLease {
			t.Errorf("the retry ran %s after the crash; the lease is %s", took, mealsync.IdempotencyLease)
		}
		t.Logf("the retry ran %s after the crash (lease %s); the client's attempts: %v",
			took.Round(time.Millisecond), mealsync.IdempotencyLease, a.attempts)
	})
}

// holdingProxy passes what nginx sends on to an instance and keeps what the
// instance answers to itself: nginx never gets the answer, as when the
// network fails after the instance has answered.
type holdingProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	buf    bytes.Buffer
}

func startHoldingProxy(t *testing.T, target string) *holdingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdingProxy{ln: ln, target: target}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *holdingProxy) addr() string { return p.ln.Addr().String() }

func (p *holdingProxy) close() { p.ln.Close() }

// serve connects client to the target until the target's side ends (the
// instance died), then drops the client's connection without a word.
func (p *holdingProxy) serve(client net.Conn) {
	defer client.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, client)
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		p.mu.Lock()
		p.buf.Write(buf[:n])
		p.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// held returns what the instance has answered so far.
func (p *holdingProxy) held() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.buf.Bytes())
}

// heldAnswer is the instance's answer the client never got.
type heldAnswer struct {
	*http.Response
	body []byte
}

// heldResponse parses the held answer, once it is complete.
func (p *holdingProxy) heldResponse(t *testing.T) heldAnswer {
	t.Helper()
	var h heldAnswer
	testenv.WaitFor(t, time.Minute, "the instance's whole answer to reach the proxy", func() bool {
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p.held())), nil)
		if err != nil {
			return false
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return false
		}
		h = heldAnswer{resp, body}
		return true
	})
	return h
}
