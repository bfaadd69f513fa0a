// Package web serves MealSync's web app for households: a small single-page
// app in plain ES modules, embedded in the binary, that is a client of the
// JSON API under /api/v1 like the mobile app (docs/WEB.md says why it has no
// build step and no framework). It turns the files under static/ into
// content-hashed assets at start-up and serves them; it must not import the
// API, the stores or the domain: the app only talks HTTP to the API.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"
)

//go:embed static
var static embed.FS

// Pages are the app's own paths (its router's, in static/app.js): each is
// answered with index.html, so a shared or reloaded URL opens the right
// view. Anything else that is not the API's stays the API's JSON 404.
var Pages = []string{
	"/{$}", "/signin", "/signup", "/recipes", "/recipes/{id}", "/saved", "/generate",
	"/plans", "/plans/{id}", "/household", "/settings",
}

// Options are what the app's Content-Security-Policy must allow beyond its
// own origin.
type Options struct {
	// ImageSources are origins recipe images may come from besides this
	// one (https://host for each MEALSYNC_IMAGE_URL_HOSTS entry, the origin
	// of MEALSYNC_PUBLIC_IMAGE_BASE_URL).
	ImageSources []string
}

// App serves index.html and the hashed assets.
type App struct {
	index  *asset
	assets map[string]*asset // by hashed name
	csp    string
}

type asset struct {
	ctype    string
	body, gz []byte // gz nil when compressing does not pay
	etag     string // strong, of body; the gzip answer's is etag+"-gz"
}

// immutable is the caching of a hashed asset: its name changes with its
// content, so a browser may keep it for a year without asking.
const immutable = "public, max-age=31536000, immutable"

// New reads the embedded files, rewrites the references between them to
// hashed names, and compresses them.
func New(opts Options) (*App, error) {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	return build(sub, opts)
}

// build makes the app from the files of src (index.html and its assets).
func build(sub fs.FS, opts Options) (*App, error) {
	b := &builder{src: sub, hashed: map[string]string{}, app: &App{assets: map[string]*asset{}}}
	names, err := fs.Glob(sub, "*")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if n == "index.html" {
			continue
		}
		if _, err := b.build(n, nil); err != nil {
			return nil, err
		}
	}
	page, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		return nil, err
	}
	page, err = b.rewrite("index.html", page, htmlRef, nil)
	if err != nil {
		return nil, err
	}
	b.app.index = newAsset("text/html; charset=utf-8", page)
	b.app.csp = policy(opts.ImageSources)
	return b.app, nil
}

// policy is the pages' Content-Security-Policy: scripts, styles and
// connections from this origin only (no inline script or style at all),
// images also from the configured image hosts, nothing else.
func policy(imageSources []string) string {
	img := strings.Join(append([]string{"'self'", "data:"}, imageSources...), " ")
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src " + img +
		"; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// References rewritten to hashed names: index.html's src/href to
// /assets/NAME, and the modules' relative imports ("./NAME.js").
var (
	htmlRef = regexp.MustCompile(`((?:src|href)=")/assets/([A-Za-z0-9_-]+\.[a-z]+)(")`)
	jsRef   = regexp.MustCompile(`((?:from|import)\s*\(?\s*['"])\./([A-Za-z0-9_-]+\.js)(['"])`)
)

type builder struct {
	src    fs.FS
	hashed map[string]string // file name -> hashed name
	app    *App
}

// build hashes one file after rewriting its imports, so that a module's
// name changes when any module it imports changes. visiting catches cycles.
func (b *builder) build(name string, visiting []string) (string, error) {
	if h, ok := b.hashed[name]; ok {
		return h, nil
	}
	if slices.Contains(visiting, name) {
		return "", fmt.Errorf("web: import cycle through %s", name)
	}
	body, err := fs.ReadFile(b.src, name)
	if err != nil {
		return "", fmt.Errorf("web: %w", err)
	}
	if path.Ext(name) == ".js" {
		if body, err = b.rewrite(name, body, jsRef, append(visiting, name)); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
	ctype := mime.TypeByExtension(ext)
	if ext == ".js" {
		ctype = "text/javascript; charset=utf-8" // whatever the host's mime table says
	}
	b.hashed[name], b.app.assets[hashed] = hashed, newAsset(ctype, body)
	return hashed, nil
}

func (b *builder) rewrite(name string, body []byte, ref *regexp.Regexp, visiting []string) ([]byte, error) {
	var failed error
	out := ref.ReplaceAllFunc(body, func(m []byte) []byte {
		g := ref.FindSubmatch(m)
		h, err := b.build(string(g[2]), visiting)
		if err != nil {
			failed = fmt.Errorf("%s: %w", name, err)
			return m
		}
		prefix := "./"
		if ref == htmlRef {
			prefix = "/assets/"
		}
		return []byte(string(g[1]) + prefix + h + string(g[3]))
	})
	return out, failed
}

func newAsset(ctype string, body []byte) *asset {
	sum := sha256.Sum256(body)
	a := &asset{ctype: ctype, body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	w.Write(body)
	w.Close()
	if z.Len() < len(body) {
		a.gz = z.Bytes()
	}
	return a
}

// ServeIndex answers every page of the app with index.html: revalidated on
// every load (no-cache with an ETag), so a deploy's new asset names are
// picked up at once, under the strict policy.
func (a *App) ServeIndex(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", a.csp)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), geolocation=(), microphone=(), payment=(), usb=()")
	a.index.serve(w, r, "no-cache")
}

// ServeAsset answers /assets/{name} for hashed names only; an unknown name,
// an old hash among them, is 404.
func (a *App) ServeAsset(w http.ResponseWriter, r *http.Request) {
	as, ok := a.assets[r.PathValue("name")]
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	as.serve(w, r, immutable)
}

func (as *asset) serve(w http.ResponseWriter, r *http.Request, cache string) {
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("Cache-Control", cache)
	h.Add("Vary", "Accept-Encoding")
	body, etag := as.body, as.etag
	if as.gz != nil && acceptsGzip(r) {
		body, etag = as.gz, strings.TrimSuffix(as.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && matches(inm, etag) {
		h.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// matches is If-None-Match's weak comparison against one ETag.
func matches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
