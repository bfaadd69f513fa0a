package helm_test

import (
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// jobSelector matches a job="…" selector in a rule expression.
var jobSelector = regexp.MustCompile(`job=~?"([^"]+)"`)

// The Probes are deploy/prometheus/prometheus.yml's blackbox jobs on a
// cluster: same job names (the ones alerts.yml and slo.yml select), same
// module (each one of deploy/blackbox/blackbox.yml) and path, the target
// URL the job's example target file gives, on the Ingress's host, and sent
// to the exporter values name.
func TestProbesAreThePrometheusYmlJobs(t *testing.T) {
	var prom struct {
		ScrapeConfigs []struct {
			JobName       string              `json:"job_name"`
			MetricsPath   string              `json:"metrics_path"`
			Params        map[string][]string `json:"params"`
			FileSDConfigs []struct {
				Files []string `json:"files"`
			} `json:"file_sd_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/prometheus/prometheus.yml"), &prom); err != nil {
		t.Fatal(err)
	}
	var blackbox struct {
		Modules map[string]any `json:"modules"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/blackbox/blackbox.yml"), &blackbox); err != nil {
		t.Fatal(err)
	}
	r := render(t, alertingCase, valuesFile(t, alertingCase))
	vals := r.values["metrics"].(map[string]any)["probes"].(map[string]any)
	host := r.values["ingress"].(map[string]any)["host"].(string)
	probes := all[monitoringv1.Probe](r)
	jobs := map[string]bool{}
	for _, sc := range prom.ScrapeConfigs {
		if len(sc.Params["module"]) == 0 {
			continue
		}
		var p *monitoringv1.Probe
		for _, pr := range probes {
			if pr.Spec.JobName == sc.JobName {
				p = pr
			}
		}
		if p == nil {
			t.Errorf("no Probe for prometheus.yml's job %s", sc.JobName)
			continue
		}
		jobs[sc.JobName] = true
		if p.Spec.Module != sc.Params["module"][0] {
			t.Errorf("Probe %s: module %s, prometheus.yml's job uses %s", p.Name, p.Spec.Module, sc.Params["module"][0])
		}
		if _, ok := blackbox.Modules[p.Spec.Module]; !ok {
			t.Errorf("Probe %s: module %s is not in deploy/blackbox/blackbox.yml", p.Name, p.Spec.Module)
		}
		if p.Spec.ProberSpec.URL != vals["proberURL"] || p.Spec.ProberSpec.Path != sc.MetricsPath {
			t.Errorf("Probe %s: prober %+v, want %v%s", p.Name, p.Spec.ProberSpec, vals["proberURL"], sc.MetricsPath)
		}
		if p.Spec.Targets.StaticConfig == nil || len(p.Spec.Targets.StaticConfig.Targets) != 1 {
			t.Errorf("Probe %s: targets %+v, want one URL", p.Name, p.Spec.Targets)
			continue
		}
		// The example target file of the job (targets/https*.yml →
		// targets/https.yml.example), with the chart's host.
		var example []struct {
			Targets []string `json:"targets"`
		}
		pattern := sc.FileSDConfigs[0].Files[0]
		exampleFile := "deploy/prometheus/" + strings.Replace(pattern, "*.yml", ".yml.example", 1)
		if err := yaml.Unmarshal(readRepoFile(t, exampleFile), &example); err != nil || len(example) == 0 || len(example[0].Targets) == 0 {
			t.Fatalf("%s: %v", exampleFile, err)
		}
		want := regexp.MustCompile(`^https://[^/]+`).ReplaceAllString(example[0].Targets[0], "https://"+host)
		if got := p.Spec.Targets.StaticConfig.Targets[0]; got != want {
			t.Errorf("Probe %s probes %s, want %s (as %s, on the Ingress's host)", p.Name, got, want, exampleFile)
		}
	}
	if len(probes) != len(jobs) || len(jobs) == 0 {
		t.Errorf("%d Probes for %d blackbox jobs of prometheus.yml", len(probes), len(jobs))
	}
	// Every blackbox job the rules select is one a Probe fills.
	for _, f := range []string{"deploy/prometheus/alerts.yml", "deploy/prometheus/slo.yml"} {
		for _, m := range jobSelector.FindAllStringSubmatch(string(readRepoFile(t, f)), -1) {
			for _, job := range strings.Split(m[1], "|") {
				if strings.HasPrefix(job, "blackbox") && !jobs[job] {
					t.Errorf("%s selects job %s, which no Probe fills", f, job)
				}
			}
		}
	}
}
