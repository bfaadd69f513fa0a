package monitoring_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

const (
	prometheusConfig = "deploy/prometheus/prometheus.yml"
	alertRules       = "deploy/prometheus/alerts.yml"
	alertRuleTests   = "deploy/prometheus/alerts_test.yml"
	sloRules         = "deploy/prometheus/slo.yml"
	infrastructureMD = "docs/INFRASTRUCTURE.md"
)

// ruleFile is the shape of alerts.yml.
type ruleFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []struct {
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
	if !strings.Contains(out, "SUCCESS: 2 rule files found") {
		t.Errorf("promtool did not load both rule files (alerts, SLOs):\n%s", out)
	}
}

func TestAlertRulesPassPromtoolCheck(t *testing.T) {
	promtool(t, "check", "rules", alertRules, sloRules)
}

func TestAlertRulesPassTheirUnitTests(t *testing.T) {
	promtool(t, "test", "rules", alertRuleTests)
}

// The conditions issue 6 asks alerts for, under the names the runbook uses.
// Errors and latency are watched as SLO burn rates (issue 16), which replaced
// High5xxRatio and HighLatencyP95.
func TestAlertRulesCoverTheRequiredConditions(t *testing.T) {
	got := alerts(t)
	for _, name := range []string{
		"InstanceDown", "ErrorBudgetBurnFast", "ErrorBudgetBurnSlow", "ReadinessFlapping",
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
		RuleFiles      []string `yaml:"rule_files"`
		GroupEvalOrder []string `yaml:"group_eval_order"`
		Tests          []struct {
			Name          string `yaml:"name"`
			AlertRuleTest []struct {
				Alertname string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	mustReadYAML(t, alertRuleTests, &tests)
	if !slices.Contains(tests.RuleFiles, "alerts.yml") || !slices.Contains(tests.RuleFiles, "slo.yml") {
		t.Errorf("alerts_test.yml loads %v, want alerts.yml and slo.yml", tests.RuleFiles)
	}
	// promtool evaluates groups in a random order unless told; an unlisted
	// group ties with the first listed, so the burn-rate cases could read
	// the SLO rules' previous minute and pass or fail by chance.
	var groups []string
	for _, file := range []string{sloRules, alertRules} {
		var f ruleFile
		mustReadYAML(t, file, &f)
		for _, g := range f.Groups {
			groups = append(groups, g.Name)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(tests.GroupEvalOrder)), slices.Sorted(slices.Values(groups))) {
		t.Errorf("group_eval_order %v, want every group exactly once: %v", tests.GroupEvalOrder, groups)
	}
	if len(tests.GroupEvalOrder) > 0 && tests.GroupEvalOrder[0] != "mealsync-sli" {
		t.Errorf("group_eval_order starts with %s, want mealsync-sli (the burn rates the alerts read)", tests.GroupEvalOrder[0])
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

// A runbook link that points at no section lands the on-call at the top of
// a long page: every alert's anchor must be a heading of the guide.
func TestEveryRunbookLinkPointsAtASection(t *testing.T) {
	anchors := markdownAnchors(t, repoFile(t, infrastructureMD))
	var f ruleFile
	mustReadYAML(t, alertRules, &f)
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				continue
			}
			doc, anchor, ok := strings.Cut(r.Annotations["runbook_url"], "#")
			if !ok || doc != infrastructureMD {
				t.Errorf("%s: runbook_url %q is not a section of %s", r.Alert, r.Annotations["runbook_url"], infrastructureMD)
				continue
			}
			if !anchors[anchor] {
				t.Errorf("%s: %s has no heading with the anchor #%s", r.Alert, infrastructureMD, anchor)
			}
		}
	}
}

// markdownAnchors returns the anchors GitHub gives the headings of the
// Markdown file at path: lower case, punctuation but hyphens and underscores
// dropped, spaces as hyphens, repeats numbered -1, -2…
func markdownAnchors(t testing.TB, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		title, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if inFence || !strings.HasPrefix(line, "#") || !ok {
			continue
		}
		var slug strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(title)) {
			switch {
			case r == ' ':
				slug.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				slug.WriteRune(r)
			}
		}
		anchor := slug.String()
		for n := 1; out[anchor]; n++ {
			anchor = fmt.Sprintf("%s-%d", slug.String(), n)
		}
		out[anchor] = true
	}
	return out
}

func TestMarkdownAnchorsFollowGitHub(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "x.md")
	if err := os.WriteFile(md, []byte("# Guide\n## Alert: InstanceDown\n```\n# not a heading\n```\n### Database failover (a streaming replica, promoted)\n## Alert: InstanceDown\n#nospace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := markdownAnchors(t, md)
	want := map[string]bool{"guide": true, "alert-instancedown": true, "database-failover-a-streaming-replica-promoted": true, "alert-instancedown-1": true}
	if !maps.Equal(got, want) {
		t.Errorf("anchors %v, want %v", got, want)
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

// The SLOs of slo.yml: each objective once, and for each SLO an error ratio
// and a burn rate over every window the burn-rate alerts and the dashboard
// read, each over the range its name says.
func TestSLORecordingRules(t *testing.T) {
	var f ruleFile
	mustReadYAML(t, sloRules, &f)
	objectives := map[string]string{}
	have := map[string]bool{} // record name + " " + slo label
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				t.Errorf("%s: alert %s belongs in alerts.yml", sloRules, r.Alert)
				continue
			}
			if _, err := promql.ParseExpr(r.Expr); err != nil {
				t.Errorf("%s: %v", r.Record, err)
			}
			switch {
			case r.Record == "slo:objective:ratio":
				objectives[r.Labels["slo"]] = strings.TrimSpace(r.Expr)
			case strings.HasPrefix(r.Record, "slo:sli_error:ratio_rate"):
				window := strings.TrimPrefix(r.Record, "slo:sli_error:ratio_rate")
				if !strings.Contains(r.Expr, "["+window+"]") || strings.Count(r.Expr, "[") != strings.Count(r.Expr, "["+window+"]") {
					t.Errorf("%s{slo=%q} reads ranges other than [%s]:\n%s", r.Record, r.Labels["slo"], window, r.Expr)
				}
				if window == "30d" && g.Interval == "" {
					t.Errorf("%s is evaluated at every global interval: a month of samples each time", r.Record)
				}
				have[r.Record+" "+r.Labels["slo"]] = true
			case strings.HasPrefix(r.Record, "slo:burn_rate:ratio_rate"):
				window := strings.TrimPrefix(r.Record, "slo:burn_rate:ratio_rate")
				if want := "slo:sli_error:ratio_rate" + window + " / on (slo) group_left () (1 - slo:objective:ratio)"; r.Expr != want {
					t.Errorf("%s: expr %q, want %q", r.Record, r.Expr, want)
				}
				for _, slo := range []string{"api-availability", "api-latency", "edge-availability"} {
					have[r.Record+" "+slo] = true
				}
			default:
				t.Errorf("%s: unexpected record %s", sloRules, r.Record)
			}
		}
	}
	want := map[string]string{"api-availability": "vector(0.999)", "api-latency": "vector(0.95)", "edge-availability": "vector(0.999)"}
	if !maps.Equal(objectives, want) {
		t.Errorf("objectives %v, want %v", objectives, want)
	}
	for slo := range want {
		for _, w := range []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"} {
			for _, rec := range []string{"slo:sli_error:ratio_rate", "slo:burn_rate:ratio_rate"} {
				if !have[rec+w+" "+slo] {
					t.Errorf("no %s%s for slo %s", rec, w, slo)
				}
			}
		}
	}
}
