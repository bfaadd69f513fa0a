package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mealsync/mealsync/internal/testdb"
)

// sampleReport is a report with a known timeline: 30 one-second windows of
// browse and recipe requests, a login every tenth second, and errors in
// two windows (one of them a login's).
func sampleReport() *Report {
	rep := &Report{Target: "http://127.0.0.1:8081", Users: 50, Seed: 7, ThinkMeanSeconds: 15, RampUpSeconds: 5,
		DurationSeconds: 25, Outcome: OutcomeCompleted, Started: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC),
		Timeline: Timeline{WindowSeconds: 1}}
	for i := range 30 {
		lat := func(base float64) Latency {
			return Latency{P50: base, P95: 3 * base, P99: 5 * base, Max: 8 * base, Mean: 1.5 * base}
		}
		w := Window{Start: float64(i), Users: min(50, 10*(i+1)), Actions: map[string]WindowAction{
			reqBrowse: {Requests: int64(20 + i%7), Latency: lat(2 + float64(i%5))},
			reqRecipe: {Requests: int64(10 + i%3), Latency: lat(1)},
		}}
		if i%10 == 3 {
			w.Actions[reqLogin] = WindowAction{Requests: 1, Latency: lat(40)}
		}
		switch i {
		case 12:
			w.Actions[reqBrowse] = WindowAction{Requests: 25, Errors: 3, Latency: lat(900)}
			w.ErrorsByKind, w.ErrorsByStatus = map[string]int64{KindStatus: 2, KindTimeout: 1}, map[string]int64{"502": 2}
			w.Errors = 3
		case 23:
			w.Actions[reqLogin] = WindowAction{Requests: 1, Errors: 1, Latency: lat(30)}
			w.ErrorsByKind, w.ErrorsByStatus = map[string]int64{KindStatus: 1}, map[string]int64{"429": 1}
			w.Errors = 1
		}
		for _, a := range w.Actions {
			w.Requests += a.Requests
		}
		w.Latency = lat(3)
		rep.Timeline.Windows = append(rep.Timeline.Windows, w)
	}
	rep.Steady = PhaseReport{Seconds: 25, Requests: 1000, Errors: 4, Throughput: 40, Latency: Latency{P50: 2, P95: 9, P99: 15, Max: 7000},
		ErrorsBy:  ErrorCounts{Status: map[string]int64{"502": 2, "429": 1}, Kind: map[string]int64{KindStatus: 3, KindTimeout: 1}},
		ByRequest: []ActionReport{{Name: reqBrowse, Requests: 600, Errors: 3}, {Name: reqRecipe, Requests: 397}, {Name: reqLogin, Requests: 3, Errors: 1}}}
	return rep
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if m := regexp.MustCompile(`(?i)<(script|link|img|iframe)\b|\b(src|href)=`).FindString(page); m != "" {
		t.Errorf("the page loads something from elsewhere: %q", m)
	}
	for _, u := range regexp.MustCompile(`https?://[^\s"<]+`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" && !strings.HasPrefix(u, "http://127.0.0.1:8081") {
			t.Errorf("the page names %s", u)
		}
	}
}

// chromium is the headless browser's path, or the test skips (fails with
// MEALSYNC_REQUIRE_SERVICES=1: CI installs Debian's chromium).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testdb.SkipOrFail(t, "chromium is not installed (apt-get install chromium)")
	return ""
}

// TestHTMLChartsDraw opens the report in headless Chromium and checks what
// it laid out: every chart with its series drawn across the plot (paths
// with length and width), the errors marked where they happened, no
// console error.
func TestHTMLChartsDraw(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := sampleReport().WriteHTMLFile(file); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1100, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	// Every console message, in order; the test ends its page with a marker
	// message, so it knows it has seen all that came before.
	var mu sync.Mutex
	var messages []chromedp.ConsoleMessage
	cctx, stopConsole := context.WithCancel(ctx)
	defer stopConsole()
	console := chromedp.Console(cctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()

	type seriesInfo struct {
		D      int     `json:"d"`
		Length float64 `json:"length"`
		Width  float64 `json:"width"`
		Dots   int     `json:"dots"` // lone points, drawn as dots
	}
	type chartInfo struct {
		Width   float64               `json:"width"`
		Plot    float64               `json:"plot"`
		Series  map[string]seriesInfo `json:"series"`
		Markers []int                 `json:"markers"`
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitReady("body")); err != nil {
		t.Fatal(err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]chartInfo](`(() => {
		const out = {};
		for (const svg of document.querySelectorAll('svg.chart')) {
			const c = {width: svg.getBoundingClientRect().width, plot: svg.viewBox.baseVal.width - 72, series: {}, markers: []};
			for (const p of svg.querySelectorAll('path.series')) {
				const b = p.getBBox();
				const dots = svg.querySelectorAll('circle.point[data-series="' + p.dataset.series + '"]').length;
				c.series[p.dataset.series] = {d: (p.getAttribute('d') || '').length, length: p.getTotalLength(), width: b.width, dots};
			}
			for (const m of svg.querySelectorAll('.error-marker')) c.markers.push(+m.dataset.errors);
			out[svg.dataset.chart] = c;
		}
		console.info('checked');
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var problems []string
	for done := false; !done; {
		if time.Now().After(deadline) {
			t.Fatal("the console never showed the page's last message")
		}
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		problems = problems[:0]
		for _, m := range messages {
			if m.Text == "checked" {
				done = true
			} else if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				problems = append(problems, m.String())
			}
		}
		mu.Unlock()
	}

	want := map[string][]string{
		"throughput":         {"all", reqBrowse, reqRecipe, reqLogin},
		"latency":            {"p50", "p95", "p99", "max"},
		"latency-browse":     {"p50", "p95", "p99", "max"},
		"throughput-browse":  {reqBrowse},
		"latency-recipe":     {"p50", "p95", "p99", "max"},
		"throughput-recipe":  {reqRecipe},
		"latency-login":      {"p50", "p95", "p99", "max"},
		"throughput-login":   {reqLogin},
		"latency-plan-view":  nil, // absent: no such request in the run
		"throughput-unknown": nil,
	}
	for id, series := range want {
		c, ok := charts[id]
		if series == nil {
			if ok {
				t.Errorf("chart %s drawn for a request the run did not make", id)
			}
			continue
		}
		if !ok {
			t.Errorf("no chart %s; charts: %v", id, keys(charts))
			continue
		}
		if c.Width < 300 {
			t.Errorf("chart %s is %.0f px wide", id, c.Width)
		}
		for _, s := range series {
			got, ok := c.Series[s]
			switch {
			case !ok:
				t.Errorf("chart %s has no %s series", id, s)
			case got.D == 0 || (got.Length <= 0 && got.Dots == 0):
				t.Errorf("chart %s: series %s drew nothing (%+v)", id, s, got)
			case id != "latency-login" && s != reqLogin && got.Width < 0.8*c.Plot:
				// Series with a value in every window span the time axis.
				t.Errorf("chart %s: series %s spans %.0f of %.0f px", id, s, got.Width, c.Plot)
			}
		}
	}
	if got := charts["throughput"].Markers; fmt.Sprint(got) != "[3 1]" {
		t.Errorf("error markers on the throughput chart: %v, want [3 1] (windows 12 and 23)", got)
	}
	if got := charts["latency-login"].Markers; fmt.Sprint(got) != "[1]" {
		t.Errorf("error markers on the login chart: %v, want [1]", got)
	}
	// Logins came one in windows 3, 13 and 23: three lone points.
	if got := charts["latency-login"].Series["p95"].Dots; got != 3 {
		t.Errorf("latency-login shows %d lone points, want 3", got)
	}
	if got := charts["latency-recipe"].Markers; len(got) != 0 {
		t.Errorf("error markers on the recipe chart, which had none: %v", got)
	}
	if len(problems) > 0 {
		t.Errorf("the browser reported: %v", problems)
	}
}
func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
