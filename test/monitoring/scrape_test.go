package monitoring_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
	"go.yaml.in/yaml/v3"
)

// Build stamps of the binary under test, so mealsync_build_info can be
// checked label for label.
const (
	testVersion = "monitoring-test"
	testCommit  = "0123456789abcdef"
)

// httpClient bounds every request, so a hung server fails the test instead
// of stalling it.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// TestPrometheusScrapesMealSync builds and starts the real binary on SQLite,
// makes a few requests, then starts Debian's Prometheus on loopback with the
// repository's scrape job and alert rules, pointed at the instance's ops
// listener, and asks its HTTP API whether the series the rules and dashboard
// read arrived with the expected labels.
func TestPrometheusScrapesMealSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs MealSync and Prometheus")
	}
	promBin := requireTool(t, "prometheus")

	dataDir := filepath.Join(t.TempDir(), "data")
	app := startMealSync(t, buildMealSync(t), dataDir, nil)

	// Traffic whose counts are asserted below, exactly.
	const listCalls = 3
	for range listCalls {
		app.expect(t, "GET", "/api/v1/recipes", "", "", http.StatusOK)
	}
	app.expect(t, "POST", "/api/v1/users/register", "",
		`{"email":"monitor@example.com","password":"analytical1","name":"Monitor"}`, http.StatusOK)
	login := app.expect(t, "POST", "/api/v1/users/login", "",
		`{"email":"monitor@example.com","password":"analytical1"}`, http.StatusOK)
	app.expect(t, "POST", "/api/v1/users/login", "",
		`{"email":"monitor@example.com","password":"not-the-password"}`, http.StatusUnauthorized)
	var session struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.Unmarshal(login, &session); err != nil || session.Data.Token == "" {
		t.Fatalf("login gave no token: %v\n%s", err, login)
	}
	app.expect(t, "GET", "/api/v1/recipes/00000000-0000-4000-8000-000000000000", session.Data.Token, "", http.StatusNotFound)
	app.expect(t, "GET", "/api/v1/no-such-endpoint", "", "", http.StatusNotFound)

	prom := startPrometheus(t, promBin, testPrometheusConfig(t, app.opsAddr))

	// Every check polls until its deadline: Prometheus scrapes every second,
	// but the first scrape and rule evaluation come when they come.
	const deadline = 60 * time.Second
	one := func(t *testing.T, query string, want float64) {
		t.Helper()
		waitFor(t, deadline, query, func() (bool, string) {
			res, err := prom.query(query)
			if err != nil {
				return false, err.Error()
			}
			if len(res) != 1 {
				return false, fmt.Sprintf("%d series: %v", len(res), res)
			}
			if res[0].Metric["instance"] != app.opsAddr || res[0].Metric["job"] != "mealsync" {
				return false, fmt.Sprintf("labels %v, want job mealsync, instance %s", res[0].Metric, app.opsAddr)
			}
			return res[0].Value == want, fmt.Sprintf("value %v, want %v", res[0].Value, want)
		})
	}

	t.Run("target up", func(t *testing.T) {
		one(t, `up{job="mealsync"}`, 1)
	})
	t.Run("request counts by method, route and status", func(t *testing.T) {
		one(t, `http_server_requests_seconds_count{route="GET /api/v1/recipes",method="GET",status="200"}`, listCalls)
		one(t, `http_server_requests_seconds_count{route="POST /api/v1/users/login",method="POST",status="200"}`, 1)
		one(t, `http_server_requests_seconds_count{route="POST /api/v1/users/login",method="POST",status="401"}`, 1)
		one(t, `http_server_requests_seconds_count{route="GET /api/v1/recipes/{id}",method="GET",status="404"}`, 1)
		// The unknown path counts too, under a route of its own (not the path).
		one(t, `sum by (job, instance) (http_server_requests_seconds_count{status="404"})`, 2)
		one(t, `mealsync_internal_errors_total`, 0)
		one(t, `http_server_requests_in_flight`, 0)
	})
	t.Run("latency histogram buckets", func(t *testing.T) {
		want := []string{"+Inf", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.2", "0.25", "0.5", "1", "10", "2.5", "5"}
		waitFor(t, deadline, "bucket series of GET /api/v1/recipes", func() (bool, string) {
			res, err := prom.query(`http_server_requests_seconds_bucket{job="mealsync",route="GET /api/v1/recipes",method="GET",status="200"}`)
			if err != nil {
				return false, err.Error()
			}
			var les []string
			inf := -1.0
			for _, s := range res {
				les = append(les, s.Metric["le"])
				if s.Metric["le"] == "+Inf" {
					inf = s.Value
				}
			}
			sort.Strings(les)
			return slices.Equal(les, want) && inf == listCalls, fmt.Sprintf("le %v, +Inf bucket %v", les, inf)
		})
		one(t, `histogram_quantile(0.95, sum by (job, instance, le) (http_server_requests_seconds_bucket{route="GET /api/v1/recipes"})) <= bool 10`, 1)
	})
	t.Run("database pool", func(t *testing.T) {
		// SQLite's pool has no limit: max_open is 0.
		one(t, `go_sql_max_open_connections{db_name="sqlite"}`, 0)
		one(t, `count(go_sql_in_use_connections{db_name="sqlite"}) by (job, instance)`, 1)
		one(t, `count(go_sql_wait_duration_seconds_total{db_name="sqlite"}) by (job, instance)`, 1)
	})
	t.Run("readiness and build", func(t *testing.T) {
		one(t, `mealsync_ready`, 1)
		one(t, fmt.Sprintf(`mealsync_build_info{version=%q,commit=%q,goversion=%q}`, testVersion, testCommit, runtime.Version()), 1)
	})
	t.Run("disk of the data directory", func(t *testing.T) {
		abs, _ := filepath.Abs(dataDir)
		one(t, fmt.Sprintf(`count(mealsync_disk_free_bytes{path=%q} > 0 and mealsync_disk_free_bytes <= mealsync_disk_total_bytes) by (job, instance)`, abs), 1)
	})
	t.Run("every series the rules and dashboard read from the app exists", func(t *testing.T) {
		need := readFrom(t, "mealsync")
		waitFor(t, deadline, "metric names", func() (bool, string) {
			have, err := prom.metricNames()
			if err != nil {
				return false, err.Error()
			}
			var missing []string
			for m, users := range need {
				if !have[m] {
					missing = append(missing, fmt.Sprintf("%s (read by %s)", m, strings.Join(users, ", ")))
				}
			}
			sort.Strings(missing)
			return len(missing) == 0, "missing " + strings.Join(missing, "; ")
		})
	})
	t.Run("SLO rules record the app's error ratios", func(t *testing.T) {
		// No request has failed: the availability SLI is 0, not absent.
		// Latency depends on the machine, so only its presence is checked.
		// A rate needs requests while Prometheus scrapes (without any, the
		// ratios are 0/0), so every poll makes one.
		for _, q := range []string{
			`slo:sli_error:ratio_rate5m{slo="api-availability"} == 0`,
			`slo:burn_rate:ratio_rate5m{slo="api-availability"} == 0`,
			`slo:sli_error:ratio_rate5m{slo="api-latency"} >= 0`,
		} {
			waitFor(t, deadline, q, func() (bool, string) {
				app.expect(t, "GET", "/api/v1/recipes", "", "", http.StatusOK)
				res, err := prom.query(q)
				if err != nil {
					return false, err.Error()
				}
				return len(res) == 1 && res[0].Metric["job"] == "mealsync", fmt.Sprintf("%v", res)
			})
		}
	})
	t.Run("dashboard queries run on this Prometheus", func(t *testing.T) {
		for _, d := range loadDashboards(t) {
			for _, q := range d.queries(t) {
				if _, err := prom.query(q.promql); err != nil {
					t.Errorf("%s: %v\n%s", q.where, err, q.promql)
				}
			}
		}
	})
	t.Run("alert rules loaded and evaluated", func(t *testing.T) {
		want := slices.Sorted(maps.Keys(alerts(t)))
		waitFor(t, deadline, "every alert rule evaluated with health ok", func() (bool, string) {
			rules, err := prom.alertRules()
			if err != nil {
				return false, err.Error()
			}
			var names, bad []string
			for _, r := range rules {
				names = append(names, r.Name)
				if r.Health != "ok" {
					bad = append(bad, fmt.Sprintf("%s: %s %s", r.Name, r.Health, r.LastError))
				}
			}
			sort.Strings(names)
			return slices.Equal(names, want) && len(bad) == 0,
				fmt.Sprintf("rules %v (want %v), not ok: %v", names, want, bad)
		})
		// A healthy instance trips nothing: a rule that is pending or firing
		// here (say, a division by SQLite's max_open of 0) would page for nothing.
		waitFor(t, deadline, "no alert active for a healthy instance", func() (bool, string) {
			active, err := prom.activeAlerts()
			if err != nil {
				return false, err.Error()
			}
			return len(active) == 0, fmt.Sprintf("active: %v", active)
		})
	})
}

// --- MealSync ----------------------------------------------------------------

// buildMealSync compiles ./cmd/mealsync into the test's temporary directory.
func buildMealSync(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go toolchain not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mealsync")
	const pkg = "github.com/mealsync/mealsync/internal/buildinfo"
	cmd := exec.Command(goBin, "build", "-o", bin,
		"-ldflags", fmt.Sprintf("-X %s.Version=%s -X %s.Commit=%s", pkg, testVersion, pkg, testCommit),
		"./cmd/mealsync")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mealsync: %v\n%s", err, out)
	}
	return bin
}

type mealSync struct {
	addr    string // the API's host:port
	opsAddr string // the ops listener's host:port, as Prometheus labels the instance
	base    string
}

// startMealSync runs `mealsync serve` on ephemeral loopback ports with
// SQLite in dataDir, reads the addresses from its "listening" log line, and
// waits for readiness. Its output is also copied to logTo, when not nil, as
// a service manager writes it to a file. The process gets SIGTERM when the
// test ends.
func startMealSync(t *testing.T, bin, dataDir string, logTo io.Writer) *mealSync {
	t.Helper()
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(environWithout("MEALSYNC_", "JWT_SECRET"),
		"MEALSYNC_ENV=development",
		"MEALSYNC_ADDR=127.0.0.1:0",
		"MEALSYNC_OPS_ADDR=127.0.0.1:0",
		"MEALSYNC_DATABASE_URL=sqlite:"+filepath.Join(dataDir, "mealsync.db"),
		"MEALSYNC_LOG_FORMAT=json",
		"MEALSYNC_SHUTDOWN_DELAY=0s",
	)
	logs := &testenv.SyncBuffer{}
	var out io.Writer = logs
	if logTo != nil {
		out = io.MultiWriter(logs, logTo)
	}
	addr := make(chan [2]string, 1)
	// exec copies the output into these writers and Wait waits for the copy,
	// so no line is lost when the process ends.
	cmd.Stdout = &lineWriter{out: out, line: func(b []byte) {
		var line struct {
			Msg, Addr string
			OpsAddr   string `json:"ops_addr"`
		}
		if json.Unmarshal(b, &line) == nil && line.Msg == "listening" {
			select {
			case addr <- [2]string{line.Addr, line.OpsAddr}:
			default:
			}
		}
	}}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stopProcess(t, "mealsync", cmd, exited, logs) })

	m := &mealSync{}
	select {
	case a := <-addr:
		m.addr, m.opsAddr = a[0], a[1]
	case <-exited:
		t.Fatalf("mealsync exited before listening:\n%s", logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("mealsync did not log \"listening\" within 60 s:\n%s", logs)
	}
	m.base = "http://" + m.addr
	waitFor(t, 30*time.Second, "mealsync readiness UP", func() (bool, string) {
		resp, err := httpClient.Get(m.base + "/actuator/health/readiness")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return m
}

// expect sends one request and fails the test unless the status is want.
func (m *mealSync) expect(t *testing.T, method, path, token, body string, want int) []byte {
	t.Helper()
	req, err := http.NewRequest(method, m.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d\n%s", method, path, resp.Status, want, b)
	}
	return b
}

// --- Prometheus --------------------------------------------------------------

type prometheus struct{ base string }

// derivePrometheusConfig derives a test's configuration from the repository's
// prometheus.yml by a documented substitution, and nothing else:
//   - global scrape, timeout and evaluation intervals become 1s;
//   - rule_files become absolute paths to the same files;
//   - only the jobs named in jobs are kept, each passed to its function,
//     which replaces its service discovery by the test's static targets;
//   - the other jobs (exporters that are not running here) are dropped.
//
// Everything else (job names, metrics paths, relabelling, rules) is used as
// written.
func derivePrometheusConfig(t *testing.T, jobs map[string]func(job map[string]any)) map[string]any {
	t.Helper()
	var cfg map[string]any
	mustReadYAML(t, prometheusConfig, &cfg)
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"], global["scrape_timeout"], global["evaluation_interval"] = "1s", "1s", "1s"

	dir := filepath.Dir(repoFile(t, prometheusConfig))
	files, _ := cfg["rule_files"].([]any)
	if len(files) == 0 {
		t.Fatal("prometheus.yml has no rule_files")
	}
	for i, f := range files {
		files[i] = filepath.Join(dir, f.(string))
	}

	var kept []any
	scrapes, _ := cfg["scrape_configs"].([]any)
	for _, s := range scrapes {
		job := s.(map[string]any)
		name, _ := job["job_name"].(string)
		if edit, ok := jobs[name]; ok {
			edit(job)
			kept = append(kept, job)
		}
	}
	if len(kept) != len(jobs) {
		t.Fatalf("prometheus.yml has %d of the jobs %v", len(kept), slices.Sorted(maps.Keys(jobs)))
	}
	cfg["scrape_configs"] = kept
	return cfg
}

// marshalConfig encodes a derived configuration.
func marshalConfig(t *testing.T, cfg map[string]any) []byte {
	t.Helper()
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testPrometheusConfig keeps the `mealsync` job, its DNS and file discovery
// replaced by one static target, the test server's ops listener.
func testPrometheusConfig(t *testing.T, target string) []byte {
	t.Helper()
	cfg := derivePrometheusConfig(t, map[string]func(map[string]any){
		"mealsync": func(job map[string]any) {
			if job["dns_sd_configs"] == nil {
				t.Fatal("the mealsync job has no dns_sd_configs to replace: the substitution is out of date")
			}
			delete(job, "dns_sd_configs")
			delete(job, "file_sd_configs")
			job["static_configs"] = []any{map[string]any{"targets": []any{target}}}
		},
	})
	return marshalConfig(t, cfg)
}

// startPrometheus runs Prometheus on a free loopback port with the given
// configuration and waits until it is ready. It is killed when the test ends.
func startPrometheus(t *testing.T, bin string, cfg []byte) *prometheus {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	// A port picked by closing a listener can be taken before Prometheus binds
	// it; then Prometheus exits at once and another port is tried.
	for attempt := 1; ; attempt++ {
		p, retry := runPrometheus(t, bin, config, filepath.Join(dir, fmt.Sprintf("data-%d", attempt)))
		if p != nil {
			return p
		}
		if !retry || attempt == 3 {
			t.Fatal("prometheus did not start")
		}
	}
}

// runPrometheus starts one Prometheus and waits for /-/ready. It returns nil
// and true when the port was taken, so the caller may try another.
func runPrometheus(t *testing.T, bin, config, storage string) (p *prometheus, retry bool) {
	t.Helper()
	addr := freeLoopbackAddr(t)
	logs := &testenv.SyncBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+config,
		"--storage.tsdb.path="+storage,
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stopProcess(t, "prometheus", cmd, exited, logs) })

	p = &prometheus{base: "http://" + addr}
	var gone bool
	waitFor(t, 60*time.Second, "prometheus ready", func() (bool, string) {
		select {
		case <-exited:
			gone = true
			return true, ""
		default:
		}
		resp, err := httpClient.Get(p.base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status + "\n" + logs.String()
	})
	if gone {
		if strings.Contains(logs.String(), "address already in use") {
			return nil, true
		}
		t.Fatalf("prometheus exited:\n%s", logs)
	}
	return p, false
}

type sample struct {
	Metric map[string]string
	Value  float64
}

func (s sample) String() string { return fmt.Sprintf("%v=%v", s.Metric, s.Value) }

// apiGet fetches a Prometheus API path and decodes its data field into v.
func (p *prometheus) apiGet(path string, params url.Values, v any) error {
	u := p.base + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := httpClient.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("%s: %s: %v", path, resp.Status, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, body.Error)
	}
	return json.Unmarshal(body.Data, v)
}

// query runs an instant query that must return a vector.
func (p *prometheus) query(q string) ([]sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.apiGet("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("result type %s, want vector", data.ResultType)
	}
	out := make([]sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %v", r.Value[1], err)
		}
		out = append(out, sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

func (p *prometheus) metricNames() (map[string]bool, error) {
	var names []string
	if err := p.apiGet("/api/v1/label/__name__/values", nil, &names); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

type rule struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Health    string `json:"health"`
	LastError string `json:"lastError"`
}

func (p *prometheus) alertRules() ([]rule, error) {
	var data struct {
		Groups []struct {
			Rules []rule `json:"rules"`
		} `json:"groups"`
	}
	if err := p.apiGet("/api/v1/rules", url.Values{"type": {"alert"}}, &data); err != nil {
		return nil, err
	}
	var out []rule
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (p *prometheus) activeAlerts() ([]string, error) {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.apiGet("/api/v1/alerts", nil, &data); err != nil {
		return nil, err
	}
	var out []string
	for _, a := range data.Alerts {
		out = append(out, fmt.Sprintf("%s %s %v", a.Labels["alertname"], a.State, a.Labels))
	}
	return out, nil
}

// --- processes ---------------------------------------------------------------

// stopProcess sends SIGTERM, waits up to 20 s, then kills; it shows the
// process's output when the test failed.
func stopProcess(t *testing.T, name string, cmd *exec.Cmd, exited <-chan struct{}, logs *testenv.SyncBuffer) {
	select {
	case <-exited:
	default:
		cmd.Process.Signal(syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		select {
		case <-exited:
		case <-ctx.Done():
			cmd.Process.Kill()
			<-exited
			t.Errorf("%s did not stop within 20 s of SIGTERM; killed", name)
		}
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", name, logs)
	}
}

// environWithout is the test's environment less the variables with the given
// prefixes, so a developer's MEALSYNC_* settings cannot leak into the server.
func environWithout(prefixes ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) }) {
			out = append(out, kv)
		}
	}
	return out
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lineWriter passes output on to out and calls line for each complete line.
type lineWriter struct {
	out  io.Writer
	line func([]byte)
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return w.out.Write(p)
}
