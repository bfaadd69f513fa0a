package api_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestRequestsPastTheBoundAreShed holds the one slot of an instance with
// MEALSYNC_MAX_IN_FLIGHT=1 by a sign-in whose body does not come, and
// checks that another request waits its admission time and is answered 429
// with Retry-After (counted as shed), that the probes still answer, and
// that once the slot is free requests are served again.
func TestRequestsPastTheBoundAreShed(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), func(d *api.Deps) { d.MaxInFlight, d.AdmissionWait = 1, 200*time.Millisecond })

	release, held := holdTheSlot(t, e)
	began := time.Now()
	r := e.expect(e.do("GET", "/api/v1/recipes", "", nil), http.StatusTooManyRequests)
	if waited := time.Since(began); waited < 200*time.Millisecond {
		t.Errorf("shed after %s, before the admission wait of 200ms", waited)
	}
	if r.header.Get("Retry-After") != "1" || len(r.errors()) != 1 {
		t.Errorf("429: Retry-After %q, errors %v", r.header.Get("Retry-After"), r.errors())
	}
	if n := e.gauge("mealsync_http_requests_shed_total"); n != 1 {
		t.Errorf("shed counter %v, want 1", n)
	}
	e.expect(e.do("GET", "/actuator/health/readiness", "", nil), http.StatusOK)

	release()
	if st := <-held; st != http.StatusUnauthorized && st != http.StatusBadRequest {
		t.Errorf("the slot's holder got %d, want its own answer (401 or 400)", st)
	}
	e.expect(e.do("GET", "/api/v1/recipes", "", nil), http.StatusOK)
	if n := e.gauge("mealsync_http_requests_shed_total"); n != 1 {
		t.Errorf("shed counter %v after the slot came free, want still 1", n)
	}
}

// TestARequestWaitingForASlotIsServed: with the admission wait long, a
// request that arrives while the only slot is held is served once it frees.
func TestARequestWaitingForASlotIsServed(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), func(d *api.Deps) { d.MaxInFlight, d.AdmissionWait = 1, time.Minute })
	release, held := holdTheSlot(t, e)
	waiting := make(chan response, 1)
	go func() {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/recipes", nil)
		r, err := roundTrip(e.srv, req)
		if err != nil {
			r.status, r.raw = 0, []byte(err.Error())
		}
		waiting <- r
	}()
	testenv.WaitFor(t, 10*time.Second, "a second request waiting for the slot", func() bool { return e.gauge("http_server_requests_in_flight") == 2 })
	release()
	<-held
	if got := <-waiting; got.status != http.StatusOK {
		t.Fatalf("the waiting request got %d, want 200: %s", got.status, got.raw)
	}
	if n := e.gauge("mealsync_http_requests_shed_total"); n != 0 {
		t.Errorf("shed counter %v, want 0", n)
	}
}

// holdTheSlot starts a sign-in whose body does not come until release is
// called, and waits until it is in flight (holding the instance's one slot);
// held receives its status.
func holdTheSlot(t *testing.T, e *env) (release func(), held chan int) {
	t.Helper()
	body, feed := io.Pipe()
	held = make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/users/login", body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	testenv.WaitFor(t, 10*time.Second, "the sign-in to hold the slot", func() bool { return e.gauge("http_server_requests_in_flight") == 1 })
	return func() {
		feed.Write([]byte(`{"email":"nobody@example.com","password":"wrong password 1"}`))
		feed.Close()
	}, held
}

// gauge reads one unlabelled sample from the ops listener's metrics.
func (e *env) gauge(name string) float64 {
	e.t.Helper()
	text := string(e.expect(e.doOps("GET", "/actuator/prometheus"), http.StatusOK).raw)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		e.t.Fatalf("no %s in the metrics", name)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// TestLiveConnectionsTakeNoSlot: devices connected to the sync feed stay
// connected for hours; with MEALSYNC_MAX_IN_FLIGHT=1 two of them (a
// WebSocket and an event stream, each connected once its dial returns) are
// open and requests are still served.
func TestLiveConnectionsTakeNoSlot(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), func(d *api.Deps) { d.MaxInFlight, d.AdmissionWait = 1, 100*time.Millisecond })
	u, other := e.newUser("live@example.com"), e.newUser("other@example.com")
	e.household(u, other)
	if _, _, err := dialWS(t, e, u.token, "since="+strconv.FormatInt(e.revision(u.token), 10)); err != nil {
		t.Fatalf("WebSocket: %v", err)
	}
	dialSSE(t, e, e.ticket(other.token), "")
	e.expect(e.do("GET", "/api/v1/recipes/saved", u.token, nil), http.StatusOK)
	if n := e.gauge("mealsync_http_requests_shed_total"); n != 0 {
		t.Errorf("shed counter %v with only live connections open, want 0", n)
	}
}
