package helm_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// monitoringCase is the values file that turns on every monitoring object.
const monitoringCase = "ha"

// The PrometheusRules are deploy/prometheus/alerts.yml and slo.yml: each
// file decodes strictly into the operator's rule groups, and equals the
// rendered ones.
func TestPrometheusRulesAreDeploysFiles(t *testing.T) {
	r := render(t, monitoringCase, valuesFile(t, monitoringCase))
	for name, file := range map[string]string{
		releaseName:          "deploy/prometheus/alerts.yml",
		releaseName + "-slo": "deploy/prometheus/slo.yml",
	} {
		rule := one[monitoringv1.PrometheusRule](t, r, name)
		var want monitoringv1.PrometheusRuleSpec
		if err := yaml.UnmarshalStrict(readRepoFile(t, file), &want); err != nil {
			t.Fatalf("%s is not a PrometheusRule's spec: %v", file, err)
		}
		rules := 0
		for _, g := range want.Groups {
			rules += len(g.Rules)
		}
		if rules == 0 {
			t.Fatalf("%s has no rules", file)
		}
		if !jsonEqual(t, rule.Spec, want) {
			got, _ := yaml.Marshal(rule.Spec)
			t.Errorf("PrometheusRule %s differs from %s; rendered:\n%s", name, file, got)
		}
	}
	if n := len(all[monitoringv1.PrometheusRule](r)); n != 2 {
		t.Errorf("%d PrometheusRules, want alerts.yml's and slo.yml's", n)
	}
}

// sloSeries matches the SLO recording rules' names (slo:…) in an expression.
var sloSeries = regexp.MustCompile(`\bslo:[a-zA-Z0-9_:]+`)

// Every slo:… series an alert of the chart reads is recorded by a rule of
// the chart: on a cluster the burn-rate alerts have their inputs, as they
// do in the compose stack's Prometheus (prometheus.yml loads both files).
func TestBurnRateAlertsHaveTheirRecordingRules(t *testing.T) {
	r := render(t, monitoringCase, valuesFile(t, monitoringCase))
	recorded := map[string]bool{}
	var reads []string
	for _, pr := range all[monitoringv1.PrometheusRule](r) {
		for _, g := range pr.Spec.Groups {
			for _, rule := range g.Rules {
				if rule.Record != "" {
					recorded[rule.Record] = true
				}
				if rule.Alert != "" {
					for _, s := range sloSeries.FindAllString(rule.Expr.String(), -1) {
						reads = append(reads, rule.Alert+" reads "+s)
					}
				}
			}
		}
	}
	if len(reads) == 0 {
		t.Fatal("no alert of the chart reads an slo: series: where did the burn-rate alerts go?")
	}
	for _, read := range reads {
		if series := read[strings.LastIndex(read, " ")+1:]; !recorded[series] {
			t.Errorf("%s, which no rule of the chart records", read)
		}
	}
}

// The dashboard ConfigMap holds deploy/grafana/dashboards/mealsync.json,
// byte for byte, under the label Grafana's sidecar looks for.
func TestDashboardIsDeploysJSON(t *testing.T) {
	r := render(t, monitoringCase, valuesFile(t, monitoringCase))
	cm := one[corev1.ConfigMap](t, r, releaseName+"-dashboard")
	want := bytes.TrimRight(readRepoFile(t, "deploy/grafana/dashboards/mealsync.json"), "\n")
	if got := cm.Data["mealsync.json"]; got != string(want) {
		t.Errorf("dashboard ConfigMap differs from deploy/grafana/dashboards/mealsync.json (%d bytes, want %d)", len(got), len(want))
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v lack grafana_dashboard", cm.Labels)
	}
}

// The ServiceMonitor scrapes what deploy/prometheus/prometheus.yml scrapes
// (the app's metrics path on the ops port) under the same job name, the one
// every rule of alerts.yml selects; and only the ops Service has that port.
func TestServiceMonitorIsPrometheusYmlsJob(t *testing.T) {
	var prom struct {
		ScrapeConfigs []struct {
			JobName     string `json:"job_name"`
			MetricsPath string `json:"metrics_path"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "deploy/prometheus/prometheus.yml"), &prom); err != nil {
		t.Fatal(err)
	}
	job, path := "", ""
	for _, sc := range prom.ScrapeConfigs {
		if sc.JobName == "mealsync" {
			job, path = sc.JobName, sc.MetricsPath
		}
	}
	if job == "" || path == "" {
		t.Fatal("prometheus.yml has no mealsync job with a metrics_path")
	}
	if !bytes.Contains(readRepoFile(t, "deploy/prometheus/alerts.yml"), []byte(`job="`+job+`"`)) {
		t.Fatalf("alerts.yml selects no job=%q", job)
	}

	r := render(t, monitoringCase, valuesFile(t, monitoringCase))
	sm := one[monitoringv1.ServiceMonitor](t, r, "")
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	var scraped []*corev1.Service
	for _, s := range all[corev1.Service](r) {
		if sel.Matches(labels.Set(s.Labels)) {
			scraped = append(scraped, s)
		}
	}
	if len(scraped) != 1 {
		t.Fatalf("ServiceMonitor selects %d Services, want the ops Service", len(scraped))
	}
	svc := scraped[0]
	if got := svc.Labels[sm.Spec.JobLabel]; got != job {
		t.Errorf("scraped as job %q (label %s of Service %s), alerts.yml selects job %q", got, sm.Spec.JobLabel, svc.Name, job)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != path || sm.Spec.Endpoints[0].Port == "" {
		t.Fatalf("ServiceMonitor endpoints %+v, want %s on a named port", sm.Spec.Endpoints, path)
	}
	port := sm.Spec.Endpoints[0].Port
	for _, s := range all[corev1.Service](r) {
		for _, p := range s.Spec.Ports {
			if p.Name == port && s.Name != svc.Name {
				t.Errorf("Service %s also exposes the ops port %s", s.Name, port)
			}
		}
	}
	found := false
	for _, p := range svc.Spec.Ports {
		found = found || (p.Name == port && p.TargetPort.String() == "ops")
	}
	if !found {
		t.Errorf("Service %s has no port %q to the pods' ops port", svc.Name, port)
	}
}
