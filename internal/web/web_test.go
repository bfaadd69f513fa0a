package web_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mealsync/mealsync/internal/web"
)

// serve mounts the app as the API's router does (routes.go).
func serve(t *testing.T, app *web.App) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, p := range web.Pages {
		mux.HandleFunc("GET "+p, app.ServeIndex)
	}
	mux.HandleFunc("GET /assets/{name}", app.ServeAsset)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "identity") // no transparent gzip: the test sees what was sent
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

var (
	assetRef  = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)
	importRef = regexp.MustCompile(`(?:from|import)\s*\(?\s*['"]\./([^'"]+)['"]`)
)

// loads returns every asset a page or module loads: index.html's src and
// href, and each module's imports, transitively.
func loads(t *testing.T, base string) []string {
	t.Helper()
	_, page := get(t, base+"/")
	var out []string
	seen := map[string]bool{}
	var walk func(path string)
	walk = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		out = append(out, path)
		if strings.HasSuffix(path, ".js") {
			_, js := get(t, base+path)
			for _, m := range importRef.FindAllStringSubmatch(string(js), -1) {
				walk("/assets/" + m[1])
			}
		}
	}
	for _, m := range assetRef.FindAllStringSubmatch(string(page), -1) {
		walk(m[1])
	}
	return out
}

// TestAssetsAreHashedAndImmutable: every asset the page loads has a
// content-hashed name, is cached for a year as immutable with a strong
// ETag, and revalidates to 304; index.html is revalidated on every load; a
// name that is not a current hash is 404.
func TestAssetsAreHashedAndImmutable(t *testing.T) {
	app, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, app)
	resp, _ := get(t, srv.URL+"/")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
		t.Fatalf("index: %s %v", resp.Status, resp.Header)
	}
	if r, _ := get(t, srv.URL+"/", "If-None-Match", resp.Header.Get("ETag")); r.StatusCode != 304 {
		t.Errorf("index revalidation: %s", r.Status)
	}
	paths := loads(t, srv.URL)
	hashed := regexp.MustCompile(`^/assets/[a-z]+\.[0-9a-f]{12}\.(js|css|svg)$`)
	var modules int
	for _, p := range paths {
		if !hashed.MatchString(p) {
			t.Errorf("%s: not a content-hashed name", p)
		}
		r, _ := get(t, srv.URL+p)
		etag := r.Header.Get("ETag")
		if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			!strings.HasPrefix(etag, `"`) {
			t.Errorf("%s: %s %v", p, r.Status, r.Header)
		}
		if r2, _ := get(t, srv.URL+p, "If-None-Match", etag); r2.StatusCode != 304 {
			t.Errorf("%s with If-None-Match: %s", p, r2.Status)
		}
		if strings.HasSuffix(p, ".js") {
			modules++
			if ct := r.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
				t.Errorf("%s: Content-Type %s", p, ct)
			}
		}
	}
	if modules < 4 {
		t.Errorf("the page loads %d modules (%v); the imports were not followed", modules, paths)
	}
	for _, p := range []string{"/assets/app.js", "/assets/app.000000000000.js", "/assets/index.html"} {
		if r, _ := get(t, srv.URL+p); r.StatusCode != 404 {
			t.Errorf("%s: %s, want 404", p, r.Status)
		}
	}
	// Every page of the app is index.html; other paths are not the app's.
	for _, p := range []string{"/recipes", "/recipes/2f1c7a44-8d0b-4d3e-9a55-0d7f3c1b2a10", "/household", "/plans"} {
		if r, b := get(t, srv.URL+p); r.StatusCode != 200 || !strings.Contains(string(b), `<main id="main"`) {
			t.Errorf("%s: %s", p, r.Status)
		}
	}
	if r, _ := get(t, srv.URL+"/nothing"); r.StatusCode != 404 {
		t.Errorf("/nothing: %s", r.Status)
	}
}

// TestModuleHashCoversItsImports: changing a module changes the name of
// every module that imports it, so no browser can keep an old importer
// that points at a new module, or the other way round.
func TestModuleHashCoversItsImports(t *testing.T) {
	files := func(dep string) fstest.MapFS {
		return fstest.MapFS{
			"index.html": {Data: []byte(`<script type="module" src="/assets/app.js"></script>`)},
			"app.js":     {Data: []byte(`import { x } from './dep.js';` + "\nconsole.log(x);")},
			"dep.js":     {Data: []byte(dep)},
		}
	}
	names := func(dep string) string {
		app, err := web.Build(files(dep), web.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := serve(t, app)
		_, page := get(t, srv.URL+"/")
		return assetRef.FindStringSubmatch(string(page))[1]
	}
	a, b := names("export const x = 1;"), names("export const x = 2;")
	if a == b {
		t.Errorf("app.js kept its name %s when its import changed", a)
	}
	cyclic := fstest.MapFS{
		"index.html": {Data: []byte(`<script type="module" src="/assets/a.js"></script>`)},
		"a.js":       {Data: []byte(`import './b.js';`)},
		"b.js":       {Data: []byte(`import './a.js';`)},
	}
	if _, err := web.Build(cyclic, web.Options{}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("an import cycle: %v", err)
	}
	missing := fstest.MapFS{"index.html": {Data: []byte(`<link rel="stylesheet" href="/assets/gone.css">`)}}
	if _, err := web.Build(missing, web.Options{}); err == nil {
		t.Error("a reference to a missing file was accepted")
	}
}

// TestStrictPolicy: the pages' Content-Security-Policy allows scripts,
// styles and connections from the app's own origin only, and the page and
// its modules hold nothing that would need more: no inline script or
// style, no eval, no HTML built from strings.
func TestStrictPolicy(t *testing.T) {
	app, err := web.New(web.Options{ImageSources: []string{"https://images.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, app)
	resp, page := get(t, srv.URL+"/")
	want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https://images.example.com; " +
		"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	if got := resp.Header.Get("Content-Security-Policy"); got != want {
		t.Errorf("policy:\n got %s\nwant %s", got, want)
	}
	for h, v := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin"} {
		if resp.Header.Get(h) != v {
			t.Errorf("%s: %q, want %q", h, resp.Header.Get(h), v)
		}
	}
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`)
	if m := inline.FindString(string(page)); m != "" {
		t.Errorf("index.html has inline code or style: %q", m)
	}
	for _, p := range loads(t, srv.URL) {
		if !strings.HasSuffix(p, ".js") {
			continue
		}
		_, js := get(t, srv.URL+p)
		for _, bad := range []string{"eval(", "new Function", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "localStorage", "sessionStorage", ".style."} {
			if strings.Contains(string(js), bad) {
				t.Errorf("%s uses %s", p, bad)
			}
		}
	}
}

// TestFirstLoadBudget: what the first visit downloads — index.html and
// everything it loads, modules' imports included — is under 100 KB as a
// browser receives it (gzip, which the app answers itself).
func TestFirstLoadBudget(t *testing.T) {
	app, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, app)
	total := 0
	for _, p := range append([]string{"/"}, loads(t, srv.URL)...) {
		r, body := get(t, srv.URL+p, "Accept-Encoding", "gzip, deflate, br")
		n := len(body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(string(body)))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if _, err := io.ReadAll(zr); err != nil {
				t.Fatalf("%s: not gzip: %v", p, err)
			}
		} else if n > 1024 {
			t.Errorf("%s (%d bytes) was sent uncompressed", p, n)
		}
		t.Logf("%-36s %6d bytes", p, n)
		total += n
	}
	t.Logf("first load: %d bytes compressed", total)
	if total >= 100_000 {
		t.Errorf("first load is %d bytes compressed, over the 100 KB budget", total)
	}
}
