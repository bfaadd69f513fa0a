package monitoring_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

const blackboxConfig = "deploy/blackbox/blackbox.yml"

func TestBlackboxConfigIsValid(t *testing.T) {
	bin := requireProgram(t, "prometheus-blackbox-exporter", "prometheus-blackbox-exporter")
	cmd := execIn(t, bin, "--config.check", "--config.file="+blackboxConfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("blackbox config check: %v\n%s", err, out)
	}
}

// TestBlackboxProbesThroughNginx runs the user's path for real: MealSync on
// SQLite behind the repository's nginx, Debian's blackbox_exporter with
// deploy/blackbox/blackbox.yml, and Prometheus with the repository's two
// probe jobs, their file discovery replaced by the nginx URLs and the
// exporter's compose address by its loopback one. Both probes must succeed,
// reach the app through nginx, and feed the edge SLO; once the app is gone
// (nginx still up, answering 502) they must fail.
func TestBlackboxProbesThroughNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("runs MealSync, nginx, blackbox_exporter and Prometheus")
	}
	promBin := requireTool(t, "prometheus")
	bbBin := requireProgram(t, "prometheus-blackbox-exporter", "prometheus-blackbox-exporter")
	testenv.RequireNginx(t)

	app := testenv.StartMealsync(t, testenv.Options{})
	edge := testenv.StartNginx(t, "", []string{app.Addr})
	bb := startServer(t, "blackbox_exporter", bbBin, func(addr string) []string {
		return []string{"--config.file=" + repoFile(t, blackboxConfig), "--web.listen-address=" + addr}
	}, "/-/healthy")

	healthURL := edge.URL + "/actuator/health"
	apiURL := edge.URL + "/api/v1/recipes?limit=1"

	t.Run("the API module rejects an answer that is not the API's", func(t *testing.T) {
		// nginx's own health answer is a 200 but no recipe list: a probe that
		// only looked at the status would call a broken upstream healthy.
		_, body := get(t, bb+"/probe?"+url.Values{"module": {"http_api_read"}, "target": {edge.URL + "/nginx-health"}}.Encode())
		if !strings.Contains(body, "\nprobe_success 0\n") {
			t.Errorf("http_api_read on /nginx-health:\n%s", body)
		}
	})

	cfg := derivePrometheusConfig(t, map[string]func(map[string]any){
		"blackbox-https": probeJob(t, healthURL, bb),
		"blackbox-api":   probeJob(t, apiURL, bb),
	})
	prom := startPrometheus(t, promBin, marshalConfig(t, cfg))

	const deadline = 60 * time.Second
	probe := func(t *testing.T, job, target string, want float64) {
		t.Helper()
		q := fmt.Sprintf(`probe_success{job=%q}`, job)
		waitFor(t, deadline, q, func() (bool, string) {
			res, err := prom.query(q)
			if err != nil {
				return false, err.Error()
			}
			if len(res) != 1 || res[0].Metric["instance"] != target {
				return false, fmt.Sprintf("%v, want one series with instance %s", res, target)
			}
			return res[0].Value == want, fmt.Sprintf("%v, want %v", res, want)
		})
	}

	t.Run("both probes succeed", func(t *testing.T) {
		probe(t, "blackbox-https", healthURL, 1)
		probe(t, "blackbox-api", apiURL, 1)
	})
	t.Run("the probes went through nginx to the app", func(t *testing.T) {
		waitFor(t, deadline, "probe requests in nginx's access log", func() (bool, string) {
			b, err := os.ReadFile(edge.AccessLog)
			if err != nil {
				return false, err.Error()
			}
			var api, health bool
			for _, line := range strings.Split(string(b), "\n") {
				if !strings.Contains(line, `"user_agent":"mealsync-blackbox-probe"`) || !strings.Contains(line, `"status":200`) {
					continue
				}
				api = api || strings.Contains(line, `"uri":"/api/v1/recipes?limit=1"`)
				health = health || strings.Contains(line, `"uri":"/actuator/health"`)
			}
			return api && health, fmt.Sprintf("api %v, health %v", api, health)
		})
	})
	t.Run("the edge SLO counts the probes", func(t *testing.T) {
		q := `slo:sli_error:ratio_rate5m{slo="edge-availability", job="blackbox-api"} == 0`
		waitFor(t, deadline, q, func() (bool, string) {
			res, err := prom.query(q)
			return err == nil && len(res) == 1, fmt.Sprintf("%v %v", res, err)
		})
	})
	t.Run("both probes fail once no instance answers behind nginx", func(t *testing.T) {
		if err := app.Stop(); err != nil {
			t.Logf("stop mealsync: %v", err)
		}
		if status, _ := get(t, apiURL); status != http.StatusBadGateway {
			t.Fatalf("nginx answered %d without an instance, want 502", status)
		}
		probe(t, "blackbox-https", healthURL, 0)
		probe(t, "blackbox-api", apiURL, 0)
		q := `slo:sli_error:ratio_rate5m{slo="edge-availability", job="blackbox-api"} > 0`
		waitFor(t, deadline, q, func() (bool, string) {
			res, err := prom.query(q)
			return err == nil && len(res) == 1, fmt.Sprintf("%v %v", res, err)
		})
	})
}

// probeJob replaces a blackbox job's file discovery with one static target
// and points its relabelling at the test's exporter instead of compose's
// blackbox-exporter:9115.
func probeJob(t *testing.T, target, exporter string) func(map[string]any) {
	return func(job map[string]any) {
		if job["file_sd_configs"] == nil {
			t.Fatalf("job %v has no file_sd_configs to replace: the substitution is out of date", job["job_name"])
		}
		delete(job, "file_sd_configs")
		job["static_configs"] = []any{map[string]any{"targets": []any{target}}}
		var found bool
		relabels, _ := job["relabel_configs"].([]any)
		for _, r := range relabels {
			rc := r.(map[string]any)
			if rc["target_label"] == "__address__" && rc["replacement"] == "blackbox-exporter:9115" {
				rc["replacement"] = strings.TrimPrefix(exporter, "http://")
				found = true
			}
		}
		if !found {
			t.Fatalf("job %v sends no probe to blackbox-exporter:9115", job["job_name"])
		}
	}
}
