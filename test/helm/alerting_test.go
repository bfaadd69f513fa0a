package helm_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// alertingCase is the values file that turns on Alertmanager and the probes.
const alertingCase = "alerting"

const alertmanagerFile = "deploy/alertmanager/alertmanager.yml"

// alertmanagerPod is the rendered Alertmanager: its StatefulSet, the one
// container, and the container's flags by name.
func alertmanagerPod(t testing.TB, r rendered) (*appsv1.StatefulSet, *corev1.Container, map[string]string) {
	t.Helper()
	sts := one[appsv1.StatefulSet](t, r, releaseName+"-alertmanager")
	if len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one Alertmanager container, have %d", len(sts.Spec.Template.Spec.Containers))
	}
	c := &sts.Spec.Template.Spec.Containers[0]
	flags := map[string]string{}
	for _, a := range c.Args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(k, "--") {
			t.Fatalf("Alertmanager argument %q is not --flag=value", a)
		}
		flags[k] = v
	}
	return sts, c, flags
}

// mountOf returns the container's mount of the named volume.
func mountOf(t testing.TB, c *corev1.Container, volume string) corev1.VolumeMount {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m
		}
	}
	t.Fatalf("container %s does not mount volume %s", c.Name, volume)
	return corev1.VolumeMount{}
}

func volumeOf(t testing.TB, ps corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range ps.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("pod has no volume %s", name)
	return corev1.Volume{}
}

// amConfig is the part of alertmanager.yml this test reads: every secret
// it takes from a file, and the fields that would carry one inline.
type amConfig struct {
	Global struct {
		SMTPSmarthost        string `json:"smtp_smarthost"`
		SMTPAuthPassword     string `json:"smtp_auth_password"`
		SMTPAuthPasswordFile string `json:"smtp_auth_password_file"`
	} `json:"global"`
	Receivers []struct {
		Name         string `json:"name"`
		SlackConfigs []struct {
			APIURL     string `json:"api_url"`
			APIURLFile string `json:"api_url_file"`
		} `json:"slack_configs"`
		WebhookConfigs []struct {
			URL     string `json:"url"`
			URLFile string `json:"url_file"`
		} `json:"webhook_configs"`
		EmailConfigs []struct {
			AuthPassword     string `json:"auth_password"`
			AuthPasswordFile string `json:"auth_password_file"`
		} `json:"email_configs"`
	} `json:"receivers"`
}

// secretFiles lists the files the configuration reads secrets from, and
// fails on any secret written inline.
func (c amConfig) secretFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	if c.Global.SMTPAuthPassword != "" {
		t.Error("alertmanager.yml: smtp_auth_password inline")
	}
	if f := c.Global.SMTPAuthPasswordFile; f != "" {
		files = append(files, f)
	}
	for _, r := range c.Receivers {
		for _, s := range r.SlackConfigs {
			if s.APIURL != "" {
				t.Errorf("receiver %s: api_url inline", r.Name)
			}
			files = append(files, s.APIURLFile)
		}
		for _, w := range r.WebhookConfigs {
			if w.URL != "" {
				t.Errorf("receiver %s: webhook url inline", r.Name)
			}
			files = append(files, w.URLFile)
		}
		for _, e := range r.EmailConfigs {
			if e.AuthPassword != "" {
				t.Errorf("receiver %s: auth_password inline", r.Name)
			}
			if e.AuthPasswordFile != "" {
				files = append(files, e.AuthPasswordFile)
			}
		}
	}
	return files
}

// The Alertmanager runs deploy/alertmanager/alertmanager.yml itself: the
// ConfigMap holds the file byte for byte, the container loads it from where
// the ConfigMap is mounted, every secret it names is a file of the mounted
// Secret (the one values name; the chart renders no Secret of its own), and
// the image and flags are the compose stack's.
func TestAlertmanagerConfigIsDeploysFile(t *testing.T) {
	r := render(t, alertingCase, valuesFile(t, alertingCase))
	sts, c, flags := alertmanagerPod(t, r)
	ps := sts.Spec.Template.Spec

	file := readRepoFile(t, alertmanagerFile)
	cfgMount := mountOf(t, c, "config")
	cmName := volumeOf(t, ps, "config").ConfigMap
	if cmName == nil {
		t.Fatal("volume config is not a ConfigMap")
	}
	cm := one[corev1.ConfigMap](t, r, cmName.Name)
	dir, key := path.Split(flags["--config.file"])
	if path.Clean(dir) != cfgMount.MountPath {
		t.Errorf("--config.file=%s is not in the ConfigMap's mount %s", flags["--config.file"], cfgMount.MountPath)
	}
	if got := cm.Data[key]; got != string(bytes.TrimRight(file, "\n")) {
		t.Errorf("ConfigMap %s key %s differs from %s (%d bytes, want %d)", cm.Name, key, alertmanagerFile, len(got), len(bytes.TrimRight(file, "\n")))
	}

	var cfg amConfig
	if err := yaml.Unmarshal(file, &cfg); err != nil {
		t.Fatalf("%s: %v", alertmanagerFile, err)
	}
	files := cfg.secretFiles(t)
	if len(files) < 3 {
		t.Fatalf("%s reads %d secret files, want the SMTP password and two chat URLs: %v", alertmanagerFile, len(files), files)
	}
	secMount := mountOf(t, c, "secrets")
	sec := volumeOf(t, ps, "secrets").Secret
	if sec == nil || sec.SecretName != r.values["alertmanager"].(map[string]any)["existingSecret"] {
		t.Fatalf("volume secrets is %+v, want the Secret alertmanager.existingSecret names", sec)
	}
	if !secMount.ReadOnly || sec.Optional != nil && *sec.Optional {
		t.Errorf("secrets mount %+v / volume %+v: want read-only, and the pod held back while the Secret is missing", secMount, sec)
	}
	for _, f := range files {
		if path.Dir(f) != secMount.MountPath || len(sec.Items) != 0 {
			t.Errorf("secret file %s: not a key of Secret %s mounted at %s", f, sec.SecretName, secMount.MountPath)
		}
	}
	for _, d := range r.docs {
		if d.kind == "Secret" {
			t.Errorf("the chart renders Secret %s: receivers' secrets must come from one the operator creates", d.name)
		}
	}
	for _, cm := range all[corev1.ConfigMap](r) {
		for k, v := range cm.Data {
			if strings.Contains(v, "hooks.slack.com") || strings.Contains(v, "smtp_auth_password:") {
				t.Errorf("ConfigMap %s key %s carries a secret inline", cm.Name, k)
			}
		}
	}

	// The compose service's image and flags.
	var compose struct {
		Services map[string]struct {
			Image   string   `json:"image"`
			Command []string `json:"command"`
		} `json:"services"`
	}
	if err := yaml.Unmarshal(readRepoFile(t, "docker-compose.prod.yml"), &compose); err != nil {
		t.Fatal(err)
	}
	svc, ok := compose.Services["alertmanager"]
	if !ok {
		t.Fatal("docker-compose.prod.yml has no alertmanager service")
	}
	if c.Image != svc.Image {
		t.Errorf("image %s, compose runs %s", c.Image, svc.Image)
	}
	for _, a := range svc.Command {
		k, v, _ := strings.Cut(a, "=")
		if k == "--config.file" {
			continue // the ConfigMap's mount, checked above
		}
		if got, ok := flags[k]; !ok || got != strings.TrimSpace(v) {
			t.Errorf("compose passes %s, the pod %s=%q", a, k, got)
		}
	}
}

// The pod is locked down like the app's: non-root, read-only root
// filesystem, no capabilities, RuntimeDefault seccomp, no token, bounded;
// it writes only to its storage path, a claim per pod; its probes are
// Alertmanager's health and readiness paths on the port it listens on.
func TestAlertmanagerIsLockedDown(t *testing.T) {
	r := render(t, alertingCase, valuesFile(t, alertingCase))
	sts, c, flags := alertmanagerPod(t, r)
	ps := sts.Spec.Template.Spec
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Error("Alertmanager mounts a service-account token")
	}
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Error("Alertmanager pod not runAsNonRoot")
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("Alertmanager securityContext %+v", sc)
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if c.Resources.Requests.Name(res, "").IsZero() || c.Resources.Limits.Name(res, "").IsZero() {
			t.Errorf("Alertmanager: no %s request and limit", res)
		}
	}
	claims := map[string]bool{}
	for _, pvc := range sts.Spec.VolumeClaimTemplates {
		claims[pvc.Name] = true
	}
	for _, m := range c.VolumeMounts {
		writable := claims[m.Name]
		for _, v := range ps.Volumes {
			writable = writable || (v.Name == m.Name && v.EmptyDir != nil)
		}
		if !m.ReadOnly && !writable {
			t.Errorf("%s is mounted writable from neither a claim nor an emptyDir", m.MountPath)
		}
		if m.MountPath == flags["--storage.path"] && !claims[m.Name] {
			t.Errorf("storage %s is not a claim: silences would not survive a restart", m.MountPath)
		}
	}
	storage := false
	for _, m := range c.VolumeMounts {
		storage = storage || (m.MountPath == flags["--storage.path"] && !m.ReadOnly)
	}
	if !storage {
		t.Errorf("--storage.path=%s is not a writable mount", flags["--storage.path"])
	}
	if _, ok := flags["--cluster.listen-address"]; !ok || flags["--cluster.listen-address"] != "" || *sts.Spec.Replicas != 1 {
		t.Errorf("want one Alertmanager without gossip: replicas %d, --cluster.listen-address=%q", *sts.Spec.Replicas, flags["--cluster.listen-address"])
	}
	_, port, _ := strings.Cut(flags["--web.listen-address"], ":")
	if strconv.Itoa(int(containerPort(t, c, "http"))) != port {
		t.Errorf("container port http %d, Alertmanager listens on %q", containerPort(t, c, "http"), flags["--web.listen-address"])
	}
	for name, p := range map[string]*corev1.Probe{"/-/ready": c.ReadinessProbe, "/-/healthy": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.String() != "http" {
			t.Errorf("probe %+v, want GET %s on port http", p, name)
		}
	}
}

// Only Prometheus reaches Alertmanager: its one ingress rule admits the
// peers that scrape the app (networkPolicy.metricsFrom) on Alertmanager's
// port; egress is DNS, the SMTP port of alertmanager.yml's smarthost and
// HTTPS. The Service and StatefulSet select its pods, and none of the app's
// selectors (Services, PDB, NetworkPolicies) holds them, nor its the app's.
func TestAlertmanagerOnlyPrometheusIn(t *testing.T) {
	r := render(t, alertingCase, valuesFile(t, alertingCase))
	sts, c, _ := alertmanagerPod(t, r)
	am := r.alertmanager()
	pod := labels.Set(sts.Spec.Template.Labels)
	sel := func(what string, ls *metav1.LabelSelector) labels.Selector {
		t.Helper()
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || s.Empty() {
			t.Fatalf("%s: selector %+v: %v", what, ls, err)
		}
		return s
	}
	if !sel("StatefulSet", sts.Spec.Selector).Matches(pod) {
		t.Errorf("StatefulSet selector %v does not match its pods %v", sts.Spec.Selector, pod)
	}
	svc := one[corev1.Service](t, am, "")
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(pod) {
		t.Errorf("Service %s (%s) selector %v does not match the pods %v", svc.Name, svc.Spec.Type, svc.Spec.Selector, pod)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service ports %+v, want one, to the pod's http port", svc.Spec.Ports)
	}

	app := r.app()
	d, _ := server(t, app)
	appPod := labels.Set(d.Spec.Template.Labels)
	for _, s := range all[corev1.Service](app) {
		if labels.SelectorFromSet(s.Spec.Selector).Matches(pod) {
			t.Errorf("the app's Service %s selects Alertmanager's pods", s.Name)
		}
	}
	for _, np := range all[networkingv1.NetworkPolicy](app) {
		if sel(np.Name, &np.Spec.PodSelector).Matches(pod) {
			t.Errorf("the app's NetworkPolicy %s holds Alertmanager's pods", np.Name)
		}
	}
	for _, pdb := range all[policyv1.PodDisruptionBudget](app) {
		if sel(pdb.Name, pdb.Spec.Selector).Matches(pod) {
			t.Errorf("the app's PDB %s counts Alertmanager's pods", pdb.Name)
		}
	}

	np := one[networkingv1.NetworkPolicy](t, am, "")
	if !sel(np.Name, &np.Spec.PodSelector).Matches(pod) || sel(np.Name, &np.Spec.PodSelector).Matches(appPod) {
		t.Errorf("NetworkPolicy %s selects %v: want Alertmanager's pods only", np.Name, np.Spec.PodSelector)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Errorf("policy types %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}
	var metricsFrom []networkingv1.NetworkPolicyPeer
	for _, anp := range all[networkingv1.NetworkPolicy](app) {
		for _, rule := range anp.Spec.Ingress {
			if len(rule.Ports) == 1 && rule.Ports[0].Port.String() == "ops" {
				metricsFrom = rule.From
			}
		}
	}
	if len(np.Spec.Ingress) != 1 {
		t.Fatalf("%d ingress rules, want Prometheus's only", len(np.Spec.Ingress))
	}
	in := np.Spec.Ingress[0]
	if len(in.From) == 0 || !jsonEqual(t, in.From, metricsFrom) {
		t.Errorf("ingress from %+v, want the peers that scrape the app's ops port (%+v)", in.From, metricsFrom)
	}
	if len(in.Ports) != 1 || in.Ports[0].Port.String() != "http" || containerPort(t, c, "http") == 0 {
		t.Errorf("ingress ports %+v, want Alertmanager's http port only", in.Ports)
	}

	var cfg amConfig
	if err := yaml.Unmarshal(readRepoFile(t, alertmanagerFile), &cfg); err != nil {
		t.Fatal(err)
	}
	_, smtp, _ := strings.Cut(cfg.Global.SMTPSmarthost, ":")
	smtpPort, err := strconv.Atoi(smtp)
	if err != nil {
		t.Fatalf("smtp_smarthost %q has no port", cfg.Global.SMTPSmarthost)
	}
	egress := map[int32]bool{}
	for _, rule := range np.Spec.Egress {
		if len(rule.Ports) == 0 {
			t.Errorf("egress rule %+v allows every port", rule)
		}
		for _, p := range rule.Ports {
			egress[p.Port.IntVal] = true
		}
	}
	for _, p := range []int32{53, int32(smtpPort), 443} {
		if !egress[p] {
			t.Errorf("no egress to port %d (allowed: %v)", p, egress)
		}
	}
}

// The real Alertmanager (Debian's prometheus-alertmanager) loads the
// rendered ConfigMap's configuration with the container's own flags and
// answers its probes: amtool check-config accepts it, and the binary,
// started with the StatefulSet's arguments, becomes ready and healthy on
// the probes' paths. What stands in for the cluster: a loopback port for
// --web.listen-address and temporary folders for the mounts.
func TestAlertmanagerLoadsTheRenderedConfig(t *testing.T) {
	bin, err := exec.LookPath("prometheus-alertmanager")
	if err != nil {
		testdb.SkipOrFail(t, "prometheus-alertmanager not installed (Debian package prometheus-alertmanager): %v", err)
	}
	amtool, err := exec.LookPath("amtool")
	if err != nil {
		testdb.SkipOrFail(t, "amtool not installed (Debian package prometheus-alertmanager): %v", err)
	}
	r := render(t, alertingCase, valuesFile(t, alertingCase))
	sts, c, flags := alertmanagerPod(t, r)
	cm := one[corev1.ConfigMap](t, r, volumeOf(t, sts.Spec.Template.Spec, "config").ConfigMap.Name)
	dir := t.TempDir()
	_, key := path.Split(flags["--config.file"])
	config := filepath.Join(dir, key)
	if err := os.WriteFile(config, []byte(cm.Data[key]), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(amtool, "check-config", config).CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config on the rendered ConfigMap: %v\n%s", err, out)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	var args []string
	for _, a := range c.Args {
		k, _, _ := strings.Cut(a, "=")
		switch k {
		case "--config.file":
			a = k + "=" + config
		case "--storage.path":
			a = k + "=" + filepath.Join(dir, "data")
		case "--web.listen-address":
			a = k + "=" + addr
		}
		args = append(args, a)
	}
	logs := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	testenv.StartProcess(t, cmd)
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }()

	client := &http.Client{Timeout: 5 * time.Second}
	status := func(p string) int {
		resp, err := client.Get("http://" + addr + p)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	testenv.WaitFor(t, 60*time.Second, "Alertmanager ready on "+c.ReadinessProbe.HTTPGet.Path, func() bool {
		select {
		case <-exited:
			t.Fatalf("Alertmanager exited with the container's flags %q:\n%s", args, logs.String())
		default:
		}
		switch s := status(c.ReadinessProbe.HTTPGet.Path); s {
		case http.StatusOK:
			return true
		case 0, http.StatusServiceUnavailable: // not listening, or not ready yet
			return false
		default:
			t.Fatalf("readiness %s answered %d: not Alertmanager's readiness path\n%s", c.ReadinessProbe.HTTPGet.Path, s, logs.String())
			return false
		}
	})
	if s := status(c.LivenessProbe.HTTPGet.Path); s != http.StatusOK {
		t.Errorf("liveness %s answered %d\n%s", c.LivenessProbe.HTTPGet.Path, s, logs.String())
	}
	// The loaded routing is the file's: the page receiver, among others.
	resp, err := client.Get("http://" + addr + "/api/v2/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st.Config.Original, "receiver: page") || !strings.Contains(st.Config.Original, "NoInstanceUp") {
		t.Errorf("loaded configuration lacks the file's page route and inhibition:\n%s", st.Config.Original)
	}
}

// docs/KUBERNETES.md's instructions fit the chart: the Prometheus
// resource's alerting snippet decodes strictly into the operator's type and
// names the Alertmanager Service and its port in the namespace the
// commands use, and the Secret it has you create (like values.yaml's
// comment) has a key for every secret file alertmanager.yml reads.
func TestAlertmanagerDocsFitTheChart(t *testing.T) {
	r := render(t, alertingCase, valuesFile(t, alertingCase))
	svc := one[corev1.Service](t, r.alertmanager(), "")
	doc := string(readRepoFile(t, "docs/KUBERNETES.md"))
	block := regexp.MustCompile("(?s)```yaml\n(\\s*alerting:\n.*?)```").FindStringSubmatch(doc)
	if block == nil {
		t.Fatal("docs/KUBERNETES.md has no ```yaml block with the Prometheus resource's alerting")
	}
	var prom struct {
		Alerting monitoringv1.AlertingSpec `json:"alerting"`
	}
	if err := yaml.UnmarshalStrict([]byte(dedent(block[1])), &prom); err != nil {
		t.Fatalf("the docs' alerting snippet is not the operator's AlertingSpec: %v\n%s", err, block[1])
	}
	if len(prom.Alerting.Alertmanagers) != 1 {
		t.Fatalf("the docs' snippet lists %d Alertmanagers, want the chart's", len(prom.Alerting.Alertmanagers))
	}
	ep := prom.Alerting.Alertmanagers[0]
	if ep.Name != svc.Name || ep.Namespace == nil || *ep.Namespace != namespace || ep.Port.String() != svc.Spec.Ports[0].Name {
		t.Errorf("the docs point Prometheus at %+v, the chart's Service is %s/%s port %s", ep, namespace, svc.Name, svc.Spec.Ports[0].Name)
	}
	if !strings.Contains(doc, "kubectl -n "+namespace+" create secret generic "+r.values["alertmanager"].(map[string]any)["existingSecret"].(string)) {
		t.Errorf("docs/KUBERNETES.md does not create the Secret alertmanager.existingSecret names in namespace %s", namespace)
	}
	var cfg amConfig
	if err := yaml.Unmarshal(readRepoFile(t, alertmanagerFile), &cfg); err != nil {
		t.Fatal(err)
	}
	values := string(readRepoFile(t, chartDir+"/values.yaml"))
	for _, f := range cfg.secretFiles(t) {
		key := "--from-file=" + path.Base(f) + "="
		if !strings.Contains(doc, key) || !strings.Contains(values, key) {
			t.Errorf("docs/KUBERNETES.md or values.yaml creates the Secret without %s (alertmanager.yml reads %s)", path.Base(f), f)
		}
	}
}

// dedent removes the indentation of the block's first line from each line.
func dedent(s string) string {
	indent := s[:len(s)-len(strings.TrimLeft(s, " "))]
	var out []string
	for _, l := range strings.Split(s, "\n") {
		out = append(out, strings.TrimPrefix(l, indent))
	}
	return strings.Join(out, "\n")
}
