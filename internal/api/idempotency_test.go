package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/generate"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/testdb"
)

// keyed sends a request with an Idempotency-Key.
func (e *env) keyed(method, path, token, key string, body any) response {
	e.t.Helper()
	return e.do(method, path, token, body, "Idempotency-Key", key)
}

// keyedRequest builds what keyed sends, for goroutines (roundTrip).
func (e *env) keyedRequest(method, path, token, key string, body []byte) *http.Request {
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	return req
}

func replayed(r response) bool { return r.header.Get("Idempotent-Replayed") == "true" }

// countRows counts rows of table matching where, straight from the database.
func countRows(t *testing.T, e *env, table, where string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// dbState sums up everything a write could change: row counts, the
// catalogue version, session epochs and the latest update times. Equal
// states before and after a request mean it wrote nothing.
func dbState(t *testing.T, e *env) string {
	t.Helper()
	vals := make([]any, 12)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	err := e.db.SQL().QueryRowContext(context.Background(), `SELECT
		(SELECT count(*) FROM users), (SELECT count(*) FROM refresh_tokens),
		(SELECT count(*) FROM recipes), (SELECT count(*) FROM user_recipes),
		(SELECT count(*) FROM meal_plans), (SELECT count(*) FROM meal_plan_meals),
		(SELECT count(*) FROM login_failures), (SELECT count(*) FROM idempotency_keys),
		(SELECT version FROM catalogue_version), (SELECT coalesce(sum(session_epoch), 0) FROM users),
		(SELECT max(updated_at) FROM users), (SELECT max(updated_at) FROM recipes)`).Scan(ptrs...)
	if err != nil {
		t.Fatalf("read the database's state: %v", err)
	}
	return fmt.Sprint(vals...)
}

func TestAnIdempotentRetryReplaysTheFirstAnswer(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("retry@example.com")
		body := with(validRecipeBody(), []any{"name"}, "Retried soup")
		first := e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "create-1", body), 201)
		if replayed(first) {
			t.Fatal("the first attempt is marked replayed")
		}
		e.clock.advance(time.Second)
		for _, key := range []string{"create-1", `"create-1"`} { // bare and quoted: one key
			again := e.expect(e.keyed("POST", "/api/v1/recipes", u.token, key, body), 201)
			if !replayed(again) || !bytes.Equal(again.raw, first.raw) {
				t.Fatalf("retry with key %s: replayed %v, body %s; want the first answer %s", key, replayed(again), again.raw, first.raw)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Content-Security-Policy"} {
				if again.header.Get(h) != first.header.Get(h) {
					t.Errorf("replayed %s = %q, first answer's %q", h, again.header.Get(h), first.header.Get(h))
				}
			}
		}
		if n := countRows(t, e, "recipes", "name = $1", "Retried soup"); n != 1 {
			t.Fatalf("%d recipes after a retry, want 1", n)
		}
		// Without a key the same request runs again: what the count above
		// proves is the key's doing.
		e.expect(e.do("POST", "/api/v1/recipes", u.token, body), 201)
		if n := countRows(t, e, "recipes", "name = $1", "Retried soup"); n != 2 {
			t.Fatalf("%d recipes after a request without a key, want 2", n)
		}

		// A client error is an answer too, replayed as such.
		bad := with(validRecipeBody(), []any{"name"}, "")
		r := e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "create-2", bad), 400)
		again := e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "create-2", bad), 400)
		if !replayed(again) || !bytes.Equal(again.raw, r.raw) {
			t.Fatalf("retried 400: replayed %v, %s; want %s", replayed(again), again.raw, r.raw)
		}
	})
}

func TestAnIdempotencyKeyNamesOneRequest(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("onekey@example.com")
		e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "k", with(validRecipeBody(), []any{"name"}, "First soup")), 201)
		for name, r := range map[string]response{
			"another body": e.keyed("POST", "/api/v1/recipes", u.token, "k", with(validRecipeBody(), []any{"name"}, "Second soup")),
			"another path": e.keyed("POST", "/api/v1/meal-plans", u.token, "k", map[string]any{"startDate": "2026-03-02", "numberOfDays": 1, "mealsPerDay": 1}),
			"a query":      e.keyed("POST", "/api/v1/recipes?x=1", u.token, "k", with(validRecipeBody(), []any{"name"}, "First soup")),
		} {
			if r.status != http.StatusUnprocessableEntity || !strings.HasPrefix(strings.Join(r.errors(), ""), "Idempotency-Key: ") {
				t.Errorf("%s with a used key: %d %s, want 422 on Idempotency-Key", name, r.status, r.raw)
			}
		}
		if n := countRows(t, e, "recipes", "name = $1", "Second soup"); n != 0 {
			t.Fatalf("a request refused with 422 wrote %d recipes", n)
		}
		if n := countRows(t, e, "meal_plans", "user_id = $1", u.id); n != 0 {
			t.Fatalf("a request refused with 422 wrote %d meal plans", n)
		}
	})
}

func TestIdempotencyKeysBelongToTheirUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		a, b := e.newUser("ada@example.com"), e.newUser("bob@example.com")
		body := with(validRecipeBody(), []any{"name"}, "Shared-key soup")
		ra := e.expect(e.keyed("POST", "/api/v1/recipes", a.token, "same-key", body), 201)
		rb := e.expect(e.keyed("POST", "/api/v1/recipes", b.token, "same-key", body), 201)
		if replayed(rb) || rb.data()["id"] == ra.data()["id"] {
			t.Fatalf("another user's identical key replayed the first user's answer: %s", rb.raw)
		}
		if n := countRows(t, e, "recipes", "name = $1", "Shared-key soup"); n != 2 {
			t.Fatalf("%d recipes, want one per user", n)
		}
		again := e.expect(e.keyed("POST", "/api/v1/recipes", b.token, "same-key", body), 201)
		if !replayed(again) || !bytes.Equal(again.raw, rb.raw) {
			t.Fatalf("bob's retry: %s, want his own first answer %s", again.raw, rb.raw)
		}
	})
}

// A retried DELETE answers as the first did; without a key, the thing is
// gone: 404, as for any unknown id.
func TestARetriedDeleteAnswersAsTheFirst(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("deleter@example.com")
		id := e.expect(e.do("POST", "/api/v1/recipes", u.token, validRecipeBody()), 201).data()["id"].(string)
		e.expect(e.keyed("DELETE", "/api/v1/recipes/"+id, u.token, "del-1", nil), 204)
		if r := e.expect(e.keyed("DELETE", "/api/v1/recipes/"+id, u.token, "del-1", nil), 204); !replayed(r) {
			t.Fatal("the retried DELETE was not a replay")
		}
		e.expect(e.do("DELETE", "/api/v1/recipes/"+id, u.token, nil), 404)
		e.expect(e.keyed("DELETE", "/api/v1/recipes/"+id, u.token, "del-2", nil), 404)
	})
}

// gatedProvider generates one new dish per call; the calls block names
// wait until released, so a test can hold a request inside its handler.
type gatedProvider struct {
	block   func(call int32) bool
	entered chan int32
	release chan struct{}
	fail    func(call int32) error
	calls   atomic.Int32
	opened  sync.Once
}

// open releases the blocked calls, and every later one.
func (p *gatedProvider) open() { p.opened.Do(func() { close(p.release) }) }

func newGatedProvider(block func(call int32) bool) *gatedProvider {
	return &gatedProvider{block: block, entered: make(chan int32, 16), release: make(chan struct{})}
}

func (p *gatedProvider) Name() string { return "gated" }

func (p *gatedProvider) Generate(ctx context.Context, _ generate.Request) ([]*mealsync.Recipe, error) {
	n := p.calls.Add(1)
	if p.block(n) {
		p.entered <- n
		select {
		case <-p.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if p.fail != nil {
		if err := p.fail(n); err != nil {
			return nil, err
		}
	}
	return []*mealsync.Recipe{{
		Name: fmt.Sprintf("Gated dish %d", n), Description: "Made while a test waited", Cuisine: "Test",
		Difficulty: "EASY", Ingredients: []mealsync.Ingredient{{Name: "egg", Quantity: "1"}},
		Instructions: []string{"Wait."}, Servings: 1,
	}}, nil
}

func (p *gatedProvider) DetectIngredients(context.Context, []byte, string) ([]mealsync.Ingredient, error) {
	return nil, mealsync.Errorf(mealsync.EUNAVAILABLE, "no detection here")
}

// waitEntered waits until a blocked call has started, and returns its number.
func (p *gatedProvider) waitEntered(t *testing.T) int32 {
	t.Helper()
	select {
	case n := <-p.entered:
		return n
	case <-time.After(time.Minute):
		t.Fatal("the request never reached the generator")
		return 0
	}
}

// newGatedEnv is an env whose recipe generator is p.
func newGatedEnv(t *testing.T, st testdb.Store, p *gatedProvider) *env {
	t.Helper()
	db := st.Open(t)
	return newEnv(t, db, func(d *api.Deps) {
		d.Kitchen = kitchen.New(db, db, db, p, d.Images, nil, d.Now, d.Log)
	})
}

// forEachGatedStore runs f on both databases with a gated generator.
func forEachGatedStore(t *testing.T, block func(call int32) bool, f func(t *testing.T, e *env, p *gatedProvider)) {
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) {
			p := newGatedProvider(block)
			e := newGatedEnv(t, st, p)
			t.Cleanup(p.open) // before the server closes: a failed test leaves no request hanging
			f(t, e, p)
		})
	}
}

const generatePath = "/api/v1/recipes/generate-recipes"

var generateBody = []byte(`{"ingredients":["egg"]}`)

// sendAsync sends req from another goroutine; the answer arrives on the
// channel.
func (e *env) sendAsync(req *http.Request) <-chan response {
	out := make(chan response, 1)
	go func() {
		r, err := roundTrip(e.srv, req)
		if err != nil {
			r = response{status: -1, raw: []byte(err.Error())}
		}
		out <- r
	}()
	return out
}

func receive(t *testing.T, ch <-chan response) response {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(time.Minute):
		t.Fatal("no answer within a minute")
		return response{}
	}
}

func TestADuplicateWhileTheFirstRunsIs409(t *testing.T) {
	forEachGatedStore(t, func(n int32) bool { return n == 1 }, func(t *testing.T, e *env, p *gatedProvider) {
		u := e.newUser("patient@example.com")
		first := e.sendAsync(e.keyedRequest("POST", generatePath, u.token, "gen-1", generateBody))
		p.waitEntered(t)

		dup := e.keyed("POST", generatePath, u.token, "gen-1", generateBody)
		if dup.status != http.StatusConflict || dup.header.Get("Retry-After") != "1" ||
			!strings.HasPrefix(strings.Join(dup.errors(), ""), "Idempotency-Key: ") {
			t.Fatalf("a duplicate while the first runs: %d, Retry-After %q, %s; want 409, 1, on Idempotency-Key",
				dup.status, dup.header.Get("Retry-After"), dup.raw)
		}
		if other := e.keyed("POST", generatePath, u.token, "gen-1", `{"ingredients":["milk"]}`); other.status != http.StatusUnprocessableEntity {
			t.Fatalf("another request with the running key: %d %s, want 422", other.status, other.raw)
		}
		p.open()
		r := receive(t, first)
		if r.status != 200 || replayed(r) {
			t.Fatalf("the first attempt: %d replayed %v %s", r.status, replayed(r), r.raw)
		}
		again := e.expect(e.keyed("POST", generatePath, u.token, "gen-1", generateBody), 200)
		if !replayed(again) || !bytes.Equal(again.raw, r.raw) {
			t.Fatalf("the retry after it: %s, want the first answer %s", again.raw, r.raw)
		}
		if calls := p.calls.Load(); calls != 1 {
			t.Fatalf("the generator ran %d times, want once", calls)
		}
	})
}

// Many identical requests at once: one runs, each of the others gets its
// answer or 409, and one recipe exists.
func TestConcurrentDuplicatesApplyOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("burst@example.com")
		body, _ := json.Marshal(with(validRecipeBody(), []any{"name"}, "Burst soup"))
		const n = 8
		start := make(chan struct{})
		answers := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			req := e.keyedRequest("POST", "/api/v1/recipes", u.token, "burst", body)
			wg.Go(func() {
				<-start
				r, err := roundTrip(e.srv, req)
				if err != nil {
					r = response{status: -1, raw: []byte(err.Error())}
				}
				answers[i] = r
			})
		}
		close(start)
		wg.Wait()
		var ran []response
		conflicts := 0
		for _, r := range answers {
			switch {
			case r.status == 201 && !replayed(r):
				ran = append(ran, r)
			case r.status == 201:
			case r.status == 409:
				conflicts++
			default:
				t.Fatalf("a concurrent duplicate answered %d %s", r.status, r.raw)
			}
		}
		if len(ran) != 1 {
			t.Fatalf("%d attempts ran, want exactly 1", len(ran))
		}
		for _, r := range answers {
			if r.status == 201 && !bytes.Equal(r.raw, ran[0].raw) {
				t.Fatalf("a replay differs from the answer: %s vs %s", r.raw, ran[0].raw)
			}
		}
		if got := countRows(t, e, "recipes", "name = $1", "Burst soup"); got != 1 {
			t.Fatalf("%d recipes after %d concurrent duplicates, want 1", got, n)
		}
		t.Logf("%d concurrent duplicates: 1 ran, %d got 409, %d got the replay", n, conflicts, n-1-conflicts)
	})
}

// An instance died while its attempt held the key: the retry gets 409
// until the lease runs out, then runs, once.
func TestARetryRunsOnceTheCrashedAttemptsLeaseEnds(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("crash@example.com")
		body, _ := json.Marshal(with(validRecipeBody(), []any{"name"}, "Orphan soup"))
		now := e.clock.now()
		dead := &mealsync.IdempotencyRecord{
			UserID: u.id, Key: "crash-1", Fingerprint: api.Fingerprint("POST", "/api/v1/recipes", body),
			Attempt: "an attempt on an instance that was killed", LeaseUntil: now.Add(mealsync.IdempotencyLease),
			CreatedAt: now, ExpiresAt: now.Add(mealsync.IdempotencyTTL),
		}
		if held, err := e.db.ReserveIdempotencyKey(context.Background(), dead, now); err != nil || held != nil {
			t.Fatalf("reserve as the dead attempt: %+v, %v", held, err)
		}
		e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "crash-1", body), 409)
		e.clock.advance(mealsync.IdempotencyLease - time.Millisecond)
		e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "crash-1", body), 409)
		if n := countRows(t, e, "recipes", "name = $1", "Orphan soup"); n != 0 {
			t.Fatalf("%d recipes while the key was held", n)
		}
		e.clock.advance(time.Millisecond)
		r := e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "crash-1", body), 201)
		if replayed(r) {
			t.Fatal("the retry after the lease was a replay of nothing")
		}
		again := e.expect(e.keyed("POST", "/api/v1/recipes", u.token, "crash-1", body), 201)
		if !replayed(again) || !bytes.Equal(again.raw, r.raw) {
			t.Fatalf("the next retry: %s, want %s replayed", again.raw, r.raw)
		}
		if n := countRows(t, e, "recipes", "name = $1", "Orphan soup"); n != 1 {
			t.Fatalf("%d recipes, want 1", n)
		}
	})
}

// A live attempt renews its lease while it runs: a duplicate that comes
// after the first lease would have ended still gets 409.
func TestALiveAttemptKeepsItsKey(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a lease renewal (a third of the lease, in real time)")
	}
	forEachGatedStore(t, func(n int32) bool { return n == 1 }, func(t *testing.T, e *env, p *gatedProvider) {
		u := e.newUser("slow@example.com")
		t0 := e.clock.now()
		first := e.sendAsync(e.keyedRequest("POST", generatePath, u.token, "long", generateBody))
		p.waitEntered(t)
		e.clock.advance(mealsync.IdempotencyLease / 2)
		deadline := time.Now().Add(time.Minute)
		poll := time.NewTicker(50 * time.Millisecond)
		defer poll.Stop()
		for {
			var until time.Time
			err := e.db.SQL().QueryRowContext(context.Background(), `SELECT lease_until FROM idempotency_keys
				WHERE user_id = $1 AND idempotency_key = $2`, u.id, "long").Scan(&until)
			if err != nil {
				t.Fatal(err)
			}
			if until.After(t0.Add(mealsync.IdempotencyLease)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the lease was never renewed (still until %s)", until)
			}
			<-poll.C
		}
		e.clock.advance(mealsync.IdempotencyLease/2 + time.Second) // past the first lease
		if r := e.keyed("POST", generatePath, u.token, "long", generateBody); r.status != http.StatusConflict {
			t.Fatalf("a duplicate after the first lease: %d %s, want 409 (the attempt renewed it)", r.status, r.raw)
		}
		p.open()
		if r := receive(t, first); r.status != 200 {
			t.Fatalf("the long attempt: %d %s", r.status, r.raw)
		}
		if calls := p.calls.Load(); calls != 1 {
			t.Fatalf("the generator ran %d times, want once", calls)
		}
	})
}

// An attempt that stalled past its lease while a retry took the key over
// writes nothing when it wakes up: the retry's answer is the key's.
func TestAnAttemptThatLostItsKeyWritesNothing(t *testing.T) {
	forEachGatedStore(t, func(n int32) bool { return n == 1 }, func(t *testing.T, e *env, p *gatedProvider) {
		u := e.newUser("stalled@example.com")
		stalled := e.sendAsync(e.keyedRequest("POST", generatePath, u.token, "stall", generateBody))
		p.waitEntered(t)
		e.clock.advance(mealsync.IdempotencyLease + time.Second)
		retry := e.expect(e.keyed("POST", generatePath, u.token, "stall", generateBody), 200)
		if replayed(retry) {
			t.Fatal("the retry replayed an answer nobody recorded")
		}
		p.open()
		if r := receive(t, stalled); r.status != http.StatusConflict {
			t.Fatalf("the stalled attempt: %d %s, want 409 (another attempt took its key)", r.status, r.raw)
		}
		if n := countRows(t, e, "recipes", "name = $1", "Gated dish 1"); n != 0 {
			t.Fatalf("the stalled attempt stored its recipe (%d)", n)
		}
		if n := countRows(t, e, "recipes", "name = $1", "Gated dish 2"); n != 1 {
			t.Fatalf("the retry's recipe: %d, want 1", n)
		}
		again := e.expect(e.keyed("POST", generatePath, u.token, "stall", generateBody), 200)
		if !replayed(again) || !bytes.Equal(again.raw, retry.raw) {
			t.Fatalf("the key's answer: %s, want the retry's %s", again.raw, retry.raw)
		}
	})
}

// A server error is not kept: the attempt's writes are rolled back and the
// retry runs again at once.
func TestAServerErrorIsNotReplayed(t *testing.T) {
	forEachGatedStore(t, func(int32) bool { return false }, func(t *testing.T, e *env, p *gatedProvider) {
		p.fail = func(n int32) error {
			if n == 1 {
				return mealsync.Errorf(mealsync.EUPSTREAM, "the generator failed")
			}
			return nil
		}
		u := e.newUser("unlucky@example.com")
		e.expect(e.keyed("POST", generatePath, u.token, "flaky", generateBody), 502)
		r := e.expect(e.keyed("POST", generatePath, u.token, "flaky", generateBody), 200)
		if replayed(r) || p.calls.Load() != 2 {
			t.Fatalf("the retry after a 502: replayed %v, %d generator calls; want a second run", replayed(r), p.calls.Load())
		}
		if again := e.expect(e.keyed("POST", generatePath, u.token, "flaky", generateBody), 200); !replayed(again) {
			t.Fatal("the answer of the successful retry is not kept")
		}
	})
}

func TestIdempotencyKeyHeaderRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("keys@example.com")
		before := dbState(t, e)
		for _, key := range []string{
			strings.Repeat("k", mealsync.MaxIdempotencyKeyLen+1), "é", "\t", `""`, `"a\b"`, `"a"b"`, `"open`,
		} {
			r := e.keyed("POST", "/api/v1/recipes", u.token, key, validRecipeBody())
			if r.status != 400 || !strings.HasPrefix(strings.Join(r.errors(), ""), "Idempotency-Key: ") {
				t.Errorf("key %q: %d %s, want 400 on Idempotency-Key", key, r.status, r.raw)
			}
		}
		req := e.keyedRequest("POST", "/api/v1/recipes", u.token, "one", mustJSON(validRecipeBody()))
		req.Header.Add("Idempotency-Key", "two")
		if r := e.send(e.srv, req); r.status != 400 {
			t.Errorf("two Idempotency-Key headers: %d %s, want 400", r.status, r.raw)
		}
		if after := dbState(t, e); after != before {
			t.Fatalf("refused keys wrote: %s -> %s", before, after)
		}
		for _, key := range []string{strings.Repeat("k", mealsync.MaxIdempotencyKeyLen), "a key with spaces", `"quoted \"and\" escaped"`, "~!@#$%^&*()"} {
			e.expect(e.keyed("POST", "/api/v1/recipes", u.token, key, validRecipeBody()), 201)
		}
		// A key is checked after authentication: no token, no key handling.
		e.expect(e.keyed("POST", "/api/v1/recipes", "", "é", validRecipeBody()), 401)
	})
}

// keyIgnoredRoutes are the writes whose answers are secrets: a key there
// has no effect (docs/API.md says why): the anonymous ones, which answer
// with tokens and have no user to scope a key to, and the live-sync ticket,
// which is single-use, so a replayed one would already be spent.
var keyIgnoredRoutes = map[string]bool{
	"POST /api/v1/users/register": true, "POST /api/v1/users/login": true, "POST /api/v1/users/refresh": true,
	"POST /api/v1/sync/ticket": true,
}

// sessionEnders end the sessions of the user they act on: the sweep sends
// them with an admin's token, whose retry can still authenticate.
var sessionEnders = map[string]bool{"POST /api/v1/users/{id}/logout-all": true}

// Every write routes.go registers takes a key: sent twice, the second
// answer is the first's, replayed, and writes nothing. A route added
// without the idempotent wrapper fails here.
func TestEveryWriteTakesAnIdempotencyKey(t *testing.T) {
	routes := registeredRoutes(t)
	forEachStore(t, func(t *testing.T, e *env) {
		checked := 0
		for n, route := range routes {
			method, path, _ := strings.Cut(route, " ")
			if method != "POST" && method != "PUT" && method != "PATCH" && method != "DELETE" {
				continue
			}
			e.clock.advance(time.Hour) // a fresh login throttle for each route
			f := newSweepFixture(e, n)
			token := f.user.token
			if adminRoutes[route] || sessionEnders[route] {
				token = f.admin.token
			}
			var body []byte
			contentType := "application/json"
			if multipartRoutes[route] {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				w, _ := mw.CreateFormFile("image", "dish.png")
				w.Write(pngImage(t, 3, 3, color.White))
				mw.Close()
				body, contentType = buf.Bytes(), mw.FormDataContentType()
			} else if b, ok := f.sampleBodies()[route]; ok && b != nil {
				body = mustJSON(b)
			}
			send := func() response {
				var b any
				if body != nil {
					b = body
				}
				return e.do(method, f.fill(path, ""), token, b, "Idempotency-Key", "every-route", "Content-Type", contentType)
			}
			first := send()
			e.clock.advance(time.Second) // a write that ran again would stamp another time
			before := dbState(t, e)
			second := send()
			after := dbState(t, e)
			switch {
			case keyIgnoredRoutes[route]:
				if replayed(second) {
					t.Errorf("%s: the key was honoured on an anonymous route", route)
				}
			case first.status >= 500:
				// Not kept: only ingredient detection, without a provider.
				if !featureOff(route, first) || replayed(second) {
					t.Errorf("%s: %d %s, then replayed %v", route, first.status, first.raw, replayed(second))
				}
			default:
				checked++
				if !replayed(second) || second.status != first.status || !bytes.Equal(second.raw, first.raw) {
					t.Errorf("%s: first %d %s, retry %d (replayed %v) %s; want the first answer replayed",
						route, first.status, truncate(first.raw), second.status, replayed(second), truncate(second.raw))
				}
				if before != after {
					t.Errorf("%s: the replay wrote: %s -> %s", route, before, after)
				}
			}
		}
		if checked < 15 {
			t.Fatalf("only %d write routes were checked", checked)
		}
	})
}
