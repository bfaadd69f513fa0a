// Package syncbench measures live sync (issue 13) with real processes:
// MealSync instances on PostgreSQL (and SQLite), devices that are clients
// of the public API (internal/syncsim), the database's own notifications
// observed beside them. Three measurements, each with a small run in the
// normal test suite that checks what must hold (every write reaches every
// other device once and in order; every connection is served; a device far
// behind gets every revision) and a long run for docs/BENCHMARKS.md that
// runs only when asked:
//
//	delivery   commit to another device on another instance, p50/p99,
//	           writes on a fixed schedule (TestDeliveryFigures)
//	idle       idle WebSocket connections on one instance and the memory
//	           each costs (TestIdleFigures)
//	catch-up   a device thousands of revisions behind, on PostgreSQL and
//	           SQLite (TestCatchUpFigures)
//
//	MEALSYNC_SYNCBENCH_FIGURES=1 MEALSYNC_REQUIRE_SERVICES=1 go test -v -run Figures -timeout 60m ./test/syncbench
//
// The small runs never assert that anything was fast: the machine is shared.
package syncbench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/syncsim"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// secret signs the access tokens: every instance shares it, and the
// harness signs its users' tokens with it, as a sign-in would (without a
// password hash per user: 4,000 of them would cost minutes of CPU).
const secret = "syncbench-secret-shared-by-every-instance-0123456789"

// serverEnv is every instance's environment.
var serverEnv = map[string]string{
	"MEALSYNC_JWT_SECRET":               secret,
	"MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0",
	"MEALSYNC_SHUTDOWN_DELAY":           "0s",
}

// stack is PostgreSQL and the instances on it.
type stack struct {
	dbURL     string
	instances []*testenv.Instance
}

// startPostgres migrates a new database and starts n instances on it.
// MEALSYNC_SYNCBENCH_DB_POOL, if set, is each instance's
// MEALSYNC_DB_MAX_OPEN_CONNS and MEALSYNC_DB_MAX_IDLE_CONNS (the instances
// see none of the test's own MEALSYNC_ variables).
func startPostgres(t testing.TB, n int) *stack {
	t.Helper()
	s := &stack{dbURL: testdb.PostgresURL(t)}
	bin := testenv.BuildMealsync(t)
	env := map[string]string{"MEALSYNC_MIGRATE_ON_START": "true"}
	for k, v := range serverEnv {
		env[k] = v
	}
	if pool := os.Getenv("MEALSYNC_SYNCBENCH_DB_POOL"); pool != "" {
		env["MEALSYNC_DB_MAX_OPEN_CONNS"], env["MEALSYNC_DB_MAX_IDLE_CONNS"] = pool, pool
	}
	for range n {
		// One at a time: the first migrates, the others find it done.
		s.instances = append(s.instances, testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: s.dbURL, Env: env}))
	}
	return s
}

// startSQLite starts one instance on a new SQLite database.
func startSQLite(t testing.TB) *testenv.Instance {
	t.Helper()
	return testenv.StartMealsync(t, testenv.Options{Env: serverEnv})
}

// users writes n users to the database, as sign-ups would have made them,
// and returns an access token for each, signed with the instances' secret.
func users(t testing.TB, dbURL string, n int) []string {
	t.Helper()
	db, err := postgres.Open(dbURL, postgres.Pool{MaxOpen: 8, MaxIdle: 8, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hash, err := auth.HashPassword("syncbench password 1") // one hash for all: nobody signs in with it
	if err != nil {
		t.Fatal(err)
	}
	signer := auth.NewSigner([][]byte{[]byte(secret)}, 12*time.Hour, time.Now)
	now := time.Now()
	tokens := make([]string, n)
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := w; i < n; i += 8 {
				u := &mealsync.User{ID: uuid.NewString(), Email: fmt.Sprintf("device-%d@example.com", i), Name: fmt.Sprintf("Device %d", i),
					Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
				if err := db.CreateUser(context.Background(), u); err != nil {
					errs <- err
					return
				}
				tok, _, err := signer.Issue(u.ID, u.SessionEpoch, now)
				if err != nil {
					errs <- err
					return
				}
				tokens[i] = tok
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return tokens
}

// client is an HTTP client for many devices at once: enough idle
// connections per host that a burst of writes reuses them.
func client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		Proxy: nil, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns: 512, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
	}}
}

// households makes n households of devices devices each on base, and
// returns them.
func households(t testing.TB, ctx context.Context, base string, tokens []string, n int) []*syncsim.Household {
	t.Helper()
	hs, err := syncsim.Households(ctx, syncsim.Config{BaseURL: base, Client: client()}, tokens, n, 8)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// commits hears the database's household notifications — sent by
// PostgreSQL at commit, to every listener at once, the instances' included
// — and remembers when each revision's arrived.
type commits struct {
	mu sync.Mutex
	at map[string]time.Time // by "householdID:revision"
}

func observeCommits(t testing.TB, dbURL string) *commits {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{sqldb.HouseholdChannel}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	c := &commits{at: map[string]time.Time{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := conn.WaitForNotification(ctx)
			at := time.Now()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.at[n.Payload] = at
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close(context.Background())
	})
	return c
}

func (c *commits) When(householdID string, revision int64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.at[householdID+":"+strconv.FormatInt(revision, 10)]
	return at, ok
}

// rss is a process's resident memory, from /proc/PID/status (VmRSS).
func rss(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS: %q", rest)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// metrics reads an instance's metrics from its ops listener, each family
// summed over its series.
func metrics(t testing.TB, inst *testenv.Instance) map[string]float64 {
	t.Helper()
	resp, err := http.Get(inst.OpsURL + "/actuator/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			switch {
			case m.Gauge != nil:
				out[name] += m.GetGauge().GetValue()
			case m.Counter != nil:
				out[name] += m.GetCounter().GetValue()
			case m.Untyped != nil:
				out[name] += m.GetUntyped().GetValue()
			case m.Histogram != nil:
				out[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
			case m.Summary != nil:
				out[name+"_count"] += float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return out
}

// cpuTime is the user and system CPU time process pid has used, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	c, ok := cpuTimeOf(pid)
	if !ok {
		t.Fatalf("no CPU time for process %d", pid)
	}
	return c
}

func cpuTimeOf(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, false
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// backendsCPU is the CPU time each PostgreSQL backend serving database
// dbURL's has used so far, by process id: a backend's command line is
// "postgres: USER DATABASE HOST(PORT) STATE" (ps shows it so). The server
// must run on this machine, as .ci/postgres.sh starts it.
func backendsCPU(t testing.TB, dbURL string) map[int]time.Duration {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := " " + strings.TrimPrefix(u.Path, "/") + " "
	out := map[int]time.Duration{}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.HasPrefix(cmd, []byte("postgres: ")) || !bytes.Contains(cmd, []byte(db)) {
			continue
		}
		if c, ok := cpuTimeOf(pid); ok {
			out[pid] = c
		}
	}
	return out
}

// backendsCPUSince is how much CPU database dbURL's backends have used
// since before. A backend that has exited by then is not counted: the
// figure is a floor when the instances' pools close and reopen
// connections (the delivery run reports how many they closed).
func backendsCPUSince(t testing.TB, dbURL string, before map[int]time.Duration) time.Duration {
	t.Helper()
	var sum time.Duration
	for pid, c := range backendsCPU(t, dbURL) {
		sum += c - before[pid]
	}
	return sum
}

// machine logs what the figures ran on: CPUs, memory, load.
func machine(t testing.TB) {
	t.Helper()
	mem := "?"
	if f, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem, _, _ = strings.Cut(string(f), "\n")
	}
	t.Logf("machine: %d CPUs, %s, load average %s", runtime.NumCPU(), strings.Join(strings.Fields(mem), " "), loadAverage())
}

// loadAverage is the machine's load over 1, 5 and 15 minutes.
func loadAverage() string {
	load, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(load)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// figures skips t unless the long runs were asked for, and logs the machine.
func figures(t *testing.T) {
	t.Helper()
	if os.Getenv("MEALSYNC_SYNCBENCH_FIGURES") != "1" {
		t.Skip("set MEALSYNC_SYNCBENCH_FIGURES=1 to run (a benchmark, not a test)")
	}
	machine(t)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}
