package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
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

// writesPerSecond is how many writes the load sends a second (4 in 100
// requests): "at most a second of failing writes" in numbers.
const writesPerSecond = loadRate * 4 / 100

// reportLoad logs the figures of each window and of the steady state in
// between, and fails t for whatever a window may not cost (see window):
// any failed GET, any cut or unparsable body, more failed writes than the
// window allows or with another status, a stale connection where nginx was
// not reloaded, and any failure at all in the steady state. The app's own
// overload answer (503 "busy checking passwords", a machine starved of CPU)
// is reported, not counted. Latency percentiles are of the GETs and
// ordinary registers; the deliberately slow requests (1 s by construction)
// are reported by their maximum instead.
func reportLoad(t *testing.T, l *loadGen, windows []window, warm time.Time) {
	t.Helper()
	samples := l.snapshot()
	inAny := func(s sample) bool {
		for _, w := range windows {
			if w.holds(s) {
				return true
			}
		}
		return false
	}
	steady := summarise(samples, func(s sample) bool { return !s.start.Before(warm) && !inAny(s) })
	total := summarise(samples, func(sample) bool { return true })
	for _, w := range windows {
		s := summarise(samples, w.holds)
		writes := s.failed - s.failedByKind["get"]
		span := ""
		if writes > 0 {
			span = fmt.Sprintf(" (statuses %v, sent within %s)", s.writeStatuses, ms(s.lastWrite.Sub(s.firstWrite)))
		}
		t.Logf("FIGURE %s: %.1fs, %d requests sent (%d GET, %d register, %d slow register), %d GETs failed, %d writes failed%s, %d bodies cut, %d GETs stale on a reused connection (lost by a client that never retries), %d busy answers, %.0f req/s, p50 %s, p99 %s, slowest 1 s request %s",
			w.name, w.to.Sub(w.from).Seconds(), s.sent, s.byKind["get"], s.byKind["register"], s.byKind["slow"],
			s.failedByKind["get"], writes, span, s.byClass[failTruncated]+s.byClass[failInvalid], s.stale, s.busy,
			float64(s.sent)/w.to.Sub(w.from).Seconds(), ms(s.p50), ms(s.p99), ms(s.slowMax))
		var wrong []string
		if n := s.failedByKind["get"]; n > 0 {
			wrong = append(wrong, fmt.Sprintf("%d GETs failed", n))
		}
		if n := s.byClass[failTruncated] + s.byClass[failInvalid]; n > 0 {
			wrong = append(wrong, fmt.Sprintf("%d bodies arrived cut or unparsable", n))
		}
		if writes > w.writesMayFail {
			wrong = append(wrong, fmt.Sprintf("%d writes failed, at most %d may", writes, w.writesMayFail))
		}
		for status := range s.writeStatuses {
			if !slices.Contains(w.failStatuses, status) {
				wrong = append(wrong, fmt.Sprintf("a write failed with status %d (allowed: %v)", status, w.failStatuses))
			}
		}
		if w.noStale && s.stale > 0 {
			wrong = append(wrong, fmt.Sprintf("%d GETs met a connection nginx had closed, though nothing reloaded it", s.stale))
		}
		if len(wrong) > 0 {
			t.Errorf("%s: %s; the first failures:\n  %s", w.name, strings.Join(wrong, "; "), strings.Join(s.failures, "\n  "))
		}
	}
	t.Logf("FIGURE steady state (outside the deploys): %d requests, %d failed %v, %d stale, %d busy, p50 %s, p99 %s, slowest 1 s request %s",
		steady.sent, steady.failed, steady.byClass, steady.stale, steady.busy, ms(steady.p50), ms(steady.p99), ms(steady.slowMax))
	t.Logf("FIGURE whole run: %d requests sent, %d failed, %d busy, %d ticks dropped by the load generator", total.sent, total.failed, total.busy, l.dropped.Load())
	if steady.failed > 0 {
		t.Errorf("%d of %d requests failed outside the deploys; the first ones:\n  %s", steady.failed, steady.sent, strings.Join(steady.failures, "\n  "))
	}
	// On a busy machine the generator may fall somewhat behind; the run
	// still proves the deploys under load unless it sent less than half the
	// intended rate.
	if d := l.dropped.Load(); d > int64(total.sent) && !l.mayFallBehind {
		t.Errorf("the load generator sent under half of %d requests/s (%d ticks dropped, %d sent): the run proves nothing under load", loadRate, d, total.sent)
	}
}

// reloads counts the configuration reloads nginx has logged so far.
func (r *rig) reloads() int {
	r.t.Helper()
	b, err := os.ReadFile(r.nginx.ErrorLog)
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.Count(string(b), "reconfiguring")
}

// TestZeroLossAcrossDeploys: two instances behind nginx, a load of 300
// requests/s the whole time, five deploys alternating two builds. No
// request may fail (no connection error, no 5xx, no other non-2xx, no cut
// body), not even for a client that never retries: each new instance takes
// over its predecessor's socket, so nginx is never reloaded and no
// connection of a client is closed. Every acknowledged registration must be
// in the database.
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
	upstream, _ := os.ReadFile(r.nginx.UpstreamFile)
	reloadsBefore := r.reloads()
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
		windows = append(windows, window{name: fmt.Sprintf("deploy %d (%s → %s)", i, from, to), from: t0, to: time.Now(), noStale: true})
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

	// Each new instance took over its predecessor's socket: the upstream
	// never changed and nginx was never reloaded.
	if n := r.reloads() - reloadsBefore; n != 0 {
		t.Errorf("nginx was reloaded %d times during the deploys, want none", n)
	}
	if now, _ := os.ReadFile(r.nginx.UpstreamFile); string(now) != string(upstream) {
		t.Errorf("upstream.conf changed during the deploys:\n%s\nwas:\n%s", now, upstream)
	}
	t.Logf("FIGURE deploy durations (command to last old instance gone, 2 instances, verify %s): %s",
		verifyWindow, strings.Join(durations, ", "))
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

// TestBadReleaseRolledBack: three bad releases under load, each rolled
// back with one paragraph naming the step, the instance and its last log
// lines, the old release serving throughout:
//   - one that cannot become ready (its database refuses connections);
//   - one that is ready but answers every request with 500 (its database
//     role may read nothing): judged by its own 5xx count against the old
//     instances', at the first burst, not at the end of the window; nginx
//     retries the GETs it fails, and takes it out after each failure;
//   - one that quits 3 s after turning ready.
//
// No GET fails; the release that answers 500 may cost at most a second of
// writes (the POSTs it answered before it was taken out), and nothing else.
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

	// (b) Ready, then 500 for every request that reads data.
	forbidden := r.envFile("forbidden", "MEALSYNC_DATABASE_URL="+forbiddenRoleURL(t, r.dbURL), forbiddenEnv)
	t0 = time.Now()
	// A long window: it must be judged at the first burst, within its own
	// window, not pass it.
	res = r.run(r.deployArgs(v2, forbidden, "--verify", "30s", "--version", "v2-forbidden")...)
	windows = append(windows, window{name: "rolled-back deploy (ready, then 500 for every request)", from: t0, to: time.Now(),
		writesMayFail: writesPerSecond, failStatuses: []int{500}})
	checkRolledBack(t, res, "verification window", "with a 5xx status in the", "permission denied")
	if !strings.Contains(res.stderr, "since its verification began") {
		t.Errorf("the release answering 500 was not caught in its own verification window")
	}
	t.Logf("FIGURE release answering 500: rolled back %s after it joined (verification window 30 s)", joinedToFailed(res.stdout))
	r.checkConsistent(2, "v1")
	warmUp(t, l, time.Second)

	// (c) Ready, in service, then gone 3 s later.
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
	if got := strings.Count(h.stdout, "rolled back"); got != 3 {
		t.Errorf("history shows %d rolled back, want 3:\n%s", got, h.stdout)
	}
	metrics, _ := os.ReadFile(r.stateDir + "/metrics.prom")
	if !strings.Contains(string(metrics), `mealsync_deploys_total{outcome="rolled_back"} 3`) {
		t.Errorf("metrics.prom:\n%s", metrics)
	}
}

// joinedToFailed reads, from a deploy's progress, how long its new instance
// served before the deploy failed: from "… verifying for" to "FAILED".
func joinedToFailed(progress string) string {
	var joined, failed float64 = -1, -1
	for _, line := range strings.Split(progress, "\n") {
		var at float64
		if _, err := fmt.Sscanf(line, "[%fs]", &at); err != nil {
			continue
		}
		switch {
		case strings.Contains(line, "verifying for") && joined < 0:
			joined = at
		case strings.Contains(line, "FAILED"):
			failed = at
		}
	}
	if joined < 0 || failed < 0 {
		return "(not found in the progress)"
	}
	return fmt.Sprintf("%.2fs", failed-joined)
}

// TestInstanceKilledMidDeploy: SIGKILL, as a crash or the OOM killer would,
// under load.
//   - The new instance, while it is verified: the deploy is rolled back and
//     the old one, which shares its socket, keeps serving.
//   - An old instance the deploy has not reached yet: its address stops
//     answering (nginx sends everything to the other), and the deploy goes
//     on, binding that address again for the instance that replaces it, so
//     the upstream still never changes.
//
// GETs in flight on the killed instance are retried by nginx; POSTs it held
// come back 502 (they may have run: a client retries them with an
// Idempotency-Key). At most a second of writes may fail that way.
func TestInstanceKilledMidDeploy(t *testing.T) {
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	env := r.envFile("good")
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "2")...)
	addrs := r.state().Addrs()

	l := newLoad(r.nginx.URL, "kill"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmed := time.Now()
	warmUp(t, l, 2*time.Second)
	var windows []window
	killWhile := func(verify, step string, victim func() string) result {
		cmd := r.command(r.deployArgs(bins["v2"], env, "--verify", verify)...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		r.waitForStep(context.Background(), exited, step, 90*time.Second)
		id := victim()
		pid := r.pidOf(id)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s (pid %d): %v", id, pid, err)
		}
		t.Logf("killed %s (pid %d) at step %q", id, pid, step)
		<-exited
		return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	}

	// (a) The new instance.
	t0 := time.Now()
	res := killWhile("20s", "verifying i3", func() string { return "i3" })
	windows = append(windows, window{name: "new instance killed while verified", from: t0, to: time.Now(),
		writesMayFail: writesPerSecond, failStatuses: []int{502}})
	checkRolledBack(t, res, "verification window", "exited", "")
	r.checkConsistent(2, "v1")
	warmUp(t, l, time.Second)

	// (b) The old instance of the second address, while the first one's
	// successor is verified.
	t0 = time.Now()
	res = killWhile(verifyWindow, "verifying i4", func() string { return "i2" })
	windows = append(windows, window{name: "old instance killed mid-deploy", from: t0, to: time.Now(),
		writesMayFail: writesPerSecond, failStatuses: []int{502}})
	if res.code != 0 {
		t.Fatalf("the deploy failed when an old instance was killed: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("the deploy's progress:\n%s", res.stdout)
	r.checkConsistent(2, "v2")
	if got := r.state().Addrs(); !sameSet(got, addrs) {
		t.Errorf("addresses %v after the deploy, want the same as before %v: the dead one was not bound again", got, addrs)
	}
	warmUp(t, l, time.Second)
	l.stop()

	reportLoad(t, l, windows, warmed)
	checkWrites(t, r.dbURL, l.snapshot())
}

// TestOverloadDuringVerification: the database slows down for every
// instance at once while a new one is verified (each answer held back
// 1.2 s, more than readiness' 1 s ping allows): the new instance fails its
// readiness probes, and so do the old ones at the same moments.
//   - A short episode: the deploy waits it out and succeeds; the release
//     is not blamed.
//   - One longer than --trouble-timeout: the deploy is aborted, recorded
//     as such (not as a rollback of a bad release), and the old release
//     keeps serving.
func TestOverloadDuringVerification(t *testing.T) {
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	slow := startSlowDB(t, r.dbURL)
	env := r.envFile("slowdb", "MEALSYNC_DATABASE_URL="+slow.url(r.dbURL))
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "2")...)

	l := newLoad(r.nginx.URL, "slow"+strconv.FormatInt(time.Now().UnixNano(), 36))
	// While every answer from the database waits, requests pile up past
	// what the generator keeps in flight: it sends fewer, by design.
	l.mayFallBehind = true
	l.start()
	warmed := time.Now()
	warmUp(t, l, 2*time.Second)
	var windows []window
	// deployThrough deploys to while the database is slow from the
	// verification's start for episode (0: until the deploy gives up and
	// begins to roll back).
	deployThrough := func(to string, episode time.Duration, extra ...string) result {
		cmd := r.command(r.deployArgs(bins[to], env, extra...)...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		step := r.waitForStep(context.Background(), exited, "verifying ", 90*time.Second)
		slow.set(1200 * time.Millisecond)
		if episode > 0 {
			select {
			case <-exited:
			case <-time.After(episode): // the episode's length is the scenario
			}
		} else {
			r.waitPastStep(exited, step, 2*time.Minute)
		}
		slow.set(0)
		<-exited
		return result{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode(), took: time.Since(t0)}
	}

	t0 := time.Now()
	res := deployThrough("v2", 4*time.Second, "--trouble-timeout", "60s")
	windows = append(windows, window{name: "deploy through a 4 s slow-database episode", from: t0, to: time.Now()})
	t.Logf("the deploy's progress:\n%s", res.stdout)
	if res.code != 0 {
		t.Fatalf("the deploy failed though the old instances failed as much as the new one: exit %d\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "the machine or the database is in trouble") {
		t.Errorf("the progress does not say verification waited for the trouble to pass")
	}
	r.checkConsistent(2, "v2")
	warmUp(t, l, time.Second)

	t0 = time.Now()
	res = deployThrough("v1", 0, "--trouble-timeout", "3s")
	windows = append(windows, window{name: "deploy aborted by a lasting slow-database episode", from: t0, to: time.Now()})
	if res.code != 1 || !strings.Contains(res.stderr, "was aborted and rolled back") || !strings.Contains(res.stderr, "the release was not judged") {
		t.Fatalf("the deploy during a lasting episode: exit %d, want 1 with an abort that does not blame the release\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	t.Logf("the explanation:\n%s", res.stderr)
	r.checkConsistent(2, "v2")
	warmUp(t, l, time.Second)
	l.stop()

	reportLoad(t, l, windows, warmed)
	checkWrites(t, r.dbURL, l.snapshot())
	h := r.mustRun("history")
	if !strings.Contains(h.stdout, "aborted") {
		t.Errorf("history does not record the abort:\n%s", h.stdout)
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
// window 10 s; the app's shutdown delay 5 s, which a passed socket skips)
// for docs/BENCHMARKS.md. It takes about a minute, so it runs only with
// MEALSYNC_DEPLOY_FIGURES=1.
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
