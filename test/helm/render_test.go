// Package helm_test proves the Helm chart deploy/helm/mealsync without a
// cluster (none runs here or in CI): it renders the chart with Helm's own Go
// library for each values file of deploy/helm/mealsync/ci and the defaults,
// decodes every rendered document strictly into the Kubernetes API's Go
// types (an unknown or misspelt field fails), lints it, and checks the
// chart against the code it deploys: the probe paths answer on the real
// binary, the ports and shutdown timings are the app's, every MEALSYNC_*
// setting is one internal/config reads, the alert and SLO rules, the
// Alertmanager configuration and the dashboard are deploy/'s own (the real
// Alertmanager and blackbox exporter run what the chart renders), and the
// Ingress carries nginx/'s edge rules.
//
// Helm, the Kubernetes API types, the Prometheus Operator's and the Gateway
// API's types are imported by this test only: the mealsync binary links
// none of them (TestBinaryLinksNoHelm).
package helm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mealsync/mealsync/internal/testenv"
)

const (
	chartDir    = "deploy/helm/mealsync"
	releaseName = "mealsync"
	namespace   = "meals"
	// kubeVersion is the cluster version the chart is rendered for: the
	// oldest its Chart.yaml accepts.
	kubeVersion = "v1.27.0"
)

// valuesCases are the configurations the chart is proven in: the defaults,
// and each values file of the chart's ci/ folder.
var valuesCases = []string{"", "ha", "cnpg", "httproute", "no-autoscaling", "alerting"}

// rendered is one render of the chart: every object, hooks included, by
// kind and name.
type rendered struct {
	name   string
	values chartutil.Values // the values the chart saw, defaults merged
	docs   []document
}

type document struct {
	source string // template file
	kind   string
	name   string
	hook   string            // helm.sh/hook annotation, "" for release objects
	labels map[string]string // metadata.labels
	obj    any               // the typed object
}

func loadChart(t testing.TB) *chart.Chart {
	t.Helper()
	c, err := loader.Load(filepath.Join(testenv.RepoRoot(t), chartDir))
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// valuesFile reads ci/<name>-values.yaml ("" is the chart's defaults).
func valuesFile(t testing.TB, name string) map[string]any {
	t.Helper()
	if name == "" {
		return map[string]any{}
	}
	path := filepath.Join(testenv.RepoRoot(t), chartDir, "ci", name+"-values.yaml")
	vals, err := chartutil.ReadValuesFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return vals
}

// render renders the chart as `helm install --dry-run` and `helm template`
// do (Helm's pkg/action, whose steps these are, would link the Kubernetes
// client too and double this test's build): the chart's kubeVersion range,
// the values schema, the templates (NOTES.txt included), then hooks apart
// from the release's objects; and decodes every document strictly.
func render(t testing.TB, name string, vals map[string]any) rendered {
	t.Helper()
	r, err := tryRender(t, vals)
	if err != nil {
		t.Fatalf("render %q: %v", name, err)
	}
	r.name = name
	return r
}

func tryRender(t testing.TB, vals map[string]any) (rendered, error) {
	t.Helper()
	c := loadChart(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *mustKubeVersion(t)
	if !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return rendered{}, fmt.Errorf("chart requires kubeVersion %s, not %s", c.Metadata.KubeVersion, caps.KubeVersion)
	}
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}
	values, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals, opts, caps, false)
	if err != nil {
		return rendered{}, err
	}
	files, err := engine.Engine{}.Render(c, values)
	if err != nil {
		return rendered{}, err
	}
	for k := range files {
		if strings.HasSuffix(k, "/NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return rendered{}, err
	}
	out := rendered{}
	if v, err := values.Table("Values"); err == nil {
		out.values = v
	}
	for _, m := range manifests {
		d, err := decode(m.Name, m.Content)
		if err != nil {
			t.Fatalf("%v\n%s", err, m.Content)
		}
		out.docs = append(out.docs, d)
	}
	for _, h := range hooks {
		d, err := decode(h.Path, h.Manifest)
		if err != nil {
			t.Fatalf("hook: %v\n%s", err, h.Manifest)
		}
		d.hook = strings.Join(hookEvents(h.Events), ",")
		out.docs = append(out.docs, d)
	}
	return out, nil
}

func hookEvents[E fmt.Stringer](events []E) []string {
	var s []string
	for _, e := range events {
		s = append(s, e.String())
	}
	return s
}

// kinds maps apiVersion/kind to a new typed object. CloudNativePG's types
// are checked against the minimal schema of cnpg_types_test.go (its Go
// module is not one this project can fetch).
var kinds = map[string]func() any{
	"v1/ConfigMap":                            func() any { return new(corev1.ConfigMap) },
	"v1/Service":                              func() any { return new(corev1.Service) },
	"v1/ServiceAccount":                       func() any { return new(corev1.ServiceAccount) },
	"apps/v1/Deployment":                      func() any { return new(appsv1.Deployment) },
	"apps/v1/StatefulSet":                     func() any { return new(appsv1.StatefulSet) },
	"batch/v1/Job":                            func() any { return new(batchv1.Job) },
	"autoscaling/v2/HorizontalPodAutoscaler":  func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
	"policy/v1/PodDisruptionBudget":           func() any { return new(policyv1.PodDisruptionBudget) },
	"networking.k8s.io/v1/Ingress":            func() any { return new(networkingv1.Ingress) },
	"networking.k8s.io/v1/NetworkPolicy":      func() any { return new(networkingv1.NetworkPolicy) },
	"gateway.networking.k8s.io/v1/HTTPRoute":  func() any { return new(gatewayv1.HTTPRoute) },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return new(monitoringv1.ServiceMonitor) },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return new(monitoringv1.PrometheusRule) },
	"monitoring.coreos.com/v1/Probe":          func() any { return new(monitoringv1.Probe) },
	"postgresql.cnpg.io/v1/Cluster":           func() any { return new(cnpgCluster) },
	"postgresql.cnpg.io/v1/ScheduledBackup":   func() any { return new(cnpgScheduledBackup) },
}

// decode turns one rendered document into its API type, refusing unknown
// and duplicate fields (sigs.k8s.io/yaml's strict mode: YAML to JSON, then
// encoding/json with DisallowUnknownFields), then checks the names and
// labels Kubernetes would.
func decode(source, manifest string) (document, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal([]byte(manifest), &head); err != nil {
		return document{}, fmt.Errorf("%s: not YAML: %v", source, err)
	}
	newObj, ok := kinds[head.APIVersion+"/"+head.Kind]
	if !ok {
		return document{}, fmt.Errorf("%s: %s/%s is a kind this test does not know: add its type to kinds", source, head.APIVersion, head.Kind)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict([]byte(manifest), obj); err != nil {
		return document{}, fmt.Errorf("%s: %s %s does not decode strictly into %T: %v", source, head.Kind, head.Metadata.Name, obj, err)
	}
	var problems []string
	problems = append(problems, validation.IsDNS1123Subdomain(head.Metadata.Name)...)
	for k, v := range head.Metadata.Labels {
		problems = append(problems, validation.IsQualifiedName(k)...)
		problems = append(problems, validation.IsValidLabelValue(v)...)
	}
	for k := range head.Metadata.Annotations {
		problems = append(problems, validation.IsQualifiedName(k)...)
	}
	if len(problems) > 0 {
		return document{}, fmt.Errorf("%s: %s %s: %s", source, head.Kind, head.Metadata.Name, strings.Join(problems, "; "))
	}
	return document{source: source, kind: head.Kind, name: head.Metadata.Name, hook: head.Metadata.Annotations["helm.sh/hook"], labels: head.Metadata.Labels, obj: obj}, nil
}

// one returns the only object of type T named name (or the only one of its
// type when name is ""), failing otherwise.
func one[T any](t testing.TB, r rendered, name string) *T {
	t.Helper()
	var found []*T
	for _, d := range r.docs {
		if o, ok := d.obj.(*T); ok && (name == "" || d.name == name) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%s: want one %T named %q, found %d", r.name, zero, name, len(found))
	}
	return found[0]
}

// all returns every object of type T.
func all[T any](r rendered) []*T {
	var out []*T
	for _, d := range r.docs {
		if o, ok := d.obj.(*T); ok {
			out = append(out, o)
		}
	}
	return out
}

// alertmanagerComponent is the component label of the Alertmanager's
// objects (templates/alertmanager.yaml), which run beside the app's pods,
// not as them.
const alertmanagerComponent = "alertmanager"

// app is r without the Alertmanager's objects: what the app's invariants
// (selectors, policies) are about.
func (r rendered) app() rendered {
	out := r
	out.docs = nil
	for _, d := range r.docs {
		if d.labels["app.kubernetes.io/component"] != alertmanagerComponent {
			out.docs = append(out.docs, d)
		}
	}
	return out
}

// alertmanager is r's Alertmanager objects only.
func (r rendered) alertmanager() rendered {
	out := r
	out.docs = nil
	for _, d := range r.docs {
		if d.labels["app.kubernetes.io/component"] == alertmanagerComponent {
			out.docs = append(out.docs, d)
		}
	}
	return out
}

// renderAll renders every case.
func renderAll(t *testing.T) []rendered {
	t.Helper()
	var out []rendered
	for _, name := range valuesCases {
		out = append(out, render(t, caseName(name), valuesFile(t, name)))
	}
	return out
}

func caseName(name string) string {
	if name == "" {
		return "defaults"
	}
	return name
}

// jsonEqual compares two values by their JSON form.
func jsonEqual(t testing.TB, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

func readRepoFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustKubeVersion(t testing.TB) *chartutil.KubeVersion {
	t.Helper()
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}
