// Package web_test drives the web app (internal/web) in Debian's headless
// Chromium with chromedp, against a real `mealsync serve` started by the
// test: the journeys of issue 17 end to end, with axe-core checking every
// page it shows, the page's Content-Security-Policy reporting no violation,
// and screenshots at desktop and phone width saved as artifacts.
//
// One Chromium serves the whole test binary; each test opens its own
// browser contexts (separate cookie jars, like two people's browsers).
// Without chromium the tests skip, and fail under MEALSYNC_REQUIRE_SERVICES=1.
package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeSHA256 is the vendored file's hash (testdata/axe-core/README.md).
const axeSHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"

// Desktop and phone viewports of the screenshots and the checks.
const (
	desktopW, desktopH = 1280, 860
	phoneW, phoneH     = 390, 844
)

var browser struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab; contexts derive from it
	err    error
	cancel []context.CancelFunc
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(browser.cancel) - 1; i >= 0; i-- {
		browser.cancel[i]()
	}
	os.Exit(code)
}

// chromium is the browser's path, or the test skips (fails under
// MEALSYNC_REQUIRE_SERVICES=1: CI installs Debian's chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testdb.SkipOrFail(t, "chromium is not installed (apt-get install chromium)")
	return ""
}

// startBrowser starts the one Chromium of this test binary, with the flags
// a closed network and a root user need.
func startBrowser(t *testing.T) context.Context {
	bin := chromium(t)
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "mealsync-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dir),
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
			chromedp.WindowSize(desktopW, desktopH))
		bctx, cancelBrowser := chromedp.NewContext(actx)
		browser.cancel = append(browser.cancel, func() { os.RemoveAll(dir) }, cancelAlloc, cancelBrowser)
		browser.ctx = bctx
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	return browser.ctx
}

// server starts `mealsync serve` on SQLite, after making sure there is a
// browser to test it with (skipping before the binary is built).
func server(t *testing.T) *testenv.Instance {
	chromium(t)
	return testenv.StartMealsync(t, testenv.Options{})
}

// tab is one browser context (its own cookies and storage) with one page.
type tab struct {
	t    *testing.T
	name string
	ctx  context.Context
	base string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	allowed []string // console errors this journey causes on purpose
}

// allow names a console error the journey causes on purpose (Chromium logs
// every failed request: a refused sign-up is a 400).
func (tb *tab) allow(substr string) {
	tb.mu.Lock()
	tb.allowed = append(tb.allowed, substr)
	tb.mu.Unlock()
}

// cspRecorder runs in every document before the app: it keeps each
// securitypolicyviolation event, which the tests read at the end.
const cspRecorder = `window.__csp = []; document.addEventListener('securitypolicyviolation', (e) =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));`

func newTab(t *testing.T, name, base string) *tab {
	t.Helper()
	bctx := startBrowser(t)
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	tb := &tab{t: t, name: name, ctx: ctx, base: base}
	// Every wait has its own deadline; this bounds the whole tab.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	tb.ctx = ctx
	t.Cleanup(func() {
		tb.checkClean()
		cancelTimeout()
		cancel()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopW, desktopH)); err != nil {
		t.Fatalf("%s: open tab: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	console := chromedp.Console(cctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	return tb
}

// do runs actions, failing the test on an error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", tb.name, err)
	}
}

// eval evaluates a JavaScript expression (promises awaited).
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: evaluate %s: %v", tb.name, expr, err)
	}
	return v
}

// waitFor waits until the expression is truthy, polling in the page.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.Poll[bool]("!!("+expr+")",
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		tb.t.Fatalf("%s: waiting for %s (%s): %v\npage: %s", tb.name, what, expr, err, tb.mainText())
	}
}

func (tb *tab) mainText() string {
	v, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`(document.querySelector('main')||document.body).innerText.slice(0, 600)`))
	return v
}

// open navigates to a path and waits for the view to finish rendering.
func (tb *tab) open(path, view string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base + path))
	tb.waitView(view)
}

// waitView waits until the app shows a view and has finished loading it.
func (tb *tab) waitView(view string) {
	tb.t.Helper()
	tb.waitFor("view "+view, fmt.Sprintf(`document.querySelector('main[data-view=%q][aria-busy=false]')`, view))
}

// click clicks the element sel finds. A live list redraws its rows as
// changes arrive: when the row found is replaced before the click reaches
// it (DevTools no longer knows the node, an error raised before any mouse
// event is sent), the click is tried again on the new row.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	for attempt := 1; ; attempt++ {
		err := chromedp.Do(tb.ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
		if err == nil {
			return
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Could not find node with given id") {
			tb.t.Fatalf("%s: click %s: %v", tb.name, sel, err)
		}
	}
}

// fill types into a field after clearing it.
func (tb *tab) fill(sel, text string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(sel)))
	eval[bool](tb, fmt.Sprintf(`(document.querySelector(%q).value = '') === ''`, sel))
	tb.do(chromedp.SendKeys(chromedp.CSS(sel), text))
}

// axeViolation is what axe reports of one rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// audit runs axe-core on the page as it is and fails on any serious or
// critical violation, then saves screenshots at desktop and phone width
// (and audits the phone layout too).
func (tb *tab) audit(name string) {
	tb.t.Helper()
	if sum := sha256.Sum256([]byte(axeSource)); hex.EncodeToString(sum[:]) != axeSHA256 {
		tb.t.Fatal("testdata/axe-core/axe.min.js is not the vendored file (README.md)")
	}
	if !eval[bool](tb, `typeof window.axe === 'object'`) {
		// Injected through DevTools, so the page's own policy, which allows
		// no such script, is neither bypassed nor tripped by the check.
		if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[any](axeSource+";0")); err != nil {
			tb.t.Fatalf("inject axe: %v", err)
		}
	}
	for _, vp := range []struct {
		suffix string
		w, h   int64
	}{{"desktop", desktopW, desktopH}, {"phone", phoneW, phoneH}} {
		opts := []chromedp.EmulateViewportOption{}
		if vp.suffix == "phone" {
			opts = append(opts, chromedp.EmulateMobile)
		}
		tb.do(chromedp.EmulateViewport(vp.w, vp.h, opts...))
		raw := eval[string](tb, `axe.run(document, {resultTypes: ['violations']}).then((r) => JSON.stringify(r.violations))`)
		var vs []axeViolation
		if err := json.Unmarshal([]byte(raw), &vs); err != nil {
			tb.t.Fatal(err)
		}
		for _, v := range vs {
			if v.Impact == "serious" || v.Impact == "critical" {
				var where []string
				for _, n := range v.Nodes {
					where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
				}
				tb.t.Errorf("%s (%s): axe %s %s: %s\n  %s", name, vp.suffix, v.Impact, v.ID, v.Help, strings.Join(where, "\n  "))
			}
		}
		// Nothing wider than the screen: no sideways scrolling on a phone.
		if w := eval[int](tb, `document.documentElement.scrollWidth - innerWidth`); w > 0 {
			tb.t.Errorf("%s (%s): the page is %d px wider than the screen", name, vp.suffix, w)
		}
		tb.screenshot(name + "-" + vp.suffix)
	}
	tb.do(chromedp.EmulateViewport(desktopW, desktopH))
}

// screenshot saves the page as <test>/<name>.png in the artifacts folder:
// MEALSYNC_WEB_ARTIFACTS, or mealsync-web-artifacts in the temp folder.
func (tb *tab) screenshot(name string) {
	tb.t.Helper()
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		tb.t.Fatalf("screenshot %s is not a PNG", name)
	}
	dir := os.Getenv("MEALSYNC_WEB_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "mealsync-web-artifacts")
	}
	dir = filepath.Join(dir, tb.t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// checkClean fails the test if the page reported a CSP violation, an
// uncaught exception or a console error, and if anything was written to
// web storage. It runs when the test ends.
func (tb *tab) checkClean() {
	t := tb.t
	if v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]string](`window.__csp || []`)); err == nil && len(v) > 0 {
		t.Errorf("%s: Content-Security-Policy violations: %v", tb.name, v)
	}
	if n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`localStorage.length + sessionStorage.length`)); err == nil && n != 0 {
		t.Errorf("%s: the app wrote %d entries to web storage", tb.name, n)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		if (m.Type == chromedp.ConsoleError || m.IsException()) && !tb.expected(m.String()) {
			t.Errorf("%s: browser console: %s", tb.name, m)
		}
	}
}

// expectedConsole are console errors of every journey: the first load of a
// browser without a session asks for one, and is answered 401.
var expectedConsole = []string{"401 (Unauthorized)"}

func (tb *tab) expected(s string) bool {
	for _, e := range append(expectedConsole, tb.allowed...) {
		if strings.Contains(s, e) {
			return true
		}
	}
	return false
}

// register makes an account through the API (the sign-up form has its own
// journey), so a journey can start by signing in.
func register(t *testing.T, base, name, email string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"email":%q,"password":"correct-horse-42"}`, name, email)
	resp, err := http.Post(base+"/api/v1/users/register", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register %s: %s", email, resp.Status)
	}
}

// signIn signs in through the form and waits for the home view.
func (tb *tab) signIn(email string) {
	tb.t.Helper()
	tb.open("/signin", "signInView")
	tb.fill("input[name=email]", email)
	tb.fill("input[name=password]", "correct-horse-42")
	tb.click("form button[type=submit]")
	tb.waitView("home")
}
