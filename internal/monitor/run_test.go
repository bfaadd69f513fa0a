package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

var lastDeploy = &Deploy{Kind: "deploy", Version: "1.4.0", Outcome: "succeeded", Time: t0.Add(-12 * time.Minute)}

func staticTargets(ts ...Target) func() ([]Target, error) {
	return func() ([]Target, error) { return ts, nil }
}

// runAsync starts Run and returns a function that waits for its result.
func runAsync(t *testing.T, ctx context.Context, o Options) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	return func() error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
			return nil
		}
	}
}

func TestRunOncePrintsOneTableWithRatesAndReturns(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-(3*time.Hour + 5*time.Minute)), 2, 10)
	clock := newFakeClock(t)
	out := newOutput()
	wait := runAsync(t, context.Background(), Options{
		Targets: staticTargets(inst.target("i1"), Target{Name: "i2", URL: closedURL(t)}),
		LastDeploy: func() (*Deploy, error) {
			return lastDeploy, nil
		},
		Once: true, Out: out, Clock: clock,
	})
	inst.waitScraped() // the baseline
	inst.observe(listRoute, "200", 0.003, 95)
	inst.observe(listRoute, "500", 0.2, 5)
	clock.tick(2 * time.Second)
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := out.String()
	if n := strings.Count(got, "INSTANCE"); n != 1 {
		t.Fatalf("%d tables, want 1:\n%s", n, got)
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("a one-shot table has terminal escapes: %q", got)
	}
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if !strings.Contains(lines[0], "1/2 ready") || !strings.Contains(lines[0], "every 2s") {
		t.Errorf("header = %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "last deploy: deploy 1.4.0 succeeded at ") || !strings.HasSuffix(lines[1], "(12m02s ago)") {
		t.Errorf("deploy line = %q", lines[1])
	}
	// 95 requests ≤ 5 ms and 5 in (0.1, 0.25]: p95 is the top of (2.5, 5] ms.
	wantRows := [][]string{
		{"INSTANCE", "VERSION", "READY", "UPTIME", "REQ/S", "P95", "5XX%", "DB(USE/MAX)", "NOTE"},
		{"i1", "1.4.0", "UP", "3h05m", "50.0", "5.0ms", "5.0%", "2/10"},
		{"i2", "-", "unreachable", "-", "-", "-", "-", "-", "unreachable:", "connection", "refused"},
	}
	for i, want := range wantRows {
		if row := strings.Fields(lines[3+i]); !reflect.DeepEqual(row, want) {
			t.Errorf("row %d = %q, want %q", i, row, want)
		}
	}
	if strings.HasSuffix(lines[4], " ") {
		t.Errorf("trailing blanks: %q", lines[4])
	}
	// Fixed width: every column starts where its header does.
	if strings.Index(lines[4], "50.0") != strings.Index(lines[3], "REQ/S") {
		t.Errorf("columns are not aligned:\n%s\n%s", lines[3], lines[4])
	}
}

func TestRunOnceJSON(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 1, 4)
	clock := newFakeClock(t)
	out := newOutput()
	wait := runAsync(t, context.Background(), Options{
		Targets:    staticTargets(inst.target("i1"), Target{Name: "i2", URL: closedURL(t)}),
		LastDeploy: func() (*Deploy, error) { return lastDeploy, nil },
		Once:       true, JSON: true, Out: out, Clock: clock, Interval: 5 * time.Second,
	})
	inst.waitScraped()
	inst.observe(listRoute, "200", 0.003, 8)
	inst.observe(createRoute, "502", 0.003, 2)
	clock.tick(5 * time.Second)
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	got := out.String()
	if strings.Count(got, "\n") != 1 {
		t.Fatalf("want exactly one JSON line, got:\n%s", got)
	}
	var frame map[string]any
	if err := json.Unmarshal([]byte(got), &frame); err != nil {
		t.Fatal(err)
	}
	// The field names are an interface: this list changes only by additions.
	wantKeys(t, "frame", frame, "time", "interval_seconds", "ready", "total", "last_deploy", "instances")
	if frame["time"] != t0.Add(5*time.Second).Format(time.RFC3339) || frame["interval_seconds"] != 5.0 ||
		frame["ready"] != 1.0 || frame["total"] != 2.0 {
		t.Errorf("frame = %v", frame)
	}
	deploy := frame["last_deploy"].(map[string]any)
	wantKeys(t, "last_deploy", deploy, "kind", "version", "outcome", "time")
	if deploy["version"] != "1.4.0" || deploy["outcome"] != "succeeded" || deploy["time"] != lastDeploy.Time.Format(time.RFC3339) {
		t.Errorf("last_deploy = %v", deploy)
	}
	instances := frame["instances"].([]any)
	instanceKeys := []string{"name", "url", "version", "commit", "ready", "error", "uptime_seconds",
		"requests_per_second", "p95_seconds", "error_ratio", "db_in_use", "db_max", "restarted", "rate_interval_seconds"}
	up := instances[0].(map[string]any)
	wantKeys(t, "instance", up, instanceKeys...)
	want := map[string]any{
		"name": "i1", "url": inst.srv.URL, "version": "1.4.0", "commit": "c0ffee1.4.0", "ready": true, "error": "",
		"uptime_seconds": 3605.0, "requests_per_second": 2.0, "error_ratio": 0.2, "db_in_use": 1.0, "db_max": 4.0,
		"restarted": false, "rate_interval_seconds": 5.0,
		"p95_seconds": 0.0025 + 0.0025*(0.95*10)/10, // all 10 in (2.5, 5] ms
	}
	for k, v := range want {
		if f, ok := v.(float64); ok {
			if g, _ := up[k].(float64); !near(g, f) {
				t.Errorf("instance %s = %v, want %v", k, up[k], v)
			}
		} else if up[k] != v {
			t.Errorf("instance %s = %v, want %v", k, up[k], v)
		}
	}
	down := instances[1].(map[string]any)
	wantKeys(t, "unreachable instance", down, instanceKeys...)
	for _, k := range []string{"uptime_seconds", "requests_per_second", "p95_seconds", "error_ratio", "db_in_use", "db_max"} {
		if down[k] != nil {
			t.Errorf("unreachable instance: %s = %v, want null", k, down[k])
		}
	}
	if down["error"] != "unreachable: connection refused" || down["ready"] != false {
		t.Errorf("unreachable instance = %v", down)
	}
}

func wantKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if !reflect.DeepEqual(got, keys) {
		t.Errorf("%s fields = %v, want %v", what, got, keys)
	}
}

func TestRunOnceWithoutInstances(t *testing.T) {
	err := Run(context.Background(), Options{Targets: staticTargets(), Once: true, Out: io.Discard, Clock: newFakeClock(t)})
	if !errors.Is(err, ErrNoTargets) {
		t.Fatalf("Run = %v, want ErrNoTargets", err)
	}
	broken := func() ([]Target, error) { return nil, errors.New("state.json: unexpected end of JSON input") }
	err = Run(context.Background(), Options{Targets: broken, Out: io.Discard, Clock: newFakeClock(t)})
	if err == nil || !strings.Contains(err.Error(), "state.json") {
		t.Fatalf("Run = %v, want the instance list's error", err)
	}
}

func TestRunLiveRedrawsInPlaceUntilCancelled(t *testing.T) {
	a := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 1, 4)
	b := newFakeInstance(t, "1.5.0", t0, 0, 4)
	// A deploy adds instance b after the first refresh.
	var mu sync.Mutex
	targets := []Target{a.target("i1")}
	list := func() ([]Target, error) {
		mu.Lock()
		defer mu.Unlock()
		return targets, nil
	}
	clock := newFakeClock(t)
	out := newOutput()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := runAsync(t, ctx, Options{Targets: list, Out: out, Clock: clock, Redraw: true})

	frames := func(n int) func(string) bool {
		return func(s string) bool { return strings.Count(s, "\x1b[J") >= n }
	}
	first := out.waitFor(t, "the first frame", frames(1))
	if !strings.HasPrefix(first, "\x1b[2J\x1b[H") {
		t.Errorf("the first frame does not clear the screen: %q", first[:min(len(first), 20)])
	}
	if row := strings.Fields(frameLines(first, 1)[4]); row[4] != "-" {
		t.Errorf("first frame's rate = %q, want - (no baseline yet)", row[4])
	}

	a.observe(listRoute, "200", 0.01, 30)
	mu.Lock()
	targets = append(targets, b.target("i2"))
	mu.Unlock()
	clock.tick(2 * time.Second)
	second := frameLines(out.waitFor(t, "the second frame", frames(2)), 2)
	if !strings.Contains(second[0], "2/2 ready") {
		t.Errorf("second header = %q", second[0])
	}
	if row := strings.Fields(second[4]); row[0] != "i1" || row[4] != "15.0" {
		t.Errorf("second frame, i1 = %q, want 30 / 2 s = 15.0 req/s", row)
	}
	if row := strings.Fields(second[5]); row[0] != "i2" || row[1] != "1.5.0" || row[4] != "-" {
		t.Errorf("second frame, the new instance = %q", row)
	}

	clock.tick(2 * time.Second)
	third := out.waitFor(t, "the third frame", frames(3))
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}
	if out.String() != third {
		t.Errorf("Run wrote after it was cancelled")
	}
	for i, f := range strings.Split(third, "\x1b[H")[1:] {
		// Each frame overwrites the last: lines end by clearing what a
		// longer line of the previous frame left, then the rest is cleared.
		if !strings.HasSuffix(f, "\x1b[K\n\x1b[J") || strings.Count(f, "\n") != strings.Count(f, "\x1b[K\n") {
			t.Errorf("frame %d is not drawn in place: %q", i+1, f)
		}
	}
}

// frameLines returns the n-th frame (1-based) drawn in place, without escapes.
func frameLines(s string, n int) []string {
	f := strings.Split(s, "\x1b[H")[n]
	f = strings.NewReplacer("\x1b[K", "", "\x1b[J", "", "\x1b[2J", "").Replace(f)
	return strings.Split(f, "\n")
}

func TestRunLiveAppendsTimestampedTablesWhenNotATerminal(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 1, 4)
	clock := newFakeClock(t)
	out := newOutput()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := runAsync(t, ctx, Options{Targets: staticTargets(inst.target("i1")), Out: out, Clock: clock})

	tables := func(n int) func(string) bool {
		return func(s string) bool { return strings.Count(s, "DB(USE/MAX)") >= n }
	}
	out.waitFor(t, "the first table", tables(1))
	clock.tick(2 * time.Second)
	got := out.waitFor(t, "the second table", tables(2))
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if strings.Contains(got, "\x1b[") {
		t.Errorf("terminal escapes in a non-terminal stream: %q", got)
	}
	for _, ts := range []time.Time{t0, t0.Add(2 * time.Second)} {
		if !strings.Contains(got, "MealSync monitor  "+ts.Local().Format("2006-01-02 15:04:05")) {
			t.Errorf("no table headed %s in:\n%s", ts.Local(), got)
		}
	}
	if !strings.Contains(got, "\n\nMealSync monitor") {
		t.Errorf("tables are not separated by a blank line:\n%s", got)
	}
}

func TestRunLiveJSONPrintsOneObjectPerRefresh(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 1, 4)
	clock := newFakeClock(t)
	out := newOutput()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := runAsync(t, ctx, Options{Targets: staticTargets(inst.target("i1")), Out: out, Clock: clock, JSON: true, Redraw: true})
	lines := func(n int) func(string) bool { return func(s string) bool { return strings.Count(s, "\n") >= n } }
	out.waitFor(t, "the first object", lines(1))
	clock.tick(2 * time.Second)
	got := out.waitFor(t, "the second object", lines(2))
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for i, line := range strings.Split(strings.TrimSpace(got), "\n") {
		var f struct {
			Time      time.Time `json:"time"`
			Instances []struct {
				RequestsPerSecond *float64 `json:"requests_per_second"`
			} `json:"instances"`
		}
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("line %d: %v: %q", i, err, line)
		}
		if want := t0.Add(time.Duration(i) * 2 * time.Second); !f.Time.Equal(want) {
			t.Errorf("line %d time = %v, want %v", i, f.Time, want)
		}
		if hasRate := f.Instances[0].RequestsPerSecond != nil; hasRate != (i > 0) {
			t.Errorf("line %d: rate known = %v", i, hasRate)
		}
	}
}

func TestRunShowsAnInstanceListErrorAndKeepsTheLastList(t *testing.T) {
	inst := newFakeInstance(t, "1.4.0", t0.Add(-time.Hour), 1, 4)
	calls := 0
	list := func() ([]Target, error) {
		calls++
		if calls > 1 {
			return nil, errors.New("state.json: permission denied")
		}
		return []Target{inst.target("i1")}, nil
	}
	clock := newFakeClock(t)
	out := newOutput()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := runAsync(t, ctx, Options{
		Targets: list, Out: out, Clock: clock,
		LastDeploy: func() (*Deploy, error) { return nil, errors.New("history.json: bad JSON") },
	})
	out.waitFor(t, "the first table", func(s string) bool { return strings.Contains(s, "DB(USE/MAX)") })
	clock.tick(2 * time.Second)
	got := out.waitFor(t, "the second table", func(s string) bool { return strings.Count(s, "DB(USE/MAX)") == 2 })
	cancel()
	wait()
	second := got[strings.LastIndex(got, "MealSync monitor"):]
	for _, want := range []string{
		"last deploy: unknown (history.json: bad JSON)",
		"instance list: state.json: permission denied (showing the last one read)",
		"\ni1 ",
	} {
		if !strings.Contains(second, want) {
			t.Errorf("second table lacks %q:\n%s", want, second)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) || IsTerminal(io.Discard) {
		t.Error("a pipe or a plain writer is not a terminal")
	}
}
