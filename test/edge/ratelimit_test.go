package edge_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// The API allows 100 requests/s per client with burst=99 nodelay: nginx's
// leaky bucket lets the first 100 requests of a burst through, whatever their
// timing, and refuses the 101st unless the bucket has leaked meanwhile (one
// request per 10 ms). So of N requests that reach nginx within a span of S
// seconds, between 100 and 100+ceil(100·S)+2 pass (the +2 for nginx's
// millisecond clocks), and the rest get 429 without reaching an instance.
func TestAPIRateLimit(t *testing.T) {
	apps := startApps(t, 2)
	n := testenv.StartNginx(t, "", addrs(apps))
	const total = 200
	ip := newClientIP()
	client := clientFrom(ip, total)

	// Open the connections first (on /nginx-health, which is not limited),
	// so the burst is requests only, not TCP handshakes.
	var wg sync.WaitGroup
	errs := make([]error, total)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = send(client, "GET", n.URL+"/nginx-health", nil)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	before := servedByAll(t, apps, "GET /api/v1/recipes")
	start := make(chan struct{})
	status := make([]int, total)
	for i := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status[i], errs[i] = send(client, "GET", n.URL+"/api/v1/recipes?limit=1",
				map[string]string{"X-Request-ID": fmt.Sprintf("burst-%03d", i)})
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	passed, refused := 0, 0
	for i, s := range status {
		switch s {
		case http.StatusOK:
			passed++
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("request %d: status %d, want 200 or 429", i, s)
		}
	}
	log := waitAccessLog(t, n, total, func(e accessEntry) bool { return strings.HasPrefix(e.RequestID, "burst-") })
	if len(log) != total {
		t.Fatalf("%d burst requests in the access log, want %d", len(log), total)
	}
	first, last := math.Inf(1), math.Inf(-1)
	for _, e := range log {
		first, last = math.Min(first, e.arrived()), math.Max(last, e.arrived())
		if e.RemoteAddr != ip {
			t.Errorf("nginx saw the client as %s, want %s", e.RemoteAddr, ip)
		}
		if want := map[int]string{200: "PASSED", 429: "REJECTED"}[e.Status]; e.LimitReq != want {
			t.Errorf("%s: status %d, limit_req %q, want %q", e.RequestID, e.Status, e.LimitReq, want)
		}
		if e.Status == 429 && e.UpstreamAddr != "" {
			t.Errorf("%s: refused, yet sent to %s", e.RequestID, e.UpstreamAddr)
		}
	}
	span := last - first
	allowed := 100 + int(math.Ceil(span*100)) + 2
	t.Logf("%d requests arrived within %.3f s: %d passed, %d refused (nginx allows %d..%d)",
		total, span, passed, refused, 100, allowed)

	if passed < 100 {
		t.Errorf("only %d requests of a burst passed; the burst allows 100", passed)
	}
	if passed > allowed {
		t.Errorf("%d requests passed within %.3f s; the limit allows at most %d", passed, span, allowed)
	}
	if span < float64(total-101)/100 && refused == 0 {
		t.Errorf("%d requests within %.3f s and none refused: no rate limit", total, span)
	} else if span >= float64(total-101)/100 {
		t.Fatalf("the burst took %.3f s to reach nginx: too slow to tell a limit from none", span)
	}
	if got := servedByAll(t, apps, "GET /api/v1/recipes") - before; got != passed {
		t.Errorf("the instances served %d of the burst, want the %d that passed", got, passed)
	}
}

// Login allows 5 attempts per minute per client (burst=4 nodelay): five at
// once, then one every 12 s. The 6th attempt in a row is refused by nginx,
// before the app (whose own lockout answers 429 too) ever sees it.
func TestLoginRateLimit(t *testing.T) {
	apps := startApps(t, 2)
	n := testenv.StartNginx(t, "", addrs(apps))
	client := clientFrom(newClientIP(), 1)
	login := func(c *http.Client, email string) (int, []byte) {
		resp, body := do(t, c, "POST", n.URL+"/api/v1/users/login",
			jsonBody(map[string]string{"email": email, "password": "not-the-password"}), jsonHeader)
		return resp.StatusCode, body
	}

	before := servedByAll(t, apps, "POST /api/v1/users/login")
	started := time.Now()
	for i := 1; i <= 5; i++ {
		if code, body := login(client, "nobody@example.com"); code != http.StatusUnauthorized {
			t.Fatalf("login %d: %d %s, want 401 from the app", i, code, body)
		}
	}
	code, body := login(client, "nobody@example.com")
	if elapsed := time.Since(started); elapsed >= 12*time.Second {
		t.Fatalf("six logins took %s; the bucket leaks one every 12 s, so this run cannot tell", elapsed)
	}
	if code != http.StatusTooManyRequests {
		t.Fatalf("6th login within a minute: %d %s, want 429", code, body)
	}
	if !strings.Contains(string(body), `"errors"`) {
		t.Errorf("429 body %q is not the JSON error envelope", body)
	}
	if got := servedByAll(t, apps, "POST /api/v1/users/login") - before; got != 5 {
		t.Errorf("the instances saw %d logins, want 5: the 6th must stop at nginx", got)
	}

	// The limit is per client address: another client still reaches the app.
	other := clientFrom(newClientIP(), 1)
	if code, body := login(other, "somebody@example.com"); code != http.StatusUnauthorized {
		t.Errorf("another client's login: %d %s, want 401", code, body)
	}
}
