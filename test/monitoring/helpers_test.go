// Package monitoring_test checks the operations kit under deploy/: the
// Prometheus configuration and alert rules (with Debian's promtool), the
// Grafana provisioning and dashboard (with Prometheus's own PromQL parser),
// and end to end that a real Prometheus scraping a real MealSync gets the
// series those rules and panels query.
//
// It imports no MealSync package but internal/testdb (for SkipOrFail): it
// drives the binary and the tools from outside, as an operator does.
package monitoring_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/mealsync/mealsync/internal/testdb"
)

// repoRoot is the module root: tests run in test/monitoring.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	return root
}

// repoFile is a path under the module root.
func repoFile(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), filepath.FromSlash(rel))
}

// requireTool finds a program of Debian's prometheus package, or skips (fails
// in CI, where MEALSYNC_REQUIRE_SERVICES=1).
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return requireProgram(t, name, "prometheus")
}

// requireProgram finds a program of the Debian package pkg, or skips (fails
// in CI, where MEALSYNC_REQUIRE_SERVICES=1).
func requireProgram(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testdb.SkipOrFail(t, "%s not installed (Debian package %s): %v", name, pkg, err)
	}
	return path
}

// mustReadYAML decodes a repository YAML file into v.
func mustReadYAML(t testing.TB, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
}

// waitFor polls check until it reports done or the timeout passes; then the
// test fails with what check last said.
func waitFor(t testing.TB, timeout time.Duration, what string, check func() (done bool, state string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		done, state := check()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, state)
		}
		<-tick.C
	}
}

// promql is Prometheus's own parser with its default options.
var promql = parser.NewParser(parser.Options{})

// grafanaVar matches Grafana's variable syntaxes: $name, ${name},
// ${name:format} and the deprecated [[name]].
var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// grafanaGlobals are Grafana's built-in variables, replaced by values of the
// kind Grafana would put there.
var grafanaGlobals = map[string]string{
	"__rate_interval": "5m",
	"__interval":      "1m",
	"__interval_ms":   "60000",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

// grafanaToPromQL turns a panel's query into PromQL as Grafana sends it:
// built-in variables become durations, the dashboard's own variables (all
// label-matcher values here) become ".*", as with "All" selected. An unknown
// variable is an error, and no "$" may survive: PromQL has none.
func grafanaToPromQL(expr string, dashboardVars map[string]bool) (string, error) {
	var unknown []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := grafanaGlobals[name]; ok {
			return v
		}
		if dashboardVars[name] {
			return ".*"
		}
		unknown = append(unknown, m)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown Grafana variables %v", unknown)
	}
	if strings.Contains(out, "$") {
		return "", fmt.Errorf("a %q is left after substitution: %s", "$", out)
	}
	return out, nil
}

// selectors returns every series selector in expr.
func selectors(expr parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// readFrom returns the metric names the alert rules and the dashboards
// select from job, each with who reads it ("alert X", a panel).
func readFrom(t testing.TB, job string) map[string][]string {
	t.Helper()
	need := map[string][]string{}
	for name, expr := range alerts(t) {
		e, err := promql.ParseExpr(expr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, m := range jobMetrics(e, job) {
			need[m] = append(need[m], "alert "+name)
		}
	}
	for _, d := range loadDashboards(t) {
		for _, q := range d.queries(t) {
			e, err := promql.ParseExpr(q.promql)
			if err != nil {
				t.Fatalf("%s: %v", q.where, err)
			}
			for _, m := range jobMetrics(e, job) {
				need[m] = append(need[m], q.where)
			}
		}
	}
	return need
}

// jobMetrics returns the names of the series expr selects from job (the
// selectors with job="<job>"): those a scrape of that job must provide.
func jobMetrics(expr parser.Expr, job string) []string {
	var names []string
	for _, vs := range selectors(expr) {
		for _, m := range vs.LabelMatchers {
			if m.Name == "job" && m.Type.String() == "=" && m.Value == job && vs.Name != "" {
				names = append(names, vs.Name)
			}
		}
	}
	return names
}
