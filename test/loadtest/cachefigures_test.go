package loadtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestCacheFigures measures the per-instance caches' hit ratios under the
// realistic mix, for docs/BENCHMARKS.md and issue 11's "Redis, measured not
// assumed". Not a CI test: it runs only with MEALSYNC_LOADTEST_CACHE_FIGURES=1.
//
//	MEALSYNC_LOADTEST_CACHE_FIGURES=1 MEALSYNC_REQUIRE_SERVICES=1 \
//	    go test -v -run CacheFigures -timeout 60m ./test/loadtest
//
// One database (PostgreSQL, the starter catalogue, the accounts), and for
// each count of MEALSYNC_LOADTEST_INSTANCES (default "3,1") that many
// instances behind nginx with the repository's configuration, played the
// same users with the same seed. Each instance's mealsync_cache_lookups_total
// is read when the steady phase begins and when the run ends; the
// difference is the steady phase's.
//
// One instance's caches see every request, as one cache shared by all
// instances would (Redis in front of three instances): the one-instance hit
// ratio is the shared cache's, at the same capacity. Hit ratios are counts,
// not timings, so the two runs compare even on a busy machine. Knobs as
// TestLoadFigures: MEALSYNC_LOADTEST_USERS (1500), _THINK (15s), _RAMP_UP
// (30s), _DURATION (240s); and MEALSYNC_LOADTEST_LIST_CACHE_SIZE, the
// instances' MEALSYNC_LIST_CACHE_SIZE (default theirs, 1,000 pages): a large
// one shows the most any page cache, shared or not, could hit.
func TestCacheFigures(t *testing.T) {
	if os.Getenv("MEALSYNC_LOADTEST_CACHE_FIGURES") != "1" {
		t.Skip("set MEALSYNC_LOADTEST_CACHE_FIGURES=1 to run (a benchmark, not a test)")
	}
	testenv.RequireNginx(t)
	counts := []int{3, 1}
	if v := os.Getenv("MEALSYNC_LOADTEST_INSTANCES"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				t.Fatalf("MEALSYNC_LOADTEST_INSTANCES: %q", v)
			}
			counts = append(counts, n)
		}
	}
	users := envInt(t, "MEALSYNC_LOADTEST_USERS", 1500)
	opts := loadtest.Options{Users: users, Seed: 11, MaxErrors: 1,
		Think:    envDuration(t, "MEALSYNC_LOADTEST_THINK", 15*time.Second),
		RampUp:   envDuration(t, "MEALSYNC_LOADTEST_RAMP_UP", 30*time.Second),
		Duration: envDuration(t, "MEALSYNC_LOADTEST_DURATION", 4*time.Minute),
	}
	dbURL := testdb.PostgresURL(t)
	bin := testenv.BuildMealsync(t)
	for _, sub := range []string{"migrate", "seed"} {
		cmd := exec.Command(bin, sub)
		cmd.Env = append(os.Environ(), "MEALSYNC_DATABASE_URL="+dbURL, "MEALSYNC_LOG_FORMAT=json")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("mealsync %s: %v\n%s", sub, err, out)
		}
	}
	opts.Accounts = testenv.CreateAccounts(t, dbURL, users, auth.HashPassword)

	var summary []string
	for _, n := range counts {
		t.Run(fmt.Sprintf("instances=%d", n), func(t *testing.T) {
			var insts []*testenv.Instance
			var addrs []string
			for range n {
				env := map[string]string{
					"MEALSYNC_TRUSTED_PROXIES": "127.0.0.1/32",
					"MEALSYNC_JWT_SECRET":      "cache-figures-secret-shared-by-every-instance-0123",
				}
				if v := os.Getenv("MEALSYNC_LOADTEST_LIST_CACHE_SIZE"); v != "" {
					env["MEALSYNC_LIST_CACHE_SIZE"] = v
				}
				inst := testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: dbURL, Env: env})
				insts = append(insts, inst)
				addrs = append(addrs, inst.Addr)
			}
			nginx := testenv.StartNginx(t, "", addrs)
			o := opts
			o.Target = nginx.URL
			var (
				mu     sync.Mutex
				before []lookups
			)
			rep, err := loadtest.Run(context.Background(), o, loadtest.Hooks{OnTick: func(tk loadtest.Tick) {
				mu.Lock()
				defer mu.Unlock()
				if tk.Phase == "steady" && before == nil {
					before = scrapeLookups(t, insts)
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			after := scrapeLookups(t, insts)
			mu.Lock()
			defer mu.Unlock()
			if before == nil {
				t.Fatal("the run never reached its steady phase")
			}
			var errs int64
			for _, a := range rep.Steady.ByRequest {
				errs += a.Errors
			}
			load, _ := os.ReadFile("/proc/loadavg")
			t.Logf("%d instance(s), %d users: steady %d requests, %.1f req/s, p50 %.1f ms, p95 %.1f ms, %d errors; load average %s",
				n, users, rep.Steady.Requests, rep.Steady.Throughput, rep.Steady.Latency.P50, rep.Steady.Latency.P95, errs,
				strings.Join(strings.Fields(string(load))[:3], " "))
			total := lookups{}
			for i := range insts {
				d := after[i].minus(before[i])
				t.Logf("instance %d: %s", i+1, d)
				total = total.plus(d)
			}
			line := fmt.Sprintf("%d instance(s), all: %s", n, total)
			t.Log(line)
			summary = append(summary, line)
		})
	}
	t.Logf("FIGURES (steady phase; hit ratio = hits / lookups):\n%s", strings.Join(summary, "\n"))
}

// lookups is one instance's mealsync_cache_lookups_total: "cache/result" →
// count.
type lookups map[string]float64

var lookupLine = regexp.MustCompile(`(?m)^mealsync_cache_lookups_total\{cache="(\w+)",result="(\w+)"\} (\S+)$`)

func scrapeLookups(t *testing.T, insts []*testenv.Instance) []lookups {
	out := make([]lookups, len(insts))
	for i, inst := range insts {
		resp, err := http.Get(inst.OpsURL + "/actuator/prometheus")
		if err != nil {
			t.Errorf("scrape: %v", err)
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("scrape: %d %v", resp.StatusCode, err)
			return nil
		}
		out[i] = lookups{}
		for _, m := range lookupLine.FindAllStringSubmatch(string(body), -1) {
			v, _ := strconv.ParseFloat(m[3], 64)
			out[i][m[1]+"/"+m[2]] = v
		}
		if len(out[i]) == 0 {
			t.Errorf("instance %d exports no mealsync_cache_lookups_total", i+1)
		}
	}
	return out
}

func (l lookups) minus(o lookups) lookups {
	d := lookups{}
	for k, v := range l {
		d[k] = v - o[k]
	}
	return d
}

func (l lookups) plus(o lookups) lookups {
	d := lookups{}
	for k, v := range l {
		d[k] = v
	}
	for k, v := range o {
		d[k] += v
	}
	return d
}

// String lists each cache's hits, misses and hit ratio.
func (l lookups) String() string {
	var caches []string
	for k := range l {
		if c, ok := strings.CutSuffix(k, "/hit"); ok {
			caches = append(caches, c)
		}
	}
	slices.Sort(caches)
	var b strings.Builder
	for _, c := range caches {
		h, m := l[c+"/hit"], l[c+"/miss"]
		ratio := 0.0
		if h+m > 0 {
			ratio = 100 * h / (h + m)
		}
		fmt.Fprintf(&b, "%s %.0f hits %.0f misses (%.1f %%); ", c, h, m, ratio)
	}
	return strings.TrimSuffix(b.String(), "; ")
}
