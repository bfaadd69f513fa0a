package helm_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"

	"github.com/mealsync/mealsync/internal/buildinfo"
	"github.com/mealsync/mealsync/internal/testenv"
)

// Every case renders, and every document decodes strictly into its API
// type (render fails otherwise); the objects each case must have are there.
func TestChartRendersStrictly(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			if len(r.docs) == 0 {
				t.Fatal("nothing rendered")
			}
			counts := map[string]int{}
			for _, d := range r.docs {
				counts[d.kind]++
				t.Logf("%-24s %-28s %s", d.kind, d.name, d.hook)
			}
			for _, kind := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy", "Job"} {
				if counts[kind] == 0 {
					t.Errorf("no %s rendered", kind)
				}
			}
		})
	}
}

// helm lint, as the library runs it, finds nothing to report for any case.
func TestChartLints(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(t), chartDir)
	for _, name := range valuesCases {
		t.Run(caseName(name), func(t *testing.T) {
			res := lint.AllWithKubeVersion(dir, valuesFile(t, name), namespace, mustKubeVersion(t))
			for _, m := range res.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("lint: %s", m)
				} else {
					t.Logf("lint: %s", m)
				}
			}
		})
	}
}

// Helm's schema check: a misspelt key, a setting that is not a MEALSYNC_
// variable and one the chart sets itself all fail the install.
func TestValuesSchemaRefusesTypos(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"misspelt top-level key", map[string]any{"replicaCont": 3}, "replicaCont"},
		{"misspelt nested key", map[string]any{"autoscaling": map[string]any{"maxReplica": 5}}, "maxReplica"},
		{"wrong type", map[string]any{"shutdown": map[string]any{"delaySeconds": "5s"}}, "delaySeconds"},
		{"not a MEALSYNC_ variable", map[string]any{"config": map[string]any{"JWT_SECRET": "x"}}, "JWT_SECRET"},
		{"secret in values", map[string]any{"config": map[string]any{"MEALSYNC_JWT_SECRET": strings.Repeat("k", 40)}}, "MEALSYNC_JWT_SECRET"},
		{"chart-owned setting", map[string]any{"config": map[string]any{"MEALSYNC_SHUTDOWN_DELAY": "9s"}}, "MEALSYNC_SHUTDOWN_DELAY"},
		{"no Secret named", map[string]any{"existingSecret": ""}, "existingSecret"},
		{"one replica under a budget", map[string]any{"autoscaling": map[string]any{"enabled": false}, "replicaCount": 1}, "podDisruptionBudget"},
		{"both ways in", map[string]any{"httpRoute": map[string]any{"enabled": true, "parentRefs": []any{map[string]any{"name": "gw"}}}}, "choose one"},
		{"misspelt Alertmanager key", map[string]any{"alertmanager": map[string]any{"existingSecrets": "x"}}, "existingSecrets"},
		{"no Alertmanager Secret named", map[string]any{"alertmanager": map[string]any{"enabled": true, "existingSecret": ""}}, "alertmanager.existingSecret"},
		{"probes without an exporter", map[string]any{"metrics": map[string]any{"probes": map[string]any{"enabled": true}}}, "proberURL"},
		{"prober given as a URL", map[string]any{"metrics": map[string]any{"probes": map[string]any{"enabled": true, "proberURL": "http://bb:9115/probe"}}}, "proberURL"},
		{"probes with no public URL", map[string]any{"ingress": map[string]any{"enabled": false}, "metrics": map[string]any{"probes": map[string]any{"enabled": true, "proberURL": "bb:9115"}}}, "publicURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tryRender(t, tc.vals)
			if err == nil {
				t.Fatalf("rendered without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error does not name %q: %v", tc.want, err)
			}
		})
	}
}

// Helm and the Kubernetes types are this test's: the server binary links
// none of them (its size is budgeted, docs/BENCHMARKS.md).
func TestBinaryLinksNoHelm(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/mealsync")
	cmd.Dir = testenv.RepoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps found only %d packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		for _, prefix := range []string{"helm.sh/", "k8s.io/", "sigs.k8s.io/", "github.com/prometheus-operator/"} {
			if strings.HasPrefix(p, prefix) {
				t.Errorf("cmd/mealsync links %s", p)
			}
		}
	}
}

// The chart's appVersion is the version the binary reports: in the source
// tree both are the unstamped "dev"; a release stamps both from one value
// (docs/KUBERNETES.md). The pods run the image of that tag by default.
func TestChartVersionIsTheApps(t *testing.T) {
	c := loadChart(t)
	if c.Metadata.AppVersion != buildinfo.Version {
		t.Errorf("Chart.yaml appVersion %q, the unstamped binary reports %q", c.Metadata.AppVersion, buildinfo.Version)
	}
	r := render(t, "defaults", valuesFile(t, ""))
	if _, ctr := server(t, r); !strings.HasSuffix(ctr.Image, ":"+c.Metadata.AppVersion) {
		t.Errorf("default image %q is not the appVersion %q", ctr.Image, c.Metadata.AppVersion)
	}
}
