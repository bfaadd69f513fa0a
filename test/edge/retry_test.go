package edge_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mealsync/mealsync/internal/testenv"
)

// Retries (nginx.conf: proxy_next_upstream error timeout, no non_idempotent)
// against two ways an instance can be gone. nginx tries the first-listed
// instance first on a fresh configuration (least_conn, all idle: list order
// breaks the tie), which puts every first request on the failing one.
//
//   - A killed instance refuses the connection. Nothing was sent, so nginx
//     sends the request to the other instance, whatever its method: every
//     GET and POST succeeds, and each POST runs exactly once.
//   - An instance that dies holding the request (a stand-in that reads the
//     request and drops the connection). A GET is retried on the other
//     instance; a POST is not — it may have run — and the client gets 502.
func TestRetry(t *testing.T) {
	apps := startApps(t, 2)
	live := apps[1]
	registered := func() int { return served(t, live, "POST /api/v1/users/register") }
	email := 0
	register := func(c *http.Client, n *testenv.Nginx) (int, string) {
		email++
		addr := fmt.Sprintf("retry-%d@example.com", email)
		resp, _ := do(t, c, "POST", n.URL+"/api/v1/users/register",
			jsonBody(map[string]string{"email": addr, "password": "Sup3r-secret-pw", "name": "Retry"}), jsonHeader)
		return resp.StatusCode, addr
	}
	// exists tells, from the live instance's database, whether addr was
	// registered: a second registration of it fails.
	exists := func(addr string) bool {
		resp, _ := do(t, http.DefaultClient, "POST", live.URL+"/api/v1/users/register",
			jsonBody(map[string]string{"email": addr, "password": "Sup3r-secret-pw", "name": "Probe"}), jsonHeader)
		return resp.StatusCode != http.StatusOK
	}

	t.Run("a killed instance: GET and POST go to the other, once", func(t *testing.T) {
		dead := apps[0].Addr
		apps[0].Kill()
		n := testenv.StartNginx(t, "", []string{dead, live.Addr})
		c := clientFrom(newClientIP(), 1)
		before := registered()
		const posts = 3
		for range posts {
			if code, addr := register(c, n); code != http.StatusOK {
				t.Errorf("POST register %s: %d, want 200 from the live instance", addr, code)
			}
		}
		for i := range 5 {
			if resp, _ := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, nil); resp.StatusCode != 200 {
				t.Errorf("GET %d: %d, want 200", i, resp.StatusCode)
			}
		}
		if got := registered() - before; got != posts {
			t.Errorf("the live instance ran %d registrations for %d POSTs", got, posts)
		}
		// The first request went to the dead instance, refused, then to the
		// live one.
		first := waitAccessLog(t, n, posts, func(e accessEntry) bool { return e.Method == "POST" })[0]
		if first.UpstreamAddr != dead+", "+live.Addr || first.UpstreamStatus != "502, 200" {
			t.Errorf("first POST went to %q (statuses %q); want the dead instance, then the live one",
				first.UpstreamAddr, first.UpstreamStatus)
		}
	})

	t.Run("an instance that fails holding the request: GET retried, POST not", func(t *testing.T) {
		drop := startDropper(t)
		n := testenv.StartNginx(t, "", []string{drop.addr, live.Addr})
		c := clientFrom(newClientIP(), 1)

		before := registered()
		var failed, ok []string
		for range 3 {
			switch code, addr := register(c, n); code {
			case http.StatusBadGateway:
				failed = append(failed, addr)
			case http.StatusOK:
				ok = append(ok, addr)
			default:
				t.Errorf("POST register %s: %d, want 502 or 200", addr, code)
			}
		}
		if drop.count("POST") == 0 {
			t.Fatal("no POST reached the failing instance; the test proves nothing")
		}
		if len(failed) == 0 {
			t.Fatalf("%d POSTs reached the failing instance, none got 502: they were sent again", drop.count("POST"))
		}
		if got := registered() - before; got != len(ok) {
			t.Errorf("the live instance ran %d registrations; %d POSTs succeeded: a failed POST was retried", got, len(ok))
		}
		for _, addr := range failed {
			if exists(addr) {
				t.Errorf("%s got 502 but is registered: the POST was sent again", addr)
			}
		}
		for _, e := range waitAccessLog(t, n, len(failed), func(e accessEntry) bool { return e.Method == "POST" && e.Status == 502 }) {
			if e.UpstreamAddr != drop.addr {
				t.Errorf("a failed POST went to %q, want only the failing instance", e.UpstreamAddr)
			}
		}

		// A fresh configuration (the failed instance is out of rotation for
		// fail_timeout=5s after a failure) puts the next GET on it again.
		n.Reload(t)
		gotBefore := drop.count("GET")
		for i := range 3 {
			if resp, body := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, nil); resp.StatusCode != 200 {
				t.Errorf("GET %d: %d %s, want 200 from the other instance", i, resp.StatusCode, body)
			}
		}
		if drop.count("GET") == gotBefore {
			t.Fatal("no GET reached the failing instance; the test proves nothing")
		}
		waitAccessLog(t, n, 1, func(e accessEntry) bool {
			return e.Method == "GET" && e.UpstreamAddr == drop.addr+", "+live.Addr && e.Status == 200
		})
	})
}

// dropper stands in for an instance that dies with the request in hand: it
// reads each request's head, counts it, and closes the connection unanswered.
type dropper struct {
	addr string
	mu   sync.Mutex
	seen map[string]int // by method
}

func startDropper(t *testing.T) *dropper {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d := &dropper{addr: ln.Addr().String(), seen: map[string]int{}}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				first, err := r.ReadString('\n')
				if err != nil {
					return
				}
				for { // the rest of the head
					line, err := r.ReadString('\n')
					if err != nil || strings.TrimSpace(line) == "" {
						break
					}
				}
				d.mu.Lock()
				d.seen[strings.Fields(first)[0]]++
				d.mu.Unlock()
			}()
		}
	}()
	return d
}

func (d *dropper) count(method string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen[method]
}
