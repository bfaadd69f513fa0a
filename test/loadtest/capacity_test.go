package loadtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/catalog"
	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/monitor"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestCapacityFigures makes issue 11's capacity runs for docs/BENCHMARKS.md
// and docs/SCALING_GUIDE.md: a benchmark, not a CI test, it runs only with
// MEALSYNC_CAPACITY_FIGURES=1. The stack a user reaches — nginx with the
// repository's configuration in front of the instances (one shared token
// key), PostgreSQL with the starter catalogue repeated to
// MEALSYNC_CAPACITY_RECIPES recipes and MEALSYNC_CAPACITY_ACCOUNTS accounts —
// then the load tests of MEALSYNC_CAPACITY_PLAN, one after another on the
// same database. Each account signs in once (a password hash); later runs
// resume its session, as the app does. Knobs:
//
//	MEALSYNC_CAPACITY_PLAN       comma-separated runs, each INSTANCES[xPOOL]:USERS:STEADY:RAMP_UP[:MIX]
//	                             (POOL: each instance's MEALSYNC_DB_MAX_OPEN_CONNS, 3x10 is three
//	                             instances of 10 connections; MIX as --mix takes it, with ; between
//	                             weights: login=0;generate=1)
//	                             (1:10000:5m:2m,knee,3:10000:5m:2m,knee); "knee" searches, at the
//	                             previous run's instance count, for the most users at
//	                             p95 < 100 ms with no error, bisecting MEALSYNC_CAPACITY_KNEE
//	MEALSYNC_CAPACITY_KNEE       candidate users (1000,2000,3000,4000,5000,6000,7000,8000,10000,12500,15000)
//	MEALSYNC_CAPACITY_KNEE_RUN   a knee point's STEADY:RAMP_UP (75s:30s)
//	MEALSYNC_CAPACITY_KNEE_MAX   knee points per search (3)
//	MEALSYNC_CAPACITY_RECIPES    recipes in the catalogue (10000)
//	MEALSYNC_CAPACITY_ACCOUNTS   accounts in the database (10000, or the most users)
//	MEALSYNC_CAPACITY_THINK      mean think time (15s)
//	MEALSYNC_CAPACITY_MIX        action weights replacing the default mix's, as --mix takes them
//	MEALSYNC_CAPACITY_OUT        folder for each run's JSON and HTML report
//	MEALSYNC_CAPACITY_PROFILE    folder for CPU profiles of each run's steady phase: the
//	                             instances' (built with -tags pprof) and the generator's
//
// Going from fewer instances to more starts the new ones and reloads nginx
// with them; from more to fewer stops the extra ones.
//
// Besides the report it logs, for each run: the load average over the run,
// the CPU the instances and nginx used per request, and what the operator's
// monitor (the same counters and histogram Prometheus scrapes and the Grafana
// dashboard plots) saw over the steady phase beside the report's figures.
func TestCapacityFigures(t *testing.T) {
	if os.Getenv("MEALSYNC_CAPACITY_FIGURES") != "1" {
		t.Skip("set MEALSYNC_CAPACITY_FIGURES=1 to run (a benchmark, not a test)")
	}
	plan := parsePlan(t, envString("MEALSYNC_CAPACITY_PLAN", "1:10000:5m:2m,knee,3:10000:5m:2m,knee"))
	var knee []int
	for _, f := range strings.Split(envString("MEALSYNC_CAPACITY_KNEE", "1000,2000,3000,4000,5000,6000,7000,8000,10000,12500,15000"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			t.Fatalf("MEALSYNC_CAPACITY_KNEE: %q", f)
		}
		knee = append(knee, n)
	}
	sort.Ints(knee)
	kneeRun := parsePlan(t, "1:1:"+envString("MEALSYNC_CAPACITY_KNEE_RUN", "75s:30s"))[0]
	kneeMax := envInt(t, "MEALSYNC_CAPACITY_KNEE_MAX", 3)
	recipes := envInt(t, "MEALSYNC_CAPACITY_RECIPES", 10_000)
	accounts := envInt(t, "MEALSYNC_CAPACITY_ACCOUNTS", 10_000)
	for _, r := range plan {
		accounts = max(accounts, r.users)
		if r.knee {
			accounts = max(accounts, knee[len(knee)-1])
		}
	}
	think := envDuration(t, "MEALSYNC_CAPACITY_THINK", 15*time.Second)
	var mix loadtest.Mix // nil: the default
	if m := os.Getenv("MEALSYNC_CAPACITY_MIX"); m != "" {
		var err error
		if mix, err = loadtest.ParseMix(m); err != nil {
			t.Fatalf("MEALSYNC_CAPACITY_MIX: %v", err)
		}
	}
	out := os.Getenv("MEALSYNC_CAPACITY_OUT")
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	s, accts := startCapacityStack(t, recipes, accounts)
	t.Logf("stack: nginx, PostgreSQL with %d recipes and %d accounts, ready in %s", recipes, accounts, time.Since(began).Round(time.Second))

	run := func(instances, pool, users int, steady, rampUp time.Duration, runMix loadtest.Mix) capacityPoint {
		s.scale(t, instances, pool)
		if runMix == nil {
			runMix = mix
		}
		p := measurePoint(t, s, loadtest.Options{
			Target: s.nginx.URL, Users: users, Accounts: accts[:users], Seed: 11, MaxErrors: 1,
			Think: think, RampUp: rampUp, Duration: steady, Mix: runMix, SetupConcurrency: 4, SetupTimeout: 40 * time.Minute,
		})
		if out != "" {
			base := filepath.Join(out, fmt.Sprintf("%di-%du-%s", instances, users, steady))
			if pool > 0 {
				base += fmt.Sprintf("-pool%d", pool)
			}
			if runMix != nil {
				base += "-" + strings.NewReplacer(",", "_", "=", "").Replace(runMix.String())
			}
			f, err := os.Create(base + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.NewEncoder(f).Encode(p); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := p.Report.WriteHTMLFile(base + ".html"); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	var last capacityPoint
	for _, r := range plan {
		if !r.knee {
			last = run(r.instances, r.pool, r.users, r.steady, r.rampUp, r.mix)
			continue
		}
		// Bisect the candidates between the most users known to pass and
		// the fewest known to fail.
		lo, hi := -1, len(knee) // knee[lo] passes (none: 0 users), knee[hi] fails (none: past the list)
		for i, n := range knee {
			if n == last.Users && meetsGoal(last) {
				lo = i
			} else if n == last.Users {
				hi = i
			}
		}
		if lo == -1 && hi == len(knee) {
			t.Fatalf("knee: the previous run's %d users are not among the candidates", last.Users)
		}
		for range kneeMax {
			if hi-lo <= 1 {
				break
			}
			mid := (lo + hi) / 2
			p := run(last.Instances, last.Pool, knee[mid], kneeRun.steady, kneeRun.rampUp, nil)
			if meetsGoal(p) {
				lo = mid
			} else {
				hi = mid
			}
		}
		best := 0
		if lo >= 0 {
			best = knee[lo]
		}
		next := "beyond the candidates"
		if hi < len(knee) {
			next = strconv.Itoa(knee[hi])
		}
		t.Logf("KNEE instances=%d: %d users meet p95 < 100 ms with no error; %s do not", last.Instances, best, next)
	}
}

// meetsGoal is issue 11's latency goal for the knee: p95 under 100 ms and
// no failed request in the steady phase.
func meetsGoal(p capacityPoint) bool {
	return p.Report.Outcome == loadtest.OutcomeCompleted && p.Report.Steady.Latency.P95 < 100 && steadyErrors(p) == 0
}

type planned struct {
	mix            loadtest.Mix // nil: MEALSYNC_CAPACITY_MIX's, or the default
	knee           bool
	instances      int
	pool           int // MEALSYNC_DB_MAX_OPEN_CONNS of each instance; 0: the default
	users          int
	steady, rampUp time.Duration
}

func parsePlan(t *testing.T, spec string) []planned {
	t.Helper()
	var out []planned
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		if f == "knee" {
			if len(out) == 0 {
				t.Fatal("MEALSYNC_CAPACITY_PLAN: knee needs a run before it")
			}
			out = append(out, planned{knee: true})
			continue
		}
		parts := strings.Split(f, ":")
		var r planned
		if len(parts) == 5 {
			m, err := loadtest.ParseMix(strings.ReplaceAll(parts[4], ";", ","))
			if err != nil {
				t.Fatalf("MEALSYNC_CAPACITY_PLAN: %q: %v", f, err)
			}
			r.mix, parts = m, parts[:4]
		}
		if len(parts) != 4 {
			t.Fatalf("MEALSYNC_CAPACITY_PLAN: %q is not INSTANCES[xPOOL]:USERS:STEADY:RAMP_UP[:MIX]", f)
		}
		var err1, err2, err3, err4 error
		inst, pool, hasPool := strings.Cut(parts[0], "x")
		r.instances, err1 = strconv.Atoi(inst)
		if hasPool {
			var err error
			if r.pool, err = strconv.Atoi(pool); err != nil || r.pool < 1 {
				t.Fatalf("MEALSYNC_CAPACITY_PLAN: %q: the pool after x is not a positive number", f)
			}
		}
		r.users, err2 = strconv.Atoi(parts[1])
		r.steady, err3 = time.ParseDuration(parts[2])
		r.rampUp, err4 = time.ParseDuration(parts[3])
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || r.instances < 1 || r.users < 1 {
			t.Fatalf("MEALSYNC_CAPACITY_PLAN: %q is not INSTANCES[xPOOL]:USERS:STEADY:RAMP_UP", f)
		}
		out = append(out, r)
	}
	return out
}

// capacityPoint is one load test of a knee search, with what was measured
// beside the generator's report.
type capacityPoint struct {
	Instances int
	Pool      int // each instance's pool size; 0: the default
	Users     int
	Report    *loadtest.Report

	LoadAvgMin, LoadAvgMax float64 // 1-minute load average, sampled every second of the ramp-up and steady phases

	// CPU seconds over the steady phase, and per request of it.
	AppCPUSeconds, NginxCPUSeconds             float64
	AppMicrosPerRequest, NginxMicrosPerRequest float64

	// The monitor over the steady phase: requests the instances counted
	// (their counters' increase), and each instance's p95 from its
	// histogram, as Grafana's histogram_quantile computes it.
	MonitorRequests float64
	MonitorSeconds  float64
	MonitorP95ms    []float64

	// nginx's access log over the steady phase: the requests it answered
	// and their $request_time percentiles (from the request's first byte
	// to the answer's last, as the edge sees it).
	NginxRequests          int
	NginxP50ms, NginxP95ms float64

	series string // the chart's line for it (TestCapacityChart), not stored
}

func measurePoint(t *testing.T, s *capacityStack, opts loadtest.Options) capacityPoint {
	t.Helper()
	ctx := context.Background()
	p := capacityPoint{Instances: len(s.insts), Pool: s.pool, Users: opts.Users, LoadAvgMin: 1e9}
	scraper := &monitor.Scraper{Timeout: 10 * time.Second}
	var targets []monitor.Target
	for i, in := range s.insts {
		targets = append(targets, monitor.Target{Name: fmt.Sprintf("app%d", i+1), URL: in.OpsURL})
	}
	var mu sync.Mutex
	var steadyCounters monitor.Counters
	var steadyAt time.Time
	var cpuApp0, cpuNginx0 float64
	var profiling sync.WaitGroup
	defer profiling.Wait()
	rep, err := loadtest.Run(ctx, opts, loadtest.Hooks{OnTick: func(tk loadtest.Tick) {
		if tk.Phase == "setup" {
			return
		}
		if la, ok := loadAvg(); ok {
			p.LoadAvgMin, p.LoadAvgMax = min(p.LoadAvgMin, la), max(p.LoadAvgMax, la)
		}
		mu.Lock()
		defer mu.Unlock()
		if tk.Phase == "steady" && steadyAt.IsZero() {
			steadyAt = time.Now()
			if s.profile != "" {
				profiling.Add(1)
				go func() { defer profiling.Done(); s.profileSteady(t, opts) }()
			}
			_, steadyCounters = scraper.Collect(ctx, steadyAt, targets, monitor.Counters{})
			cpuApp0, cpuNginx0 = s.cpu()
		}
	}})
	if err != nil {
		t.Errorf("%d users: %v", opts.Users, err)
	}
	if rep == nil {
		t.FailNow()
	}
	p.Report = rep
	mu.Lock()
	defer mu.Unlock()
	if !steadyAt.IsZero() {
		end := time.Now()
		app, ngx := s.cpu()
		p.AppCPUSeconds, p.NginxCPUSeconds = app-cpuApp0, ngx-cpuNginx0
		snaps, _ := scraper.Collect(ctx, end, targets, steadyCounters)
		for _, sn := range snaps {
			if sn.RequestRate == nil {
				t.Errorf("the monitor could not read %s: %s", sn.Name, sn.Error)
				continue
			}
			p.MonitorRequests += *sn.RequestRate * sn.Interval.Seconds()
			p.MonitorSeconds = sn.Interval.Seconds()
			if sn.P95 != nil {
				p.MonitorP95ms = append(p.MonitorP95ms, *sn.P95*1e3)
			}
		}
		p.NginxRequests, p.NginxP50ms, p.NginxP95ms = nginxLatency(s.nginx.AccessLog, steadyAt, end)
		if n := float64(rep.Steady.Requests); n > 0 {
			p.AppMicrosPerRequest = 1e6 * p.AppCPUSeconds / n
			p.NginxMicrosPerRequest = 1e6 * p.NginxCPUSeconds / n
		}
	}

	var text strings.Builder
	rep.WriteText(&text)
	errs := steadyErrors(p)
	var rampErrs int64
	for _, a := range rep.RampUp.ByRequest {
		rampErrs += a.Errors
	}
	t.Logf("report, %d instance(s), %d users:\n%s", len(s.insts), opts.Users, text.String())
	t.Logf("POINT instances=%d pool=%d users=%d outcome=%s steady=%.0fs throughput=%.1f req/s p50=%.1f p95=%.1f p99=%.1f max=%.1f ms "+
		"errors=%d (ramp-up %d) sendlag_p99=%.1f ms overdue=%d loadavg=%.1f-%.1f setup=%.0fs (resumed %d, signed in %d) "+
		"app_cpu=%.0f µs/req nginx_cpu=%.0f µs/req generator_cpu=%.0f µs/req (%.2f cores) "+
		"monitor: %.0f requests over %.0f s (%.1f req/s; report %d requests, %.1f req/s), p95 per instance %v ms; "+
		"nginx: %d requests, p50 %.1f ms, p95 %.1f ms",
		len(s.insts), s.pool, opts.Users, rep.Outcome, rep.Steady.Seconds, rep.Steady.Throughput,
		rep.Steady.Latency.P50, rep.Steady.Latency.P95, rep.Steady.Latency.P99, rep.Steady.Latency.Max,
		errs, rampErrs, rep.SendLag.P99, rep.Overdue, p.LoadAvgMin, p.LoadAvgMax, rep.Setup.Seconds, rep.Setup.Resumed, rep.Setup.SignedIn,
		p.AppMicrosPerRequest, p.NginxMicrosPerRequest, rep.Generator.CPUPerRequestMicros, rep.Generator.CPUCores,
		p.MonitorRequests, p.MonitorSeconds, p.MonitorRequests/max(p.MonitorSeconds, 1e-9),
		rep.Steady.Requests, rep.Steady.Throughput, roundAll(p.MonitorP95ms), p.NginxRequests, p.NginxP50ms, p.NginxP95ms)
	return p
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*10+0.5)) / 10
	}
	return out
}

// capacityStack is nginx in front of several instances on one database.
type capacityStack struct {
	bin, dbURL string
	nginx      *testenv.Nginx
	insts      []*testenv.Instance
	pool       int                          // the instances' MEALSYNC_DB_MAX_OPEN_CONNS; 0: the default
	profile    string                       // MEALSYNC_CAPACITY_PROFILE: where CPU profiles go ("": none)
	pprofAddrs map[*testenv.Instance]string // each instance's pprof listener, when profiling
}

// cpu returns the CPU seconds the instances and nginx's processes have used.
func (s *capacityStack) cpu() (app, nginx float64) {
	for _, in := range s.insts {
		app += testenv.ProcessCPU(in.Cmd.Process.Pid)
	}
	nginx = testenv.TreeCPU(s.nginx.Cmd.Process.Pid)
	return app, nginx
}

func (s *capacityStack) startInstance(t *testing.T) {
	t.Helper()
	env := map[string]string{
		"MEALSYNC_TRUSTED_PROXIES": "127.0.0.1/32",
		// Every instance must accept the tokens the others sign.
		"MEALSYNC_JWT_SECRET": "capacity-figures-secret-shared-by-every-instance",
	}
	if s.pool > 0 {
		env["MEALSYNC_DB_MAX_OPEN_CONNS"] = strconv.Itoa(s.pool)
	}
	if s.profile != "" {
		env["MEALSYNC_PPROF_ADDR"] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	}
	in := testenv.StartMealsync(t, testenv.Options{Binary: s.bin, DatabaseURL: s.dbURL,
		// It loads the catalogue index before it listens: at 100,000
		// recipes, tens of seconds on a busy machine.
		ReadyTimeout: 5 * time.Minute, Env: env})
	s.insts = append(s.insts, in)
	if s.profile != "" {
		s.pprofAddrs[in] = env["MEALSYNC_PPROF_ADDR"]
	}
	for _, l := range in.LogLines() {
		if l["msg"] == "catalogue index loaded" {
			t.Logf("instance %d: catalogue index loaded in %v ms (load average %s)", len(s.insts), l["took_ms"], loadAvgText())
		}
	}
}

func loadAvgText() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// scale runs n instances behind nginx, each with a pool of pool connections:
// it starts the missing ones, or stops the extra ones, and reloads nginx
// with their addresses. A new pool size replaces every instance.
func (s *capacityStack) scale(t *testing.T, n, pool int) {
	t.Helper()
	if pool != s.pool {
		old := s.insts
		s.insts, s.pool = nil, pool
		for len(s.insts) < n {
			s.startInstance(t)
		}
		s.setUpstream(t)
		for _, in := range old {
			in.Stop()
		}
		return
	}
	if n == len(s.insts) {
		return
	}
	for len(s.insts) < n {
		s.startInstance(t)
	}
	extra := s.insts[n:]
	s.insts = s.insts[:n]
	s.setUpstream(t)
	for _, in := range extra {
		in.Stop()
	}
}

// setUpstream points nginx at the running instances.
func (s *capacityStack) setUpstream(t *testing.T) {
	t.Helper()
	var addrs []string
	for _, in := range s.insts {
		addrs = append(addrs, in.Addr)
	}
	s.nginx.WriteUpstream(t, addrs)
	s.nginx.Reload(t)
}

func startCapacityStack(t *testing.T, recipes, accounts int) (*capacityStack, []loadtest.Account) {
	t.Helper()
	testenv.RequireNginx(t)
	s := &capacityStack{dbURL: testdb.PostgresURL(t), profile: os.Getenv("MEALSYNC_CAPACITY_PROFILE"),
		pprofAddrs: map[*testenv.Instance]string{}}
	if s.profile == "" {
		s.bin = testenv.BuildMealsync(t)
	} else {
		s.bin = buildProfiled(t, s.profile)
	}
	for _, sub := range []string{"migrate", "seed"} {
		cmd := exec.Command(s.bin, sub)
		cmd.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+s.dbURL, "MEALSYNC_LOG_FORMAT=json")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mealsync %s: %v\n%s", sub, err, out)
		}
	}
	addRecipes(t, s.dbURL, recipes)
	accts := testenv.CreateAccounts(t, s.dbURL, accounts, auth.HashPassword)
	s.startInstance(t)
	s.nginx = testenv.StartNginx(t, "", []string{s.insts[0].Addr})
	return s, accts
}

// addRecipes repeats the starter catalogue (already seeded) under new names
// and ids until the database holds n recipes, as the catalogue benchmarks
// of internal/api do, and ANALYZEs.
func addRecipes(t *testing.T, dbURL string, n int) {
	t.Helper()
	db, err := postgres.Open(dbURL, postgres.Pool{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base, err := catalog.Recipes(time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	var batch []*mealsync.Recipe
	for i := len(base); i < n; i++ {
		r := *base[i%len(base)]
		r.ID = uuid.NewString()
		r.Name = fmt.Sprintf("%s No. %d", r.Name, i/len(base)+1)
		batch = append(batch, &r)
		if len(batch) == 1000 || i == n-1 {
			if err := db.CreateRecipes(context.Background(), batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := db.SQL().Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// loadAvg is the 1-minute load average.
func loadAvg() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil
}

// nginxLatency reads nginx's JSON access log for the requests it finished
// between from and to: how many, and the p50 and p95 of $request_time.
func nginxLatency(path string, from, to time.Time) (n int, p50, p95 float64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0
	}
	defer f.Close()
	var times []float64
	dec := json.NewDecoder(f)
	lo, hi := float64(from.UnixNano())/1e9, float64(to.UnixNano())/1e9
	for {
		var line struct {
			Msec        float64 `json:"msec"`
			RequestTime float64 `json:"request_time"`
		}
		if err := dec.Decode(&line); err != nil {
			break
		}
		if line.Msec >= lo && line.Msec < hi {
			times = append(times, line.RequestTime*1e3)
		}
	}
	if len(times) == 0 {
		return 0, 0, 0
	}
	sort.Float64s(times)
	at := func(q float64) float64 { return times[min(len(times)-1, int(q*float64(len(times))))] }
	return len(times), at(0.50), at(0.95)
}

// buildProfiled builds the server with -tags pprof (cmd/mealsync/pprof.go)
// into dir.
func buildProfiled(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "mealsync")
	cmd := exec.Command("go", "build", "-tags", "pprof", "-o", bin, "./cmd/mealsync")
	cmd.Dir = testenv.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags pprof: %v\n%s", err, out)
	}
	return bin
}

// profileSteady writes CPU profiles of the steady phase (but its last 5 s):
// each instance's, fetched from its pprof listener, and the generator's
// (this process).
func (s *capacityStack) profileSteady(t *testing.T, opts loadtest.Options) {
	secs := int((opts.Duration - 5*time.Second).Seconds())
	if secs < 5 {
		t.Logf("profile: a steady phase of %v is too short to profile", opts.Duration)
		return
	}
	base := filepath.Join(s.profile, fmt.Sprintf("%di-%du", len(s.insts), opts.Users))
	var wg sync.WaitGroup
	for i, in := range s.insts {
		addr := s.pprofAddrs[in]
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
			if err != nil {
				t.Errorf("profile of instance %d: %v", i+1, err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(fmt.Sprintf("%s-app%d.pprof", base, i+1))
			if err == nil {
				_, err = io.Copy(f, resp.Body)
				f.Close()
			}
			if err != nil {
				t.Errorf("profile of instance %d: %v", i+1, err)
			}
		}()
	}
	f, err := os.Create(base + "-generator.pprof")
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		t.Errorf("generator profile: %v", err)
	} else {
		select {
		case <-time.After(time.Duration(secs) * time.Second): // the profile's length, not synchronisation
		case <-t.Context().Done():
		}
		pprof.StopCPUProfile()
		f.Close()
	}
	wg.Wait()
	t.Logf("profiles: %s-*.pprof (go tool pprof -top %s %s-app1.pprof)", base, filepath.Join(s.profile, "mealsync"), base)
}
