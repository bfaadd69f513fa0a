// Package edge_test proves the nginx edge (the repository's nginx/ folder)
// by running it: Debian's nginx on the real configuration, changed only by
// testenv.Substitute, in front of real MealSync processes and small stand-in
// servers on loopback. Issue 4's nginx verification list, one test per idea.
//
// Clients bind distinct loopback source addresses (127.0.0.x), so each test
// is a separate client to nginx's per-address rate limits.
package edge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// startApps runs n MealSync instances that believe nginx (on 127.0.0.1)
// about the client's address.
func startApps(t *testing.T, n int) []*testenv.Instance {
	t.Helper()
	testenv.RequireNginx(t) // skip before building anything
	apps := make([]*testenv.Instance, n)
	for i := range apps {
		apps[i] = testenv.StartMealsync(t, testenv.Options{
			Env: map[string]string{"MEALSYNC_TRUSTED_PROXIES": "127.0.0.1/32"},
		})
	}
	return apps
}

func addrs(apps []*testenv.Instance) []string {
	var out []string
	for _, a := range apps {
		out = append(out, a.Addr)
	}
	return out
}

var lastClientIP atomic.Int32

// newClientIP returns a loopback address no other test in this process uses.
func newClientIP() string {
	return "127.0.0." + strconv.Itoa(int(10+lastClientIP.Add(1)))
}

// clientFrom is an HTTP client whose connections come from ip. It leaves
// Accept-Encoding to the caller and does not follow redirects.
func clientFrom(ip string, conns int) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, c *http.Client, method, url string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b
}

// send is do for goroutines other than the test's: no t.Fatal, only the
// status and any error.
func send(c *http.Client, method, url string, header map[string]string) (int, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// served is how many requests an instance's own metrics count for route
// (a mux pattern like "GET /api/v1/recipes"), over all statuses. It reads
// /actuator/prometheus from the instance's ops listener: nginx hides it.
func served(t *testing.T, app *testenv.Instance, route string) int {
	t.Helper()
	resp, err := http.Get(app.OpsURL + "/actuator/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "http_server_requests_seconds_count{") ||
			!strings.Contains(line, `route="`+route+`"`) {
			continue
		}
		f := strings.Fields(line)
		n, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		total += int(n)
	}
	return total
}

func servedByAll(t *testing.T, apps []*testenv.Instance, route string) int {
	t.Helper()
	total := 0
	for _, a := range apps {
		total += served(t, a, route)
	}
	return total
}

// accessEntry is one line of the JSON access log (nginx.conf's mealsync_json).
type accessEntry struct {
	Msec           float64 `json:"msec"`
	RequestID      string  `json:"request_id"`
	RemoteAddr     string  `json:"remote_addr"`
	Method         string  `json:"method"`
	URI            string  `json:"uri"`
	Status         int     `json:"status"`
	RequestTime    float64 `json:"request_time"`
	UpstreamAddr   string  `json:"upstream_addr"`
	UpstreamStatus string  `json:"upstream_status"`
	LimitReq       string  `json:"limit_req"`
}

// arrived is when nginx began reading the request, in seconds.
func (e accessEntry) arrived() float64 { return e.Msec - e.RequestTime }

// accessLog returns the entries for which keep is true; every line must be
// valid JSON.
func accessLog(t *testing.T, n *testenv.Nginx, keep func(accessEntry) bool) []accessEntry {
	t.Helper()
	data, err := os.ReadFile(n.AccessLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []accessEntry
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var e accessEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("access log line is not JSON: %v\n%s", err, line)
		}
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// waitAccessLog waits until count entries satisfy keep and returns them:
// nginx writes a request's line after the client has its response.
func waitAccessLog(t *testing.T, n *testenv.Nginx, count int, keep func(accessEntry) bool) []accessEntry {
	t.Helper()
	var out []accessEntry
	testenv.WaitFor(t, 5*time.Second, fmt.Sprintf("%d matching access log lines", count), func() bool {
		out = accessLog(t, n, keep)
		return len(out) >= count
	})
	return out
}

// withTimeout is a context for one streaming exchange: a stream nginx holds
// back fails the test instead of hanging it.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return strings.NewReader(string(b))
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("must: %v", err))
	}
	return v
}
