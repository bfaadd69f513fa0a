package helm_test

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/mealsync/mealsync/internal/config"
)

// server returns the Deployment and its one container.
func server(t testing.TB, r rendered) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	d := one[appsv1.Deployment](t, r, "")
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: want one container, have %d", r.name, len(d.Spec.Template.Spec.Containers))
	}
	return d, &d.Spec.Template.Spec.Containers[0]
}

// appConfig is what the app makes of the pod's environment: the ConfigMap
// plus the env entries, secrets given stand-in values (kubelet's $(VAR)
// expansion included), read by internal/config itself. It also returns
// every variable the app asked for.
func appConfig(t testing.TB, r rendered, c *corev1.Container) (*config.Config, map[string]string, map[string]bool) {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Fatalf("%s: envFrom other than a ConfigMap: %+v", r.name, from)
		}
		for k, v := range one[corev1.ConfigMap](t, r, from.ConfigMapRef.Name).Data {
			env[k] = v
		}
	}
	expand := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = secretStandIn(e.Name)
		case e.ValueFrom != nil:
			t.Fatalf("%s: %s comes from neither a value nor a Secret", r.name, e.Name)
		default:
			env[e.Name] = expand.ReplaceAllStringFunc(e.Value, func(ref string) string {
				return env[expand.FindStringSubmatch(ref)[1]]
			})
		}
	}
	asked := map[string]bool{}
	cfg, err := config.Load(func(name string) string { asked[name] = true; return env[name] }, nil, nil)
	if err != nil {
		t.Fatalf("%s: the app refuses the chart's configuration: %v", r.name, err)
	}
	return cfg, env, asked
}

// secretStandIn is what a test puts where the pod reads a Secret.
func secretStandIn(name string) string {
	switch {
	case strings.Contains(name, "DATABASE_URL"):
		return "postgres://app:secret@db:5432/app"
	case strings.Contains(name, "REPLICA_URLS"):
		return "postgres://app:secret@db-ro:5432/app"
	default:
		return strings.Repeat("s", 48)
	}
}

func portOf(t testing.TB, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	return int32(n)
}

func containerPort(t testing.TB, c *corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

// The chart's ports are the app's: by default the app's own defaults
// (internal/config), and in every case the addresses the ConfigMap gives
// the app.
func TestPortsAreTheApps(t *testing.T) {
	defaults, err := config.Load(func(string) string { return "" }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			_, c := server(t, r)
			cfg, _, _ := appConfig(t, r, c)
			if got, want := containerPort(t, c, "http"), portOf(t, cfg.Addr); got != want {
				t.Errorf("http containerPort %d, the app listens on %d (MEALSYNC_ADDR %q)", got, want, cfg.Addr)
			}
			if got, want := containerPort(t, c, "ops"), portOf(t, cfg.OpsAddr); got != want {
				t.Errorf("ops containerPort %d, the app's ops listener is on %d (MEALSYNC_OPS_ADDR %q)", got, want, cfg.OpsAddr)
			}
			if r.name == "defaults" {
				if got, want := containerPort(t, c, "http"), portOf(t, defaults.Addr); got != want {
					t.Errorf("default http port %d, the app's default is %d", got, want)
				}
				if got, want := containerPort(t, c, "ops"), portOf(t, config.DefaultOpsAddr); got != want {
					t.Errorf("default ops port %d, the app's default is %d", got, want)
				}
			}
		})
	}
}

// Every MEALSYNC_* variable the pod is given is one internal/config reads
// (a misspelt one would be silently ignored by the app), the app accepts
// the whole configuration, and the ConfigMap holds no secret.
func TestConfigIsTheApps(t *testing.T) {
	secret := regexp.MustCompile(`SECRET|PASSWORD|API_KEY|ACCESS_KEY|DATABASE_URL|REPLICA_URLS`)
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			d, c := server(t, r)
			cfg, env, asked := appConfig(t, r, c)
			for name := range env {
				if strings.HasPrefix(name, "MEALSYNC_") && !asked[name] {
					t.Errorf("%s is set for the pod but internal/config never reads it", name)
				}
			}
			for k := range one[corev1.ConfigMap](t, r, c.EnvFrom[0].ConfigMapRef.Name).Data {
				if secret.MatchString(k) {
					t.Errorf("ConfigMap holds %s, a secret", k)
				}
			}
			for _, e := range c.Env {
				if secret.MatchString(e.Name) && e.Value != "" && !strings.Contains(e.Value, "$(") {
					t.Errorf("%s is a literal value, not from a Secret", e.Name)
				}
			}
			if cfg.MigrateOnStart {
				t.Error("the server migrates at start: the migration Job should")
			}
			if !cfg.Postgres() {
				t.Errorf("the server is not on PostgreSQL (%s)", config.RedactURL(cfg.DatabaseURL))
			}
			if cnpg, _ := r.values["cnpg"].(map[string]any); cnpg["enabled"] == true && len(cfg.ReplicaURLs) == 0 {
				t.Error("CloudNativePG's replicas are not the app's replica URLs")
			}
			// The image's binary reports the chart's appVersion (Chart.yaml).
			if got, want := d.Spec.Template.Labels["app.kubernetes.io/version"], strings.SplitN(c.Image, ":", 2)[1]; got != want {
				t.Errorf("pod version label %q, image tag %q", got, want)
			}
		})
	}
}

// SIGTERM to SIGKILL is longer than the app's shutdown: readiness DOWN for
// the delay, then the timeout for open requests, then a margin.
func TestGracePeriodCoversShutdown(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			d, c := server(t, r)
			cfg, _, _ := appConfig(t, r, c)
			grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
			if need := cfg.ShutdownDelay + cfg.ShutdownTimeout; grace <= need {
				t.Errorf("terminationGracePeriodSeconds %s leaves no margin after the app's shutdown delay + timeout %s", grace, need)
			}
		})
	}
}

// A rollout never has fewer ready pods than asked for; the HPA, when on,
// owns the replica count; a drain never takes the last ready pod.
func TestRolloutAndScaling(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			d, _ := server(t, r)
			ru := d.Spec.Strategy.RollingUpdate
			if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
				ru.MaxUnavailable.String() != "0" || ru.MaxSurge.String() != "1" {
				t.Errorf("strategy %+v, want RollingUpdate maxUnavailable 0, maxSurge 1", d.Spec.Strategy)
			}
			hpas := all[autoscalingv2.HorizontalPodAutoscaler](r)
			minReplicas := int32(0)
			switch {
			case len(hpas) == 1:
				h := hpas[0]
				if d.Spec.Replicas != nil {
					t.Error("the Deployment sets replicas beside an HPA: every upgrade would reset the count")
				}
				if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
					t.Errorf("HPA scales %+v, not the Deployment %s", h.Spec.ScaleTargetRef, d.Name)
				}
				resources := map[corev1.ResourceName]bool{}
				for _, m := range h.Spec.Metrics {
					if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
						resources[m.Resource.Name] = true
					}
				}
				if !resources[corev1.ResourceCPU] || !resources[corev1.ResourceMemory] {
					t.Errorf("HPA metrics %+v: want CPU and memory utilisation", h.Spec.Metrics)
				}
				b := h.Spec.Behavior
				if b == nil || b.ScaleUp == nil || b.ScaleUp.StabilizationWindowSeconds == nil ||
					b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds <= 0 {
					t.Errorf("HPA behavior %+v: want stabilisation windows, a positive one for scaling down", b)
				}
				minReplicas = *h.Spec.MinReplicas
			case len(hpas) == 0 && d.Spec.Replicas != nil:
				minReplicas = *d.Spec.Replicas
			default:
				t.Fatalf("%d HPAs, Deployment replicas %v", len(hpas), d.Spec.Replicas)
			}
			pdb := one[policyv1.PodDisruptionBudget](t, r, "")
			if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || minReplicas < 2 {
				t.Errorf("PDB maxUnavailable %v with at least %d replicas: a drain could take the last ready pod", pdb.Spec.MaxUnavailable, minReplicas)
			}
		})
	}
}

// Every pod the chart runs (server, init container, migration Job) is
// locked down, bounded, and writes only where a volume is mounted.
func TestPodsAreLockedDown(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			_, c := server(t, r)
			cfg, _, _ := appConfig(t, r, c)
			specs := map[string]corev1.PodSpec{}
			for _, d := range all[appsv1.Deployment](r) {
				specs["Deployment "+d.Name] = d.Spec.Template.Spec
			}
			for _, j := range all[batchv1.Job](r) {
				specs["Job "+j.Name] = j.Spec.Template.Spec
			}
			for what, ps := range specs {
				if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
					t.Errorf("%s mounts a service-account token", what)
				}
				// Service links would give the pods MEALSYNC_SERVICE_HOST,
				// MEALSYNC_PORT… for a Service named mealsync: variables in
				// the app's namespace that it never reads.
				if ps.EnableServiceLinks == nil || *ps.EnableServiceLinks {
					t.Errorf("%s gets Service environment variables", what)
				}
				if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
					t.Errorf("%s: pod not runAsNonRoot", what)
				}
				volumes := map[string]bool{}
				for _, v := range ps.Volumes {
					volumes[v.Name] = v.EmptyDir != nil || v.PersistentVolumeClaim != nil
				}
				for _, c := range append(ps.InitContainers, ps.Containers...) {
					where := what + " container " + c.Name
					sc := c.SecurityContext
					if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
						sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil ||
						len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 ||
						sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
						t.Errorf("%s: securityContext %+v", where, sc)
					}
					for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
						if c.Resources.Requests.Name(res, "").IsZero() || c.Resources.Limits.Name(res, "").IsZero() {
							t.Errorf("%s: no %s request and limit", where, res)
						}
					}
					mounted := map[string]bool{}
					for _, m := range c.VolumeMounts {
						if !volumes[m.Name] {
							t.Errorf("%s mounts %s from no emptyDir or claim", where, m.MountPath)
						}
						mounted[m.MountPath] = !m.ReadOnly
					}
					// The app writes multipart spills to /tmp and its
					// images and disk check to its data folder.
					for _, dir := range []string{"/tmp", cfg.DataDir} {
						if !mounted[dir] {
							t.Errorf("%s: %s is not a writable mount (root filesystem is read-only)", where, dir)
						}
					}
				}
			}
		})
	}
}

// Every selector picks the server's pods and nothing else: the Service,
// the ops Service, the PDB, the NetworkPolicies and the spread constraints;
// the Deployment never adopts the migration Job's pods.
func TestSelectorsMatchThePods(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			r = r.app() // the Alertmanager's have their own test
			d, _ := server(t, r)
			pod := labels.Set(d.Spec.Template.Labels)
			sel := func(what string, ls *metav1.LabelSelector) labels.Selector {
				t.Helper()
				s, err := metav1.LabelSelectorAsSelector(ls)
				if err != nil || s.Empty() {
					t.Fatalf("%s: selector %+v: %v", what, ls, err)
				}
				return s
			}
			if !sel("Deployment", d.Spec.Selector).Matches(pod) {
				t.Errorf("Deployment selector %v does not match its pods %v", d.Spec.Selector, pod)
			}
			for _, j := range all[batchv1.Job](r) {
				if sel("Deployment", d.Spec.Selector).Matches(labels.Set(j.Spec.Template.Labels)) {
					t.Errorf("Deployment selector matches the pods of Job %s", j.Name)
				}
			}
			for _, s := range all[corev1.Service](r) {
				if !labels.SelectorFromSet(s.Spec.Selector).Matches(pod) || len(s.Spec.Selector) == 0 {
					t.Errorf("Service %s selector %v does not match the pods %v", s.Name, s.Spec.Selector, pod)
				}
			}
			if pdb := one[policyv1.PodDisruptionBudget](t, r, ""); !sel("PDB", pdb.Spec.Selector).Matches(pod) {
				t.Errorf("PDB selector does not match the pods")
			}
			for _, np := range all[networkingv1.NetworkPolicy](r) {
				if !sel("NetworkPolicy "+np.Name, &np.Spec.PodSelector).Matches(pod) {
					t.Errorf("NetworkPolicy %s does not select the pods", np.Name)
				}
				if len(np.Spec.Egress) > 0 {
					for _, j := range all[batchv1.Job](r) {
						if !sel("NetworkPolicy "+np.Name, &np.Spec.PodSelector).Matches(labels.Set(j.Spec.Template.Labels)) {
							t.Errorf("egress NetworkPolicy %s does not hold the migration Job's pods", np.Name)
						}
					}
				}
			}
			keys := map[string]bool{}
			for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
				keys[c.TopologyKey] = true
				if !sel("topology spread", c.LabelSelector).Matches(pod) {
					t.Errorf("topology spread over %s does not count the pods", c.TopologyKey)
				}
			}
			if !keys["kubernetes.io/hostname"] || !keys["topology.kubernetes.io/zone"] {
				t.Errorf("pods spread over %v, want nodes and zones", keys)
			}
		})
	}
}

// NetworkPolicies: in, only the ingress controller on the API port and
// Prometheus on the ops port; out, DNS, the database and (with S3) the blob
// store, each on its port only.
func TestNetworkPoliciesIsolateThePods(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.name, func(t *testing.T) {
			r = r.app() // the Alertmanager's have their own test
			_, c := server(t, r)
			cfg, _, _ := appConfig(t, r, c)
			var in, out []networkingv1.NetworkPolicy
			for _, np := range all[networkingv1.NetworkPolicy](r) {
				for _, pt := range np.Spec.PolicyTypes {
					if pt == networkingv1.PolicyTypeIngress {
						in = append(in, *np)
					} else {
						out = append(out, *np)
					}
				}
			}
			if len(in) != 1 || len(out) != 1 {
				t.Fatalf("%d ingress and %d egress policies, want one each", len(in), len(out))
			}
			ports := map[string]bool{}
			for _, rule := range in[0].Spec.Ingress {
				if len(rule.From) == 0 || len(rule.Ports) != 1 {
					t.Errorf("ingress rule %+v: want named peers and one port", rule)
					continue
				}
				ports[rule.Ports[0].Port.String()] = true
			}
			if len(ports) != 2 || !ports["http"] || !ports["ops"] {
				t.Errorf("ingress allowed to ports %v, want http and ops", ports)
			}
			egress := map[int32]bool{}
			for _, rule := range out[0].Spec.Egress {
				if len(rule.Ports) == 0 {
					t.Errorf("egress rule %+v allows every port", rule)
				}
				for _, p := range rule.Ports {
					egress[p.Port.IntVal] = true
				}
			}
			want := []int32{53, 5432}
			if cfg.S3Bucket != "" {
				want = append(want, 443)
			}
			for _, p := range want {
				if !egress[p] {
					t.Errorf("no egress to port %d (allowed: %v)", p, egress)
				}
			}
		})
	}
}
