package edge_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// Passive health (nginx.conf: proxy_next_upstream … http_500 http_502
// http_503 http_504; upstream.conf: max_fails=1 fail_timeout=1s, zone, and
// every instance again as a backup that is never marked failed), against an
// instance that answers every request with an error status, as a release
// that turned bad does.
func TestPassiveHealth(t *testing.T) {
	apps := startApps(t, 1)
	live := apps[0]

	t.Run("an instance answering 500: GETs retried, POSTs not, the instance left out", func(t *testing.T) {
		bad := startFailer(t, http.StatusInternalServerError)
		n := testenv.StartNginx(t, "", []string{bad.addr, live.Addr})
		c := clientFrom(newClientIP(), 4)

		t0 := time.Now()
		const gets = 20
		for i := range gets {
			if resp, body := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, nil); resp.StatusCode != 200 {
				t.Errorf("GET %d: %d %s, want 200 (retried on the live instance)", i, resp.StatusCode, body)
			}
		}
		took := time.Since(t0)
		if bad.count("GET") == 0 {
			t.Fatal("no GET reached the failing instance; the test proves nothing")
		}
		// Left out for 1 s after each failure: at most one GET per second
		// (and the first) reached it.
		if most := int(took/time.Second) + 2; bad.count("GET") > most {
			t.Errorf("the failing instance got %d of %d GETs in %v: it was not left out after failing", bad.count("GET"), gets, took)
		}
		first := waitAccessLog(t, n, 1, func(e accessEntry) bool { return e.Method == "GET" && strings.HasPrefix(e.UpstreamAddr, bad.addr) })[0]
		if first.UpstreamAddr != bad.addr+", "+live.Addr || first.UpstreamStatus != "500, 200" || first.Status != 200 {
			t.Errorf("the GET that met the failing instance: upstream %q statuses %q → %d; want it, then the live one, 200",
				first.UpstreamAddr, first.UpstreamStatus, first.Status)
		}

		// A POST that meets it gets its 500 and is not sent again. The
		// instance comes back after fail_timeout, so POSTs keep trying.
		var hit bool
		testenv.WaitFor(t, 30*time.Second, "a POST to reach the failing instance", func() bool {
			// Without a token: the live instance answers 401 at once.
			resp, body := do(t, c, "POST", n.URL+"/api/v1/recipes", jsonBody(map[string]string{"name": "x"}), jsonHeader)
			if strings.Contains(string(body), `"failer"`) {
				hit = true
				if resp.StatusCode != 500 {
					t.Errorf("POST answered by the failing instance: %d, want its 500", resp.StatusCode)
				}
				return true
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST answered by the live instance: %d %s", resp.StatusCode, body)
			}
			return false
		})
		if hit {
			for _, e := range waitAccessLog(t, n, 1, func(e accessEntry) bool { return e.Method == "POST" && e.Status == 500 }) {
				if e.UpstreamAddr != bad.addr {
					t.Errorf("a POST that failed went to %q: it was sent again", e.UpstreamAddr)
				}
			}
		}
	})

	t.Run("every instance failing: the backups answer, not nginx's 502", func(t *testing.T) {
		a, b := startFailer(t, http.StatusInternalServerError), startFailer(t, http.StatusInternalServerError)
		n := testenv.StartNginx(t, "", []string{a.addr, b.addr})
		c := clientFrom(newClientIP(), 4)
		// The first GET fails on both (a request that fails everywhere) and
		// marks both failed; the next ones still reach an instance.
		for i := range 5 {
			resp, body := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, nil)
			if resp.StatusCode != 500 || !strings.Contains(string(body), `"failer"`) {
				t.Errorf("GET %d: %d %s; want the instances' own 500, not nginx's 502 (no live upstreams)", i, resp.StatusCode, body)
			}
		}
		if got := a.count("GET") + b.count("GET"); got < 6 {
			t.Errorf("the instances saw %d GETs for 5 (each tried on two): nginx answered some itself", got)
		}
	})

	t.Run("DOWN from /actuator/health is an answer, not a failure", func(t *testing.T) {
		down := startFailer(t, http.StatusServiceUnavailable)
		n := testenv.StartNginx(t, "", []string{down.addr, live.Addr})
		c := clientFrom(newClientIP(), 4)
		const probes = 20
		for range probes {
			resp, body := do(t, c, "GET", n.URL+"/actuator/health", nil, nil)
			if resp.StatusCode != 200 && resp.StatusCode != 503 {
				t.Errorf("GET /actuator/health: %d %s", resp.StatusCode, body)
			}
		}
		for _, e := range waitAccessLog(t, n, probes, func(e accessEntry) bool { return e.URI == "/actuator/health" }) {
			if strings.Contains(e.UpstreamAddr, ",") {
				t.Errorf("a health check was sent to a second instance: %q", e.UpstreamAddr)
			}
		}
		// Not marked failed: it keeps getting its turn.
		if got := down.count("GET"); got < probes/4 {
			t.Errorf("the DOWN instance answered %d of %d health checks: its 503 took it out of rotation", got, probes)
		}
	})
}

// failer stands in for an instance of a release that turned bad: it
// answers every request with status and a JSON body naming itself, and
// counts requests by method.
type failer struct {
	addr string
	mu   sync.Mutex
	seen map[string]int
}

func startFailer(t *testing.T, status int) *failer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &failer{addr: ln.Addr().String(), seen: map[string]int{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen[r.Method]++
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"failer":%q}`, f.addr)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *failer) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[method]
}
