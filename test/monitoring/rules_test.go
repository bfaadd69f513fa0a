package monitoring_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const (
	prometheusConfig = "deploy/prometheus/prometheus.yml"
	alertRules       = "deploy/prometheus/alerts.yml"
	alertRuleTests   = "deploy/prometheus/alerts_test.yml"
)

// ruleFile is the shape of alerts.yml.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// alerts returns alerts.yml's alerting rules by name, with their expressions.
func alerts(t testing.TB) map[string]string {
	t.Helper()
	var f ruleFile
	mustReadYAML(t, alertRules, &f)
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if _, dup := out[r.Alert]; dup {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			out[r.Alert] = r.Expr
		}
	}
	return out
}

// promtool runs Debian's promtool in the module root and fails the test,
// showing its output, unless it exits 0.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(requireTool(t, "promtool"), args...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPrometheusConfigPassesPromtool(t *testing.T) {
	out := promtool(t, "check", "config", prometheusConfig)
	if !strings.Contains(out, "SUCCESS: 1 rule files found") {
		t.Errorf("promtool did not load the rule file:\n%s", out)
	}
}

func TestAlertRulesPassPromtoolCheck(t *testing.T) {
	promtool(t, "check", "rules", alertRules)
}

func TestAlertRulesPassTheirUnitTests(t *testing.T) {
	promtool(t, "test", "rules", alertRuleTests)
}

// The conditions issue 6 asks alerts for, under the names the runbook uses.
func TestAlertRulesCoverTheRequiredConditions(t *testing.T) {
	got := alerts(t)
	for _, name := range []string{
		"InstanceDown", "High5xxRatio", "HighLatencyP95", "ReadinessFlapping",
		"DBPoolSaturated", "DeployRolledBack", "DiskAlmostFull", "CertificateExpiring",
	} {
		if _, ok := got[name]; !ok {
			t.Errorf("alerts.yml has no alert %s", name)
		}
	}
}

// A unit test file that only ever expects silence passes for a rule that can
// never fire, and one that only expects alerts passes for a rule that always
// does: every alert needs both kinds of case.
func TestEveryAlertHasAFiringAndAQuietUnitTest(t *testing.T) {
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name          string `yaml:"name"`
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	mustReadYAML(t, alertRuleTests, &tests)
	if !slices.Contains(tests.RuleFiles, "alerts.yml") {
		t.Errorf("alerts_test.yml tests %v, not alerts.yml", tests.RuleFiles)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, c := range tc.AlertRuleTest {
			if len(c.ExpAlerts) > 0 {
				firing[c.Alertname] = true
			} else {
				quiet[c.Alertname] = true
			}
		}
	}
	rules := alerts(t)
	for name := range rules {
		if !firing[name] {
			t.Errorf("alert %s has no unit test where it fires", name)
		}
		if !quiet[name] {
			t.Errorf("alert %s has no unit test where it stays quiet", name)
		}
	}
	for name := range firing {
		if _, ok := rules[name]; !ok {
			t.Errorf("alerts_test.yml tests alert %s, which alerts.yml does not define", name)
		}
	}
}

// Every alert tells the on-call how urgent it is, what happened, and where
// the runbook is: docs/INFRASTRUCTURE.md#alert-<name in lower case>.
func TestEveryAlertHasSeverityAndRunbook(t *testing.T) {
	var f ruleFile
	mustReadYAML(t, alertRules, &f)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				continue
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			want := "docs/INFRASTRUCTURE.md#alert-" + strings.ToLower(r.Alert)
			if got := r.Annotations["runbook_url"]; got != want {
				t.Errorf("%s: runbook_url %q, want %q", r.Alert, got, want)
			}
		}
	}
}

// Every expression parses with Prometheus's own parser, and the ones that
// read MealSync's series name only metrics the app exports (checked against
// a live scrape in TestPrometheusScrapesMealSync).
func TestAlertExpressionsParse(t *testing.T) {
	for name, expr := range alerts(t) {
		if _, err := promql.ParseExpr(expr); err != nil {
			t.Errorf("%s: %v\n%s", name, err, expr)
		}
	}
}

// scrapeConfig is the part of a prometheus.yml scrape job checked here.
type scrapeConfig struct {
	JobName     string `yaml:"job_name"`
	MetricsPath string `yaml:"metrics_path"`
	DNSSD       []struct {
		Names []string `yaml:"names"`
		Type  string   `yaml:"type"`
		Port  int      `yaml:"port"`
	} `yaml:"dns_sd_configs"`
	FileSD []struct {
		Files []string `yaml:"files"`
	} `yaml:"file_sd_configs"`
}

// The production scrape configuration: one job for every instance, found by
// compose DNS or the process driver's targets file, at the Actuator path of
// the ops listener (the compose files' MEALSYNC_OPS_ADDR=:9081).
func TestPrometheusConfigScrapesEveryInstance(t *testing.T) {
	var cfg struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
		} `yaml:"global"`
		RuleFiles     []string       `yaml:"rule_files"`
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
	}
	mustReadYAML(t, prometheusConfig, &cfg)
	if cfg.Global.ScrapeInterval != "15s" {
		t.Errorf("scrape_interval %q, want 15s", cfg.Global.ScrapeInterval)
	}
	if !slices.Contains(cfg.RuleFiles, "alerts.yml") {
		t.Errorf("rule_files %v lacks alerts.yml", cfg.RuleFiles)
	}
	i := slices.IndexFunc(cfg.ScrapeConfigs, func(s scrapeConfig) bool { return s.JobName == "mealsync" })
	if i < 0 {
		t.Fatal("no scrape job mealsync")
	}
	job := cfg.ScrapeConfigs[i]
	if job.MetricsPath != "/actuator/prometheus" {
		t.Errorf("metrics_path %q, want /actuator/prometheus", job.MetricsPath)
	}
	if len(job.DNSSD) != 1 || !slices.Equal(job.DNSSD[0].Names, []string{"app"}) ||
		job.DNSSD[0].Type != "A" || job.DNSSD[0].Port != 9081 {
		t.Errorf("dns_sd_configs %+v, want the compose service app, type A, port 9081 (the ops listener)", job.DNSSD)
	}
	if len(job.FileSD) != 1 || len(job.FileSD[0].Files) == 0 {
		t.Errorf("file_sd_configs %+v, want the process driver's targets file", job.FileSD)
	}
}
