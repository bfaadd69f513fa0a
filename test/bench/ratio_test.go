// Package bench measures MealSync against its floor: the throughput of an
// authenticated GET /api/v1/recipes/{id} beside a bare net/http + pgx server
// doing the same primary-key lookup (barepk), on the same database, in the
// same run, directly and through nginx with the repository's configuration.
//
//	MEALSYNC_REQUIRE_SERVICES=1 go test -run '^$' -bench RecipeGetRatio -benchtime 1x ./test/bench
//
// Each configuration is loaded for MEALSYNC_BENCH_SECONDS (default 10) by
// 256 keep-alive connections, each from its own loopback address, so that
// nginx's per-client rate limit (100 r/s) sees 256 clients, as it would in
// production. The figures and the machine go in docs/BENCHMARKS.md.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/catalog"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

const (
	recipes = 10_000
	clients = 256
	secret  = "bench-secret-shared-by-both-instances-0123456789"
)

func BenchmarkRecipeGetRatio(b *testing.B) {
	url := testdb.PostgresURL(b)
	bin := testenv.BuildMealsync(b)
	if out, err := exec.Command(bin, "migrate", "-database-url", url).CombinedOutput(); err != nil {
		b.Fatalf("migrate: %v\n%s", err, out)
	}
	ids := loadRecipes(b, url)

	env := []string{"MEALSYNC_DATABASE_URL=" + url, "MEALSYNC_JWT_SECRET=" + secret,
		"MEALSYNC_TRUSTED_PROXIES=127.0.0.1/32", "MEALSYNC_REGISTER_MAX_PER_ADDRESS=0"}
	indexed, indexedPID := startServer(b, exec.Command(bin, "serve"), env, `"msg":"listening"`)
	sqlOnly, sqlPID := startServer(b, exec.Command(bin, "serve"), append(env, "MEALSYNC_CATALOGUE_INDEX=false"), `"msg":"listening"`)
	bare, barePID := startServer(b, exec.Command(testenv.Build(b, "./test/bench/barepk"), "-addr", "127.0.0.1:0", "-database-url", url), nil, "listening ")
	token := login(b, "http://"+indexed)
	nginx := testenv.StartNginx(b, "", []string{bare})

	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("MEALSYNC_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	configs := []struct {
		name, base, upstream, token string
		pid                         int // the server's process, whose CPU time is counted
	}{
		{"bare", "http://" + bare, "", "", barePID},
		{"mealsync", "http://" + indexed, "", token, indexedPID},
		{"mealsync-sql", "http://" + sqlOnly, "", token, sqlPID},
		{"nginx/bare", nginx.URL, bare, "", barePID},
		{"nginx/mealsync", nginx.URL, indexed, token, indexedPID},
	}
	// Rounds, each configuration in turn: whatever else the machine does
	// drifts over a run, and spreads over all of them alike.
	const rounds = 5
	slice := time.Duration(seconds) * time.Second / rounds
	served := map[string]float64{}
	cpu := map[string]time.Duration{}
	for round := range rounds {
		for i := range configs {
			c := configs[(i+round)%len(configs)]
			if c.upstream != "" {
				nginx.WriteUpstream(b, []string{c.upstream})
				nginx.Reload(b)
			}
			before := cpuTime(b, c.pid)
			n, failed := load(b, c.base, c.token, ids, slice)
			cpu[c.name] += cpuTime(b, c.pid) - before
			if failed > 0 {
				b.Errorf("%s: %d requests failed", c.name, failed)
			}
			served[c.name] += n
		}
	}
	results := map[string]float64{}
	for _, c := range configs {
		rps := served[c.name] / (slice * rounds).Seconds()
		perRequest := float64(cpu[c.name].Microseconds()) / served[c.name]
		b.Logf("FIGURE %s: %.0f req/s, %.1f µs of the server process's CPU per request", c.name, rps, perRequest)
		results[c.name] = rps
		b.ReportMetric(rps, c.name+"-req/s")
	}
	for _, r := range []struct{ name, of, to string }{
		{"ratio", "mealsync", "bare"}, {"ratio-sql", "mealsync-sql", "bare"}, {"ratio-nginx", "nginx/mealsync", "nginx/bare"},
	} {
		b.Logf("FIGURE %s: %.2f", r.name, results[r.of]/results[r.to])
		b.ReportMetric(results[r.of]/results[r.to], r.name)
	}
}

// loadRecipes stores the starter catalogue repeated to 10,000 recipes and
// returns their ids.
func loadRecipes(b *testing.B, url string) []string {
	db, err := postgres.Open(url, postgres.Pool{MaxOpen: 4, MaxIdle: 4, MaxLifetime: time.Hour, MaxIdleTime: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	base, err := catalog.Recipes(time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]*mealsync.Recipe, 0, recipes)
	ids := make([]string, 0, recipes)
	for i := 0; len(rs) < recipes; i++ {
		r := *base[i%len(base)]
		r.ID = uuid.NewString()
		r.Name = fmt.Sprintf("%s No. %d", r.Name, i/len(base)+1)
		rs, ids = append(rs, &r), append(ids, r.ID)
	}
	if err := db.CreateRecipes(context.Background(), rs...); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return ids
}

// cpuTime is the user and system CPU time a process has used, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s).
func cpuTime(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// startServer starts a server that prints its address on a line holding
// marker (MealSync's JSON "listening" line, barepk's "listening ADDR"),
// returns the address, and drops the rest of its output unread: decoding a
// log line per request in this process would load the load generator.
func startServer(b *testing.B, cmd *exec.Cmd, env []string, marker string) (string, int) {
	cmd.Env = append(os.Environ(), append([]string{"MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=off",
		"MEALSYNC_LOG_FORMAT=json"}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	testenv.StartProcess(b, cmd)
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatalf("%s exited before listening", cmd.Path)
		}
		if !strings.Contains(line, marker) {
			continue
		}
		addr := strings.TrimSpace(strings.TrimPrefix(line, "listening "))
		if _, rest, ok := strings.Cut(line, `"addr":"`); ok {
			addr, _, _ = strings.Cut(rest, `"`)
		}
		go io.Copy(io.Discard, r)
		return addr, cmd.Process.Pid
	}
}

func login(b *testing.B, base string) string {
	creds := `{"email":"bench@example.com","password":"bench password 1","name":"Bench"}`
	var token string
	for _, path := range []string{"register", "login"} {
		resp, err := http.Post(base+"/api/v1/users/"+path, "application/json", strings.NewReader(creds))
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if _, rest, ok := strings.Cut(string(body), `"token":"`); ok {
			token, _, _ = strings.Cut(rest, `"`)
		}
	}
	return token
}

// load sends GETs of random recipes from clients connections, each kept
// alive and each from its own loopback address, for d, and returns the
// number of 200s and of anything else.
func load(b *testing.B, base, token string, ids []string, d time.Duration) (float64, int64) {
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+c/250), byte(1+c%250))}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				DialContext:         (&net.Dialer{LocalAddr: local}).DialContext,
				MaxIdleConnsPerHost: 1,
			}}
			r := rand.New(rand.NewPCG(uint64(c), 5))
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", base+"/api/v1/recipes/"+ids[r.IntN(len(ids))], nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := client.Do(req)
				if err != nil {
					if failed.Add(1) <= 3 {
						b.Logf("%s: %v", base, err)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else if failed.Add(1) <= 3 {
					b.Logf("%s: status %d", base, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()), failed.Load()
}
