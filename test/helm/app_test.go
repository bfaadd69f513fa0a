package helm_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// The chart's two steps, run with the real binary on a real PostgreSQL as
// the pods would run them: the migration Job's command and environment
// migrate an empty database, then the server, given the ConfigMap (which
// forbids migrating at start), starts on it and answers every probe path
// the Deployment names, on the port each names, and the ServiceMonitor's
// metrics path. What stands in for the cluster: loopback ports instead of
// the container ports, a temporary folder for /data, and the test's
// database URL and a random key where the pods read the Secret.
func TestChartRunsTheRealServer(t *testing.T) {
	dbURL := testdb.PostgresURL(t)
	bin := testenv.BuildMealsync(t)
	r := render(t, "defaults", valuesFile(t, ""))
	secrets := map[string]string{
		"MEALSYNC_DATABASE_URL": dbURL,
		"MEALSYNC_JWT_SECRET":   randomKey(t),
	}

	job := one[batchv1.Job](t, r, releaseName+"-migrate")
	if hook := r.hook(releaseName + "-migrate"); hook != "pre-install,pre-upgrade" {
		t.Errorf("migration Job runs at %q, want pre-install,pre-upgrade", hook)
	}
	jc := job.Spec.Template.Spec.Containers[0]
	if strings.Join(jc.Args, " ") != "migrate" {
		t.Errorf("migration Job runs %q, want migrate", jc.Args)
	}
	cmd := exec.Command(bin, append(jc.Command, jc.Args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = podEnv(t, r, jc, secrets)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "applied") {
		t.Fatalf("the migration Job's command: %v\n%s", err, out)
	}

	_, c := server(t, r)
	env := map[string]string{}
	for _, kv := range podEnv(t, r, *c, secrets) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["MEALSYNC_MIGRATE_ON_START"] != "false" {
		t.Fatalf("MEALSYNC_MIGRATE_ON_START=%q: the server would migrate, not the Job", env["MEALSYNC_MIGRATE_ON_START"])
	}
	// Loopback ports and a writable data folder; no shutdown delay (the
	// test's time, not the pods').
	for _, k := range []string{"MEALSYNC_ADDR", "MEALSYNC_OPS_ADDR", "MEALSYNC_SHUTDOWN_DELAY"} {
		delete(env, k)
	}
	env["MEALSYNC_DATA_DIR"] = t.TempDir()
	inst := testenv.StartMealsync(t, testenv.Options{Binary: bin, DatabaseURL: dbURL, Env: env})
	base := map[string]string{"http": inst.URL, "ops": inst.OpsURL}

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(what, url string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: GET %s answered %s", what, url, resp.Status)
		}
	}
	probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
	for name, p := range probes {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe is not an HTTP GET: %+v", name, p)
			continue
		}
		port := p.HTTPGet.Port.String()
		if base[port] == "" {
			t.Errorf("%s probe port %q is neither http nor ops", name, port)
			continue
		}
		get(name+" probe", base[port]+p.HTTPGet.Path)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/actuator/health/readiness" || c.LivenessProbe.HTTPGet.Path != "/actuator/health/liveness" {
		t.Errorf("readiness %s, liveness %s: want the app's readiness and liveness groups", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
	}

	mon := render(t, monitoringCase, valuesFile(t, monitoringCase))
	sm := one[monitoringv1.ServiceMonitor](t, mon, "")
	get("ServiceMonitor", inst.OpsURL+sm.Spec.Endpoints[0].Path)

	t.Run("the Probes succeed with the real blackbox exporter", func(t *testing.T) {
		probeTheServer(t, inst.URL)
	})
}

// probeTheServer sends each Probe of the alerting case to Debian's
// blackbox_exporter running deploy/blackbox/blackbox.yml, with the
// Probe's module and its target's path and query on the server at base
// (standing in for the public host: plain HTTP on loopback, which the
// modules accept), and wants probe_success 1 from each.
func probeTheServer(t *testing.T, base string) {
	bin, err := exec.LookPath("prometheus-blackbox-exporter")
	if err != nil {
		testdb.SkipOrFail(t, "prometheus-blackbox-exporter not installed (Debian package prometheus-blackbox-exporter): %v", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	logs := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(testenv.RepoRoot(t), "deploy/blackbox/blackbox.yml"), "--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	testenv.StartProcess(t, cmd)
	client := &http.Client{Timeout: 10 * time.Second}
	testenv.WaitFor(t, 60*time.Second, "blackbox_exporter healthy", func() bool {
		resp, err := client.Get("http://" + addr + "/-/healthy")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	r := render(t, alertingCase, valuesFile(t, alertingCase))
	probes := all[monitoringv1.Probe](r)
	if len(probes) == 0 {
		t.Fatal("no Probe rendered")
	}
	for _, p := range probes {
		target, err := url.Parse(p.Spec.Targets.StaticConfig.Targets[0])
		if err != nil {
			t.Fatal(err)
		}
		local := base + target.RequestURI()
		q := url.Values{"module": {p.Spec.Module}, "target": {local}}
		resp, err := client.Get("http://" + addr + p.Spec.ProberSpec.Path + "?" + q.Encode())
		if err != nil {
			t.Fatalf("Probe %s: %v", p.Name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "\nprobe_success 1\n") {
			t.Errorf("Probe %s (module %s) of %s failed:\n%s\n%s", p.Name, p.Spec.Module, local, body, logs.String())
		}
	}
}

// hook is the helm.sh/hook events of the named object ("" for none).
func (r rendered) hook(name string) string {
	for _, d := range r.docs {
		if d.name == name && d.hook != "" {
			return d.hook
		}
	}
	return ""
}

// podEnv is a container's environment as the kubelet builds it: its
// ConfigMaps, its values, and its Secret keys from secrets (an optional key
// absent there is left unset, as a Secret without it would).
func podEnv(t testing.TB, r rendered, c corev1.Container, secrets map[string]string) []string {
	t.Helper()
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, from := range c.EnvFrom {
		for k, v := range one[corev1.ConfigMap](t, r, from.ConfigMapRef.Name).Data {
			set(k, v)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			set(e.Name, e.Value)
		case e.ValueFrom.SecretKeyRef != nil:
			v, ok := secrets[e.Name]
			if !ok && (e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional) {
				t.Fatalf("%s needs Secret key %s, which the test does not give", e.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			if ok {
				set(e.Name, v)
			}
		default:
			t.Fatalf("%s: unexpected source %+v", e.Name, e.ValueFrom)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

func randomKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}
