package helm_test

import (
	"bytes"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// monitoringCase is the values file that turns on every monitoring object.
const monitoringCase = "ha"

// The PrometheusRule is deploy/prometheus/alerts.yml: the file decodes
// strictly into the operator's rule groups, and equals the rendered ones.
func TestPrometheusRuleIsAlertsYml(t *testing.T) {
	r := render(t, monitoringCase, valuesFile(t, monitoringCase))
	rule := one[monitoringv1.PrometheusRule](t, r, "")
	var want monitoringv1.PrometheusRuleSpec
	if err := yaml.UnmarshalStrict(readRepoFile(t, "deploy/prometheus/alerts.yml"), &want); err != nil {
		t.Fatalf("alerts.yml is not a PrometheusRule's spec: %v", err)
	}
	rules := 0
	for _, g := range want.Groups {
		rules += len(g.Rules)
	}
	if rules == 0 {
		t.Fatal("alerts.yml has no rules")
	}
	if !jsonEqual(t, rule.Spec, want) {
		got, _ := yaml.Marshal(rule.Spec)
		t.Errorf("PrometheusRule differs from deploy/prometheus/alerts.yml; rendered:\n%s", got)
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
