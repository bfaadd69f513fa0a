package edge_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// One nginx in front of two instances, for the checks that need no special
// upstream: each subtest is its own client address.
func TestEdge(t *testing.T) {
	apps := startApps(t, 2)
	n := testenv.StartNginx(t, "", addrs(apps))

	t.Run("nginx -t accepts the real config", func(t *testing.T) {
		out, err := n.Command("-t").CombinedOutput()
		if err != nil {
			t.Fatalf("nginx -t: %v\n%s", err, out)
		}
		for _, want := range []string{"syntax is ok", "test is successful"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("nginx -t output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("nginx answers its own health check", func(t *testing.T) {
		resp, body := do(t, clientFrom(newClientIP(), 1), "GET", n.URL+"/nginx-health", nil, nil)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "healthy" {
			t.Errorf("/nginx-health: %d %q, want 200 healthy", resp.StatusCode, body)
		}
	})

	t.Run("requests are spread over both instances", func(t *testing.T) {
		const total = 20
		c := clientFrom(newClientIP(), 1)
		before := []int{served(t, apps[0], "GET /api/v1/recipes"), served(t, apps[1], "GET /api/v1/recipes")}
		for range total {
			if resp, body := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, nil); resp.StatusCode != 200 {
				t.Fatalf("GET /api/v1/recipes: %d %s", resp.StatusCode, body)
			}
		}
		a := served(t, apps[0], "GET /api/v1/recipes") - before[0]
		b := served(t, apps[1], "GET /api/v1/recipes") - before[1]
		t.Logf("instance A served %d, instance B %d", a, b)
		if a == 0 || b == 0 || a+b != total {
			t.Errorf("instances served %d and %d of %d requests; want both some, %d in all", a, b, total, total)
		}
	})

	t.Run("actuator is closed except health", func(t *testing.T) {
		c := clientFrom(newClientIP(), 1)
		resp, body := do(t, c, "GET", n.URL+"/actuator/health", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"UP"`) {
			t.Errorf("/actuator/health via nginx: %d %s, want 200 UP", resp.StatusCode, body)
		}
		// The instances serve these on their ops listeners; nginx must not,
		// however the path is spelled.
		if resp, _ := do(t, c, "GET", apps[0].OpsURL+"/actuator/prometheus", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("the instance's ops listener answers /actuator/prometheus with %d", resp.StatusCode)
		}
		for _, path := range []string{
			"/actuator/prometheus", "/actuator/metrics", "/actuator/metrics/http.server.requests",
			"/actuator/info", "/actuator/health/readiness", "/actuator/health/liveness",
			"/actuator/prometheus/", "/actuator/prometheus?x=1", "/actuator/%70rometheus",
			"/api/../actuator/prometheus", "/actuator/health/../prometheus", "/api/v1/%2e%2e/%2e%2e/actuator/metrics",
		} {
			req := must(http.NewRequest("GET", n.URL, nil))
			req.URL.Opaque = path // sent exactly as written
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "http_server_requests") {
				t.Errorf("GET %s via nginx: %d, want 404 from nginx\n%.200s", path, resp.StatusCode, body)
			}
		}
	})

	t.Run("security headers on every answer", func(t *testing.T) {
		c := clientFrom(newClientIP(), 1)
		want := map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "no-referrer",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		}
		for _, path := range []string{
			"/api/v1/recipes?limit=1", // the app's 200
			"/api/v1/no-such-thing",   // the app's 404
			"/actuator/prometheus",    // nginx's own 404
		} {
			resp, _ := do(t, c, "GET", n.URL+path, nil, nil)
			for h, v := range want {
				if got := resp.Header.Values(h); len(got) != 1 || got[0] != v {
					t.Errorf("GET %s (%d): %s = %q, want once %q", path, resp.StatusCode, h, got, v)
				}
			}
			if !strings.Contains(resp.Header.Get("Permissions-Policy"), "camera=()") {
				t.Errorf("GET %s: Permissions-Policy = %q", path, resp.Header.Get("Permissions-Policy"))
			}
			if hsts := resp.Header.Get("Strict-Transport-Security"); hsts != "" {
				t.Errorf("GET %s over plain HTTP: Strict-Transport-Security %q", path, hsts)
			}
			if s := resp.Header.Get("Server"); regexp.MustCompile(`\d`).MatchString(s) {
				t.Errorf("GET %s: Server %q reveals a version", path, s)
			}
		}
	})

	t.Run("the web app is served at / with its own policy", func(t *testing.T) {
		c := clientFrom(newClientIP(), 1)
		resp, page := do(t, c, "GET", n.URL+"/recipes?name=soup", nil, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page), `<main id="main"`) {
			t.Fatalf("GET /recipes via nginx: %d %s\n%.200s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
		}
		// The app's policy for its pages, not nginx's API default; every
		// header once, though both set some.
		if got := resp.Header.Values("Content-Security-Policy"); len(got) != 1 || !strings.Contains(got[0], "script-src 'self'") {
			t.Errorf("page policy: %q", got)
		}
		for _, h := range []string{"X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options", "Permissions-Policy"} {
			if got := resp.Header.Values(h); len(got) != 1 {
				t.Errorf("page %s: %q, want once", h, got)
			}
		}
		m := regexp.MustCompile(`src="(/assets/app\.[0-9a-f]{12}\.js)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no hashed script in the page:\n%s", page)
		}
		resp, body := do(t, c, "GET", n.URL+string(m[1]), nil, map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" ||
			resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("ETag") == "" {
			t.Errorf("GET %s via nginx: %d %v", m[1], resp.StatusCode, resp.Header)
		}
		if _, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
			t.Errorf("GET %s: body is not gzip: %v", m[1], err)
		}
	})

	t.Run("JSON is gzipped for clients that accept it", func(t *testing.T) {
		c := clientFrom(newClientIP(), 1)
		resp, body := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=20", nil, map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Accept-Encoding gzip: %d, Content-Encoding %q; want 200 gzip", resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Vary = %q, want Accept-Encoding", resp.Header.Get("Vary"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(plain) || len(plain) <= len(body) {
			t.Errorf("gunzipped %d bytes to %d: want valid JSON, larger than the gzip", len(body), len(plain))
		}
		t.Logf("%d bytes of JSON sent as %d", len(plain), len(body))

		resp, body = do(t, c, "GET", n.URL+"/api/v1/recipes?limit=20", nil, nil)
		if resp.Header.Get("Content-Encoding") != "" || !json.Valid(body) {
			t.Errorf("without Accept-Encoding: Content-Encoding %q; want plain JSON", resp.Header.Get("Content-Encoding"))
		}
	})

	t.Run("the app sees the client address and the request ID", func(t *testing.T) {
		ip := newClientIP()
		c := clientFrom(ip, 1)
		// A forged X-Forwarded-For is kept in the chain but the app takes
		// the address nginx saw (the right-most untrusted hop).
		resp, _ := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil,
			map[string]string{"X-Request-ID": "edge-forwarded-1", "X-Forwarded-For": "203.0.113.9"})
		if got := resp.Header.Get("X-Request-ID"); got != "edge-forwarded-1" {
			t.Errorf("X-Request-ID answered %q, want the client's edge-forwarded-1", got)
		}
		line := appLogLine(t, apps, "edge-forwarded-1")
		if line["client_ip"] != ip {
			t.Errorf("the app logged client_ip %v, want %s", line["client_ip"], ip)
		}

		// Without an ID (or with one the app would refuse), nginx's own
		// $request_id joins its access log to the app's log.
		for _, id := range []string{"", "has space"} {
			resp, _ := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1&probe=id-"+fmt.Sprint(len(id)), nil,
				map[string]string{"X-Request-ID": id})
			got := resp.Header.Get("X-Request-ID")
			if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
				t.Errorf("client ID %q: answered X-Request-ID %q, want nginx's 32 hex digits", id, got)
				continue
			}
			entries := waitAccessLog(t, n, 1, func(e accessEntry) bool { return e.RequestID == got })
			if len(entries) != 1 {
				t.Errorf("access log entries with request_id %s: %d, want 1", got, len(entries))
			}
			appLogLine(t, apps, got)
		}
	})

	t.Run("body size: a 10 MB upload passes, more than 11 MB is refused", func(t *testing.T) {
		c := clientFrom(newClientIP(), 1)
		route := "POST /api/v1/recipes/{id}/image"
		before := servedByAll(t, apps, route)
		upload := func(size int) (int, string) {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			part, _ := mw.CreateFormFile("file", "photo.jpg")
			part.Write(bytes.Repeat([]byte{0xff}, size))
			mw.Close()
			resp, body := do(t, c, "POST", n.URL+"/api/v1/recipes/1/image", &buf,
				map[string]string{"Content-Type": mw.FormDataContentType()})
			return resp.StatusCode, string(body)
		}
		// Unauthenticated, so the app answers 401 — after nginx has taken
		// the whole body (it buffers request bodies before passing them on).
		if code, body := upload(10 << 20); code != http.StatusUnauthorized {
			t.Errorf("10 MB upload: %d %s, want the app's 401", code, body)
		}
		code, body := upload(11<<20 + 1)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"errors"`) {
			t.Errorf("11 MB upload: %d %s, want nginx's 413 in the JSON envelope", code, body)
		}
		if got := servedByAll(t, apps, route) - before; got != 1 {
			t.Errorf("the instances saw %d uploads, want 1 (the 11 MB one stops at nginx)", got)
		}
	})
}

// appLogLine finds the app's access log line for a request ID on any instance.
func appLogLine(t *testing.T, apps []*testenv.Instance, id string) map[string]any {
	t.Helper()
	var found map[string]any
	testenv.WaitFor(t, 5*time.Second, "the app to log request "+id, func() bool {
		for _, a := range apps {
			for _, l := range a.LogLines() {
				if l["msg"] == "request" && l["request_id"] == id {
					found = l
					return true
				}
			}
		}
		return false
	})
	return found
}
