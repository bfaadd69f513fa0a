package testenv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The substitution may touch only the directives it documents; every other
// line of the repository's config reaches the tests unchanged.
func TestSubstituteChangesOnlyDocumentedDirectives(t *testing.T) {
	dir := filepath.Join(RepoRoot(t), "nginx")
	files, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
	files = append(files, filepath.Join(dir, "conf.d", "https.conf.disabled"))
	sub := Substitution{Prefix: "/tmp/prefix", Ports: map[int]int{80: 18080, 443: 18443}}
	touched := map[string]bool{"user": true, "listen": true}
	for name := range pathDirectives {
		touched[name] = true
	}
	for _, f := range files {
		orig := readFile(t, f)
		got, _, err := Substitute(orig, sub)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		kept := strings.Split(got, "\n")
		i := 0
		for _, line := range strings.Split(orig, "\n") {
			name := firstWord(line)
			if name == "user" { // removed: User is ""
				continue
			}
			if kept[i] != line && !touched[name] {
				t.Errorf("%s: %q became %q", filepath.Base(f), line, kept[i])
			}
			i++
		}
		if i != len(kept) {
			t.Errorf("%s: %d lines out, want %d", filepath.Base(f), len(kept), i)
		}
	}
}

func TestSubstitute(t *testing.T) {
	conf := strings.Join([]string{
		"user nginx;",
		"error_log /var/log/nginx/error.log notice;",
		"pid /run/nginx.pid;",
		"http {",
		"    access_log /var/log/nginx/access.log mealsync_json; # comment kept",
		"    access_log off;",
		"    include upstream.conf;",
		"    server {",
		"        listen 80 default_server;",
		"        listen [::]:80;",
		"        listen 0.0.0.0:443 ssl http2;",
		"        ssl_certificate /etc/letsencrypt/live/example.com/fullchain.pem;",
		"        location /var/ { return 404; }",
		"    }",
		"}",
	}, "\n")
	want := strings.Join([]string{
		"user root;",
		"error_log /p/var/log/nginx/error.log notice;",
		"pid /p/run/nginx.pid;",
		"http {",
		"    access_log /p/var/log/nginx/access.log mealsync_json; # comment kept",
		"    access_log off;",
		"    include upstream.conf;",
		"    server {",
		"        listen 127.0.0.1:1080 default_server;",
		"        listen 127.0.0.1:1443 ssl http2;",
		"        ssl_certificate /p/etc/letsencrypt/live/example.com/fullchain.pem;",
		"        location /var/ { return 404; }",
		"    }",
		"}",
	}, "\n")
	got, moved, err := Substitute(conf, Substitution{Prefix: "/p", Ports: map[int]int{80: 1080, 443: 1443}, User: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if len(moved) != 4 {
		t.Errorf("moved %q, want the 4 absolute paths", moved)
	}

	if _, _, err := Substitute("listen 8080;", Substitution{Prefix: "/p", Ports: map[int]int{80: 1}}); err == nil {
		t.Error("a listen port without a loopback port: no error")
	}
	if _, _, err := Substitute("listen\n  80;", Substitution{Prefix: "/p", Ports: map[int]int{80: 1}}); err == nil {
		t.Error("a listen split over lines: no error")
	}
	if _, _, err := Substitute("pid x;", Substitution{Prefix: "relative"}); err == nil {
		t.Error("a relative prefix: no error")
	}
}

// The committed upstream.conf is exactly what the format produces for the
// compose default, and a substitution keeps its balancing settings.
func TestSubstituteUpstream(t *testing.T) {
	orig := readFile(t, filepath.Join(RepoRoot(t), "nginx", "upstream.conf"))
	same, err := SubstituteUpstream(orig, []string{"app:8081"})
	if err != nil {
		t.Fatal(err)
	}
	if same != orig {
		t.Errorf("SubstituteUpstream(upstream.conf, app:8081) changed the file:\n%s", same)
	}
	got, err := SubstituteUpstream(orig, []string{"127.0.0.1:1", "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"upstream mealsync_app {", "    zone mealsync_app 64k;", "    least_conn;", "    keepalive 32;", "    keepalive_timeout 4s;",
		"    server 127.0.0.1:1 max_fails=1 fail_timeout=1s;\n    server 127.0.0.1:2 max_fails=1 fail_timeout=1s;\n" +
			"    server 127.0.0.1:1 backup max_fails=0;\n    server 127.0.0.1:2 backup max_fails=0;\n}",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "app:8081;") || strings.Contains(got, "server app:8081") {
		t.Errorf("the compose server is still listed:\n%s", got)
	}
	if _, err := SubstituteUpstream(orig, nil); err == nil {
		t.Error("no servers: no error")
	}
}

// StartNginx serves the real config, and WriteUpstream + Reload switch the
// instances new connections reach.
func TestStartNginxReload(t *testing.T) {
	RequireNginx(t)
	named := func(name string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name)
		}))
		t.Cleanup(s.Close)
		return s.Listener.Addr().String()
	}
	a, b := named("a"), named("b")
	n := StartNginx(t, "", []string{a})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() string {
		t.Helper()
		resp, err := client.Get(n.URL + "/api/v1/anything")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if got := get(); got != "a" {
		t.Fatalf("before reload: %q, want a", got)
	}
	n.WriteUpstream(t, []string{b})
	n.Reload(t)
	for range 5 {
		if got := get(); got != "b" {
			t.Fatalf("after reload: %q, want b", got)
		}
	}
	if _, err := os.Stat(n.AccessLog); err != nil {
		t.Errorf("access log: %v", err)
	}
}

// StartMealsync reaches readiness on a port of its own, with an ops
// listener on another; Stop is a graceful exit, after which neither port
// accepts connections.
func TestStartMealsync(t *testing.T) {
	inst := StartMealsync(t, Options{})
	if inst.OpsAddr == "" || inst.OpsAddr == inst.Addr {
		t.Fatalf("ops address %q, API address %q: want a port of its own", inst.OpsAddr, inst.Addr)
	}
	for _, url := range []string{inst.URL + "/actuator/health", inst.OpsURL + "/actuator/info"} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", url, resp.StatusCode)
		}
	}
	if err := inst.Stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	for _, addr := range []string{inst.Addr, inst.OpsAddr} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Fatalf("%s still accepts connections after Stop", addr)
		}
	}
}

// With MEALSYNC_OPS_ADDR=off there is no ops listener, and the server runs.
func TestStartMealsyncWithoutOps(t *testing.T) {
	inst := StartMealsync(t, Options{Env: map[string]string{"MEALSYNC_OPS_ADDR": "off"}})
	if inst.OpsAddr != "" || inst.OpsURL != "" {
		t.Fatalf("ops listener at %q although it is off", inst.OpsAddr)
	}
}
