package helm_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// nginxRules are the edge's rules as nginx/ writes them.
type nginxRules struct {
	apiPerSecond   string // limit_req_zone … zone=api … rate=N r/s
	loginPerMinute string // zone=login … rate=N r/m
	maxBody        string // client_max_body_size
	streamTimeout  time.Duration
}

func readNginxRules(t testing.TB) nginxRules {
	t.Helper()
	conf := string(readRepoFile(t, "nginx/nginx.conf"))
	site := string(readRepoFile(t, "nginx/mealsync.conf"))
	find := func(text, pattern string) string {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("nginx/: no match for %s", pattern)
		}
		return m[1]
	}
	var r nginxRules
	r.apiPerSecond = find(conf, `limit_req_zone \S+ zone=api:\S+ rate=(\d+)r/s;`)
	r.loginPerMinute = find(conf, `limit_req_zone \S+ zone=login:\S+ rate=(\d+)r/m;`)
	r.maxBody = find(conf, `\n\s*client_max_body_size (\S+);`)
	stream := find(site, `location ~ \^/api/v1/\(events\|sync\)[^{]*\{([^}]*)\}`)
	d, err := time.ParseDuration(find(stream, `proxy_read_timeout (\S+);`))
	if err != nil {
		t.Fatal(err)
	}
	r.streamTimeout = d
	return r
}

// The Ingress for ingress-nginx carries nginx/'s rules: 100 r/s per client
// everywhere, 5 r/min more on login, the body limit, hour-long streams for
// live sync, and of /actuator only the overall health.
func TestIngressCarriesTheEdgeRules(t *testing.T) {
	edge := readNginxRules(t)
	r := render(t, "defaults", valuesFile(t, ""))
	api := one[corev1.Service](t, r, releaseName)
	ingresses := all[networkingv1.Ingress](r)
	if len(ingresses) == 0 {
		t.Fatal("no Ingress")
	}
	paths := map[string]*networkingv1.Ingress{}
	for _, ing := range ingresses {
		a := ing.Annotations
		if a["nginx.ingress.kubernetes.io/limit-rps"] != edge.apiPerSecond || a["nginx.ingress.kubernetes.io/limit-burst-multiplier"] != "1" {
			t.Errorf("Ingress %s: limit-rps %q ×%q, nginx/ allows %s r/s per client", ing.Name,
				a["nginx.ingress.kubernetes.io/limit-rps"], a["nginx.ingress.kubernetes.io/limit-burst-multiplier"], edge.apiPerSecond)
		}
		if a["nginx.ingress.kubernetes.io/proxy-body-size"] != edge.maxBody {
			t.Errorf("Ingress %s: proxy-body-size %q, nginx/ %q", ing.Name, a["nginx.ingress.kubernetes.io/proxy-body-size"], edge.maxBody)
		}
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
			t.Errorf("Ingress %s is not for ingress-nginx", ing.Name)
		}
		if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName == "" {
			t.Errorf("Ingress %s: TLS %+v", ing.Name, ing.Spec.TLS)
		}
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				paths[p.Path] = ing
				b := p.Backend.Service
				if b == nil || b.Name != api.Name || b.Port.Name != api.Spec.Ports[0].Name {
					t.Errorf("Ingress %s path %s goes to %+v, not the API Service %s", ing.Name, p.Path, b, api.Name)
				}
				if strings.HasPrefix(p.Path, "/actuator") && (p.Path != "/actuator/health" || *p.PathType != networkingv1.PathTypeExact) {
					t.Errorf("Ingress %s exposes %s (%s): only /actuator/health may answer from outside", ing.Name, p.Path, *p.PathType)
				}
			}
		}
	}
	for _, p := range []string{"/api/", "/images/", "/actuator/health", "/api/v1/users/login", "/api/v1/sync"} {
		if paths[p] == nil {
			t.Errorf("no Ingress path %s", p)
		}
	}
	// nginx/: a DOWN answer of /actuator/health is not retried elsewhere.
	if h := paths["/actuator/health"]; h != nil && strings.Contains(h.Annotations["nginx.ingress.kubernetes.io/proxy-next-upstream"], "503") {
		t.Errorf("/actuator/health retries a 503 (DOWN) on another pod")
	}
	if login := paths["/api/v1/users/login"]; login != nil && login.Annotations["nginx.ingress.kubernetes.io/limit-rpm"] != edge.loginPerMinute {
		t.Errorf("login limit-rpm %q, nginx/ allows %s r/m", login.Annotations["nginx.ingress.kubernetes.io/limit-rpm"], edge.loginPerMinute)
	}
	for _, ing := range ingresses {
		if ing != paths["/api/v1/users/login"] && ing.Annotations["nginx.ingress.kubernetes.io/limit-rpm"] != "" {
			t.Errorf("Ingress %s limits more than login to %s r/m", ing.Name, ing.Annotations["nginx.ingress.kubernetes.io/limit-rpm"])
		}
	}
	if sync := paths["/api/v1/sync"]; sync != nil {
		for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			if got := sync.Annotations["nginx.ingress.kubernetes.io/"+k]; got != strconv.Itoa(int(edge.streamTimeout.Seconds())) {
				t.Errorf("sync %s %q s, nginx/ %s", k, got, edge.streamTimeout)
			}
		}
	}
	// The response headers the app does not send itself, for every answer.
	headers := one[corev1.ConfigMap](t, r, releaseName+"-headers")
	for _, ing := range ingresses {
		if ing.Annotations["nginx.ingress.kubernetes.io/custom-headers"] != namespace+"/"+headers.Name {
			t.Errorf("Ingress %s does not add the headers of ConfigMap %s", ing.Name, headers.Name)
		}
	}
	site := string(readRepoFile(t, "nginx/security-headers.conf"))
	for name, value := range headers.Data {
		if !strings.Contains(site, `add_header `+name+` "`+value+`" always;`) {
			t.Errorf("header %s: %s is not nginx/security-headers.conf's", name, value)
		}
	}
	if len(headers.Data) < 3 {
		t.Errorf("headers %v: want X-Frame-Options, Referrer-Policy, Permissions-Policy", headers.Data)
	}
}

// The Gateway API alternative routes the same paths to the API Service,
// with the stream timeout on live sync and nothing more of /actuator.
func TestHTTPRouteIsTheIngressAlternative(t *testing.T) {
	edge := readNginxRules(t)
	r := render(t, "httproute", valuesFile(t, "httproute"))
	if n := len(all[networkingv1.Ingress](r)); n != 0 {
		t.Fatalf("%d Ingresses beside the HTTPRoute", n)
	}
	api := one[corev1.Service](t, r, releaseName)
	route := one[gatewayv1.HTTPRoute](t, r, "")
	if len(route.Spec.ParentRefs) == 0 {
		t.Fatal("HTTPRoute attached to no Gateway")
	}
	paths := map[string]gatewayv1.HTTPRouteRule{}
	for _, rule := range route.Spec.Rules {
		for _, b := range rule.BackendRefs {
			if string(b.Name) != api.Name || b.Port == nil || int32(*b.Port) != api.Spec.Ports[0].Port {
				t.Errorf("backend %+v is not the API Service %s:%d", b.BackendObjectReference, api.Name, api.Spec.Ports[0].Port)
			}
		}
		for _, m := range rule.Matches {
			p := *m.Path.Value
			paths[p] = rule
			if strings.HasPrefix(p, "/actuator") && (p != "/actuator/health" || *m.Path.Type != gatewayv1.PathMatchExact) {
				t.Errorf("HTTPRoute exposes %s: only /actuator/health may answer from outside", p)
			}
		}
	}
	for _, p := range []string{"/api/", "/images/", "/actuator/health", "/api/v1/sync"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("no HTTPRoute match for %s", p)
		}
	}
	if sync, ok := paths["/api/v1/sync"]; ok {
		if sync.Timeouts == nil || sync.Timeouts.Request == nil || string(*sync.Timeouts.Request) != strconv.Itoa(int(edge.streamTimeout.Seconds()))+"s" {
			t.Errorf("sync timeouts %+v, nginx/ keeps streams %s", sync.Timeouts, edge.streamTimeout)
		}
	}
}

// TLS by cert-manager: one Ingress asks for the certificate, all three
// serve its Secret (two Certificates for one Secret would fight).
func TestIngressTLSByCertManager(t *testing.T) {
	r := render(t, "ha", valuesFile(t, "ha"))
	asking := 0
	secrets := map[string]bool{}
	for _, ing := range all[networkingv1.Ingress](r) {
		if ing.Annotations["cert-manager.io/cluster-issuer"] != "" {
			asking++
		}
		for _, tls := range ing.Spec.TLS {
			secrets[tls.SecretName] = true
		}
	}
	if asking != 1 || len(secrets) != 1 {
		t.Errorf("%d Ingresses ask cert-manager, %d TLS Secrets: want 1 and 1", asking, len(secrets))
	}
}
