package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// warmUp lets the load run for d before anything happens (the samples of
// that span are the first steady state), waiting on the samples, not a clock.
func warmUp(t *testing.T, l *loadGen, d time.Duration) {
	t.Helper()
	want := int(d.Seconds()*loadRate) + len(l.snapshot())
	testenv.WaitFor(t, d*4+10*time.Second, fmt.Sprintf("%d requests of load", want), func() bool {
		return len(l.snapshot()) >= want
	})
}

// versionOf asks an instance's ops listener which build it runs (/actuator
// is closed at the edge, and /actuator/info is not on the API port).
func versionOf(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/actuator/info")
	if err != nil {
		t.Fatalf("GET %s/actuator/info: %v", addr, err)
	}
	defer resp.Body.Close()
	var info struct {
		Build struct {
			Version string `json:"version"`
		} `json:"build"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("/actuator/info: %v", err)
	}
	return info.Build.Version
}

// reportLoad logs the figures of each window and of the steady state in
// between, and fails t for every failed request. Latency percentiles are
// of the GETs and ordinary registers; the deliberately slow requests (1 s
// by construction) are reported by their maximum instead.
func reportLoad(t *testing.T, l *loadGen, windows []window, warm time.Time) {
	t.Helper()
	samples := l.snapshot()
	inAny := func(ts time.Time) bool {
		for _, w := range windows {
			if !ts.Before(w.from) && ts.Before(w.to) {
				return true
			}
		}
		return false
	}
	steady := summarise(samples, func(ts time.Time) bool { return !ts.Before(warm) && !inAny(ts) })
	total := summarise(samples, func(time.Time) bool { return true })
	for _, w := range windows {
		w := w
		s := summarise(samples, func(ts time.Time) bool { return !ts.Before(w.from) && ts.Before(w.to) })
		t.Logf("FIGURE %s: %.1fs, %d requests sent (%d GET, %d register, %d slow register), %d failed %v, %d GETs stale on a reused connection (lost by a client that never retries), %.0f req/s, p50 %s, p99 %s, slowest 1 s request %s",
			w.name, w.to.Sub(w.from).Seconds(), s.sent, s.byKind["get"], s.byKind["register"], s.byKind["slow"], s.failed, s.byClass, s.stale,
			float64(s.sent)/w.to.Sub(w.from).Seconds(), ms(s.p50), ms(s.p99), ms(s.slowMax))
	}
	t.Logf("FIGURE steady state (outside the deploys): %d requests, %d failed %v, %d stale, p50 %s, p99 %s, slowest 1 s request %s",
		steady.sent, steady.failed, steady.byClass, steady.stale, ms(steady.p50), ms(steady.p99), ms(steady.slowMax))
	t.Logf("FIGURE whole run: %d requests sent, %d failed, %d ticks dropped by the load generator", total.sent, total.failed, l.dropped.Load())
	if total.failed > 0 {
		t.Errorf("%d of %d requests failed; the first ones:\n  %s", total.failed, total.sent, strings.Join(total.failures, "\n  "))
	}
	if d := l.dropped.Load(); d > int64(total.sent/100) {
		t.Errorf("the load generator could not keep %d requests/s: %d ticks dropped", loadRate, d)
	}
}

// TestZeroLossAcrossDeploys: two instances behind nginx, a load of 300
// requests/s the whole time, five deploys alternating two builds. No
// request may fail (no connection error, no 5xx, no other non-2xx), and
// every acknowledged registration must be in the database.
func TestZeroLossAcrossDeploys(t *testing.T) {
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	env := r.envFile("good")
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "2")...)
	r.checkConsistent(2, "v1")
	r.checkMonitor(2, "v1")

	l := newLoad(r.nginx.URL, "zero"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmed := time.Now()
	warmUp(t, l, 3*time.Second)

	var windows []window
	var durations []string
	for i := 1; i <= 5; i++ {
		from, to := "v1", "v2"
		if i%2 == 0 {
			from, to = "v2", "v1"
		}
		t0 := time.Now()
		res := r.mustRun(r.deployArgs(bins[to], env)...)
		if i == 1 {
			t.Logf("deploy 1's progress:\n%s", res.stdout)
		}
		windows = append(windows, window{name: fmt.Sprintf("deploy %d (%s → %s)", i, from, to), from: t0, to: time.Now()})
		durations = append(durations, fmt.Sprintf("%.1fs", res.took.Seconds()))
		st := r.state()
		if st.Current == nil || st.Current.Version != to || len(st.Instances) != 2 {
			t.Fatalf("after deploy %d: current %v, %d instances\n%s", i, st.Current, len(st.Instances), res.stdout)
		}
		for _, in := range st.Instances {
			if v := versionOf(t, in.OpsAddr); v != to {
				t.Errorf("deploy %d: instance %s runs %s, want %s", i, in.ID, v, to)
			}
		}
		warmUp(t, l, time.Second) // steady state between deploys
	}
	l.stop()

	t.Logf("FIGURE deploy durations (command to last old instance gone, 2 instances, verify %s, shutdown delay %s): %s",
		verifyWindow, shutdownDelay, strings.Join(durations, ", "))
	reportLoad(t, l, windows, warmed)
	checkWrites(t, r.dbURL, l.snapshot())
	r.checkConsistent(2, "v2")

	h := r.mustRun("history")
	if got := strings.Count(h.stdout, "succeeded"); got != 6 {
		t.Errorf("history shows %d succeeded, want 6 (the first deploy and five more):\n%s", got, h.stdout)
	}
	metrics, err := os.ReadFile(r.stateDir + "/metrics.prom")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`mealsync_deploys_total{outcome="succeeded"} 6`, `mealsync_release_info{version="v2"} 1`, "mealsync_deploy_duration_seconds "} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics.prom lacks %q:\n%s", want, metrics)
		}
	}
}

// TestBadReleaseRolledBack: a release that cannot become ready (its
// database refuses connections) and one that quits 3 s after turning ready
// are each rolled back: mealsyncctl exits 1 with one paragraph naming the
// step, the instance and its last log lines, the old release keeps serving,
// and the load sees no failed request.
func TestBadReleaseRolledBack(t *testing.T) {
	r := newRig(t)
	v1, v2 := buildRelease(t, "v1"), buildRelease(t, "v2")
	env := r.envFile("good")
	r.mustRun(r.deployArgs(v1, env, "--instances", "2")...)
	before := r.state().Addrs()

	l := newLoad(r.nginx.URL, "bad"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmed := time.Now()
	warmUp(t, l, 2*time.Second)
	var windows []window

	// (a) Pointed at a database port where nothing listens.
	refused := r.envFile("refused", fmt.Sprintf("MEALSYNC_DATABASE_URL=postgres://postgres@127.0.0.1:%d/mealsync?sslmode=disable&connect_timeout=2", testenv.FreePort(t)))
	t0 := time.Now()
	res := r.run(r.deployArgs(v2, refused)...)
	windows = append(windows, window{name: "rolled-back deploy (database refuses)", from: t0, to: time.Now()})
	checkRolledBack(t, res, "wait for readiness", "exited before its readiness endpoint said UP", "connect")
	r.checkConsistent(2, "v1")
	if got := r.state().Addrs(); !sameSet(got, before) {
		t.Errorf("upstream instances %v after the rollback, want the old ones %v", got, before)
	}
	warmUp(t, l, time.Second)

	// (b) Ready, in the upstream, then gone 3 s later.
	wrapper := buildTool(t, "exitafter")
	exits := r.envFile("exits", "EXITAFTER_BINARY="+v2, "EXITAFTER_DELAY=3s")
	t0 = time.Now()
	res = r.run(r.deployArgs(wrapper, exits, "--verify", "8s", "--version", "v2-exits")...)
	windows = append(windows, window{name: "rolled-back deploy (exits 3 s after ready)", from: t0, to: time.Now()})
	checkRolledBack(t, res, "verification window", "", "exitafter: stopping mealsync now")
	r.checkConsistent(2, "v1")
	warmUp(t, l, time.Second)
	l.stop()

	reportLoad(t, l, windows, warmed)
	checkWrites(t, r.dbURL, l.snapshot())
	h := r.mustRun("history")
	if got := strings.Count(h.stdout, "rolled back"); got != 2 {
		t.Errorf("history shows %d rolled back, want 2:\n%s", got, h.stdout)
	}
	metrics, _ := os.ReadFile(r.stateDir + "/metrics.prom")
	if !strings.Contains(string(metrics), `mealsync_deploys_total{outcome="rolled_back"} 2`) {
		t.Errorf("metrics.prom:\n%s", metrics)
	}
}

// checkRolledBack asserts a deploy exited 1 with the one-paragraph
// explanation.
func checkRolledBack(t *testing.T, res result, step, cause, logLine string) {
	t.Helper()
	if res.code != 1 {
		t.Fatalf("bad deploy exited %d, want 1\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	msg := res.stderr
	t.Logf("the explanation:\n%s", msg)
	for _, want := range []string{"rolled back at step", step, cause, "Rollback:", "keeps serving", "Last log lines of i", logLine} {
		if !strings.Contains(msg, want) {
			t.Errorf("the explanation lacks %q", want)
		}
	}
	if strings.Contains(strings.TrimSpace(msg), "\n\n") {
		t.Errorf("the explanation is more than one paragraph")
	}
}

// TestInterruptedDeploy kills mealsyncctl (SIGKILL) twice under load:
// once while its new instance is in the upstream being verified, once
// while an old instance drains. Each time `status` reports the interrupted
// deploy, and the next `deploy` reconciles and finishes: two ready
// instances, the upstream naming exactly them, no orphan process, and no
// failed request.
func TestInterruptedDeploy(t *testing.T) {
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	env := r.envFile("good")
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "2")...)

	l := newLoad(r.nginx.URL, "int"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmed := time.Now()
	warmUp(t, l, 2*time.Second)
	var windows []window

	for _, c := range []struct {
		to, killAt string
		verify     string
	}{
		{"v2", "verifying ", "20s"}, // the new instance is in the upstream
		{"v1", "stopping ", verifyWindow},
	} {
		t0 := time.Now()
		cmd := r.command(r.deployArgs(bins[c.to], env, "--verify", c.verify)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		step := r.waitForStep(context.Background(), exited, c.killAt, 90*time.Second)
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		t.Logf("killed mealsyncctl at step %q", step)

		s := r.status()
		if s.Interrupted == nil || !strings.HasPrefix(s.Interrupted.Step, c.killAt) || s.Consistent {
			t.Errorf("status after the kill: interrupted %+v, consistent %v", s.Interrupted, s.Consistent)
		}
		text := r.mustRun("status")
		t.Logf("status after the kill:\n%s", text.stdout)
		if !strings.Contains(text.stdout, "INTERRUPTED: a deploy of "+c.to) {
			t.Errorf("status does not report the interrupted deploy:\n%s", text.stdout)
		}

		res := r.mustRun(r.deployArgs(bins[c.to], env)...)
		t.Logf("the next deploy:\n%s", res.stdout)
		if !strings.Contains(res.stdout, "an interrupted deploy of "+c.to+" was found") {
			t.Errorf("the next deploy did not say it reconciled:\n%s", res.stdout)
		}
		windows = append(windows, window{name: fmt.Sprintf("killed at %q, then recovered (→ %s)", strings.TrimSpace(c.killAt), c.to), from: t0, to: time.Now()})
		r.checkConsistent(2, c.to)
		warmUp(t, l, time.Second)
	}
	l.stop()

	reportLoad(t, l, windows, warmed)
	checkWrites(t, r.dbURL, l.snapshot())
	h := r.mustRun("history")
	if got := strings.Count(h.stdout, "interrupted"); got != 2 {
		t.Errorf("history shows %d interrupted, want 2:\n%s", got, h.stdout)
	}
}

// TestDeployFigures measures deploys at the default timings (verification
// window 10 s, the app's shutdown delay 5 s) for docs/INFRASTRUCTURE.md.
// It takes about a minute, so it runs only with MEALSYNC_DEPLOY_FIGURES=1.
func TestDeployFigures(t *testing.T) {
	if os.Getenv("MEALSYNC_DEPLOY_FIGURES") != "1" {
		t.Skip("set MEALSYNC_DEPLOY_FIGURES=1 to measure deploys at the default timings")
	}
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	env := r.envFile("defaults", "MEALSYNC_SHUTDOWN_DELAY=5s", "MEALSYNC_SHUTDOWN_TIMEOUT=30s")
	args := func(v string, extra ...string) []string {
		a := r.deployArgs(bins[v], env, "--verify", "10s", "--stop-timeout", "45s")
		return append(a, extra...)
	}
	r.mustRun(args("v1", "--instances", "1")...)
	l := newLoad(r.nginx.URL, "fig"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmed := time.Now()
	warmUp(t, l, 3*time.Second)
	var windows []window
	for i, step := range []struct {
		to        string
		instances string
	}{{"v2", "1"}, {"v1", "2"}, {"v2", "2"}} {
		t0 := time.Now()
		res := r.mustRun(args(step.to, "--instances", step.instances)...)
		windows = append(windows, window{name: fmt.Sprintf("default-timing deploy %d (→ %s, %s instance(s))", i+1, step.to, step.instances), from: t0, to: time.Now()})
		t.Logf("FIGURE default-timing deploy %d: %.1fs\n%s", i+1, res.took.Seconds(), res.stdout)
		warmUp(t, l, 2*time.Second)
	}
	l.stop()
	reportLoad(t, l, windows, warmed)
}
