package monitoring_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

const (
	grafanaDashboards  = "deploy/grafana/dashboards"
	grafanaDatasources = "deploy/grafana/provisioning/datasources/prometheus.yml"
	grafanaProviders   = "deploy/grafana/provisioning/dashboards/mealsync.yml"
)

// The parts of Grafana's dashboard model the tests read.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Annotations   struct {
		List []struct {
			Name       string      `json:"name"`
			Datasource *datasource `json:"datasource"`
			Expr       string      `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name       string      `json:"name"`
			Type       string      `json:"type"`
			Datasource *datasource `json:"datasource"`
			Definition string      `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

// query is one PromQL expression of a dashboard, where it stands, and the
// PromQL Grafana sends for it.
type query struct {
	where  string
	raw    string
	promql string
}

// loadDashboards reads every provisioned dashboard by file name.
func loadDashboards(t testing.TB) map[string]dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoFile(t, grafanaDashboards), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s (%v)", grafanaDashboards, err)
	}
	out := map[string]dashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s is not a valid dashboard JSON: %v", filepath.Base(f), err)
		}
		out[filepath.Base(f)] = d
	}
	return out
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// queries returns every PromQL expression of d: panel targets, annotations
// and the inner selector of label_values() variables, with Grafana's
// variables substituted.
func (d dashboard) queries(t testing.TB) []query {
	t.Helper()
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	var out []query
	add := func(where, raw string) {
		q, err := grafanaToPromQL(raw, vars)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		out = append(out, query{where: where, raw: raw, promql: q})
	}
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			add("panel "+p.Title+" "+tg.RefID, tg.Expr)
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			add("annotation "+a.Name, a.Expr)
		}
	}
	for _, v := range d.Templating.List {
		if inner, ok := strings.CutPrefix(v.Definition, "label_values("); ok {
			if i := strings.LastIndex(inner, ","); i > 0 {
				add("variable "+v.Name, inner[:i])
			}
		}
	}
	return out
}

// provisionedDatasourceUID is the uid deploy/grafana provisions Prometheus under.
func provisionedDatasourceUID(t testing.TB) string {
	t.Helper()
	var f struct {
		Datasources []struct {
			Name, UID, Type, URL, Access string
		} `yaml:"datasources"`
	}
	mustReadYAML(t, grafanaDatasources, &f)
	if len(f.Datasources) != 1 {
		t.Fatalf("%s: %d datasources, want 1", grafanaDatasources, len(f.Datasources))
	}
	ds := f.Datasources[0]
	if ds.Type != "prometheus" || ds.URL != "http://prometheus:9090" || ds.Access != "proxy" || ds.UID == "" {
		t.Errorf("datasource %+v, want type prometheus, url http://prometheus:9090, access proxy, a uid", ds)
	}
	return ds.UID
}

func TestGrafanaProvisionsDashboardsFromTheRepository(t *testing.T) {
	var f struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
			AllowUIUpdates bool `yaml:"allowUiUpdates"`
		} `yaml:"providers"`
	}
	mustReadYAML(t, grafanaProviders, &f)
	if len(f.Providers) != 1 || f.Providers[0].Type != "file" || f.Providers[0].Options.Path == "" {
		t.Fatalf("providers %+v, want one file provider with a path", f.Providers)
	}
	if f.Providers[0].AllowUIUpdates {
		t.Error("allowUiUpdates: edits made in the UI would be lost at the next start; keep them in git")
	}
}

// The structure Grafana needs to load a dashboard, and that every panel asks
// the provisioned datasource, so nothing depends on a default or a picker.
func TestDashboardStructure(t *testing.T) {
	uid := provisionedDatasourceUID(t)
	uids := map[string]string{}
	for file, d := range loadDashboards(t) {
		if d.Title == "" || d.UID == "" || len(d.UID) > 40 {
			t.Errorf("%s: title %q, uid %q: both required, uid at most 40 characters", file, d.Title, d.UID)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", file, other, d.UID)
		}
		uids[d.UID] = file
		if d.SchemaVersion < 36 {
			t.Errorf("%s: schemaVersion %d; datasource references by uid need 36 or later", file, d.SchemaVersion)
		}
		if len(d.Annotations.List) == 0 {
			t.Errorf("%s: no annotations", file)
		}
		for _, a := range d.Annotations.List {
			if a.Expr != "" && (a.Datasource == nil || a.Datasource.UID != uid) {
				t.Errorf("%s: annotation %s uses datasource %+v, want uid %s", file, a.Name, a.Datasource, uid)
			}
		}
		ids := map[int]bool{}
		var boxes []panel
		for _, p := range allPanels(d.Panels) {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d used twice", file, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("%s: panel %q gridPos %+v outside the 24-column grid", file, p.Title, p.GridPos)
			}
			for _, b := range boxes {
				if p.GridPos.X < b.GridPos.X+b.GridPos.W && b.GridPos.X < p.GridPos.X+p.GridPos.W &&
					p.GridPos.Y < b.GridPos.Y+b.GridPos.H && b.GridPos.Y < p.GridPos.Y+p.GridPos.H {
					t.Errorf("%s: panels %q and %q overlap", file, p.Title, b.Title)
				}
			}
			boxes = append(boxes, p)
			if p.Type == "row" {
				continue
			}
			if p.Title == "" {
				t.Errorf("%s: panel %d has no title", file, p.ID)
			}
			if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != uid {
				t.Errorf("%s: panel %q datasource %+v, want prometheus uid %s", file, p.Title, p.Datasource, uid)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no targets", file, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("%s: panel %q: refId %q missing or repeated", file, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: panel %q target %s has no expr", file, p.Title, tg.RefID)
				}
				if tg.Datasource != nil && tg.Datasource.UID != uid {
					t.Errorf("%s: panel %q target %s uses datasource %+v", file, p.Title, tg.RefID, tg.Datasource)
				}
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != uid) {
				t.Errorf("%s: variable %s uses datasource %+v, want uid %s", file, v.Name, v.Datasource, uid)
			}
		}
	}
}

// Every expression parses with Prometheus's own parser, after Grafana's
// variables are replaced as Grafana would.
func TestDashboardQueriesParse(t *testing.T) {
	for file, d := range loadDashboards(t) {
		qs := d.queries(t)
		if len(qs) == 0 {
			t.Errorf("%s: no queries", file)
		}
		for _, q := range qs {
			if _, err := promql.ParseExpr(q.promql); err != nil {
				t.Errorf("%s: %s: %v\n%s", file, q.where, err, q.promql)
			}
		}
	}
}

func TestGrafanaVariablesAreSubstituted(t *testing.T) {
	vars := map[string]bool{"instance": true}
	for in, want := range map[string]string{
		`rate(x{instance=~"$instance"}[$__rate_interval])`:        `rate(x{instance=~".*"}[5m])`,
		`rate(x{instance=~"${instance:regex}"}[${__interval}])`:   `rate(x{instance=~".*"}[1m])`,
		`increase(x{instance=~"[[instance]]"}[$__range])`:         `increase(x{instance=~".*"}[1h])`,
		`sum(rate(x[$__rate_interval])) / sum(rate(y[$__range]))`: `sum(rate(x[5m])) / sum(rate(y[1h]))`,
	} {
		got, err := grafanaToPromQL(in, vars)
		if err != nil || got != want {
			t.Errorf("grafanaToPromQL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := grafanaToPromQL(`rate(x[$window])`, vars); err == nil {
		t.Error("an unknown variable was accepted")
	}
}

// The questions issue 6 asks the dashboard to answer, each found by what its
// queries compute, not by panel titles.
func TestDashboardAnswersTheOperatorsQuestions(t *testing.T) {
	metrics := map[string]bool{}
	byRoute := map[float64]bool{}
	annotationMetrics := map[string]bool{}
	for _, d := range loadDashboards(t) {
		for _, q := range d.queries(t) {
			expr, err := promql.ParseExpr(q.promql)
			if err != nil {
				continue // reported by TestDashboardQueriesParse
			}
			for _, vs := range selectors(expr) {
				metrics[vs.Name] = true
				if strings.HasPrefix(q.where, "annotation ") {
					annotationMetrics[vs.Name] = true
				}
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				c, ok := n.(*parser.Call)
				if !ok || c.Func.Name != "histogram_quantile" {
					return nil
				}
				phi, ok := c.Args[0].(*parser.NumberLiteral)
				if !ok {
					return nil
				}
				if agg, ok := c.Args[1].(*parser.AggregateExpr); ok && slices.Contains(agg.Grouping, "route") {
					byRoute[phi.Val] = true
				}
				return nil
			})
		}
	}
	for _, m := range []string{
		"http_server_requests_seconds_count",  // request rate, error ratio
		"http_server_requests_seconds_bucket", // latency
		"up", "mealsync_build_info",           // instances up and their versions
		"go_sql_in_use_connections", "go_sql_max_open_connections", // pool use
		"go_memstats_heap_inuse_bytes", "process_resident_memory_bytes", "go_goroutines",
		"mealsync_cache_lookups_total", // the in-process caches' hit ratio (issue 11)
		// The SLO row (issue 16): compliance, error budget left, burn rate.
		"slo:sli_error:ratio_rate30d", "slo:burn_rate:ratio_rate30d", "slo:burn_rate:ratio_rate1h",
	} {
		if !metrics[m] {
			t.Errorf("no dashboard query reads %s", m)
		}
	}
	var f ruleFile
	mustReadYAML(t, sloRules, &f)
	recorded := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			recorded[r.Record] = true
		}
	}
	for m := range metrics {
		if strings.HasPrefix(m, "slo:") && !recorded[m] {
			t.Errorf("the dashboard reads %s, which slo.yml does not record", m)
		}
	}
	for _, phi := range []float64{0.5, 0.95, 0.99} {
		if !byRoute[phi] {
			t.Errorf("no histogram_quantile(%v, … by (le, route) …) panel", phi)
		}
	}
	if !annotationMetrics["mealsync_deploy_last_timestamp_seconds"] && !annotationMetrics["mealsync_deploys_total"] {
		t.Errorf("no annotation marks deploys (annotations read %v)", annotationMetrics)
	}
}
