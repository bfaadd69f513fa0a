package rollout

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRenderUpstreamKeepsTheFilesDirectives(t *testing.T) {
	repo, err := os.ReadFile("../../nginx/upstream.conf")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		prev  string
		addrs []string
		want  []string // lines the result must contain
		not   []string
	}{
		{"the repository's file", string(repo), []string{"127.0.0.1:4001", "127.0.0.1:4002"},
			[]string{"upstream mealsync_app {", "    zone mealsync_app 64k;", "    least_conn;", "    keepalive 32;",
				"    keepalive_timeout 4s;", "    keepalive_time 2s;",
				"    server 127.0.0.1:4001 max_fails=1 fail_timeout=1s;", "    server 127.0.0.1:4002 max_fails=1 fail_timeout=1s;",
				"    server 127.0.0.1:4001 backup max_fails=0;", "    server 127.0.0.1:4002 backup max_fails=0;",
				strings.SplitN(string(repo), "\n", 2)[0]}, // its comments stay
			[]string{"app:8081"}},
		{"no file yet", "", []string{"10.1.2.3:8081"},
			[]string{"    zone mealsync_app 64k;", "    least_conn;", "    keepalive 32;", "    keepalive_timeout 4s;",
				"    server 10.1.2.3:8081 max_fails=1 fail_timeout=1s;", "    server 10.1.2.3:8081 backup max_fails=0;"}, nil},
		{"no instance", string(repo), nil,
			[]string{"    server 127.0.0.1:1 down;  # no instance is serving"}, []string{"app:8081", "    server app"}},
		{"other parameters are kept", "upstream mealsync_app {\n  keepalive 8;\n  server a:1 weight=2;\n  server a:1 backup weight=3;\n}\n", []string{"b:2"},
			[]string{"    keepalive 8;", "    server b:2 weight=2;", "    server b:2 backup weight=3;"}, []string{"least_conn", "a:1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := renderUpstream([]byte(c.prev), DefaultUpstreamName, c.addrs)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(out), "\n")
			for _, w := range c.want {
				if !slices.Contains(lines, w) {
					t.Errorf("lacks line %q:\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(string(out), n) {
					t.Errorf("still has %q:\n%s", n, out)
				}
			}
			// Rendering is stable: the output parses back to the same servers,
			// and rendering it again changes nothing.
			blk, err := parseUpstream(out, DefaultUpstreamName)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var backups []string
			for _, s := range blk.servers {
				switch {
				case s.backup:
					backups = append(backups, s.addr)
				case !s.down:
					got = append(got, s.addr)
				}
			}
			if !slices.Equal(got, c.addrs) || !slices.Equal(backups, c.addrs) {
				t.Errorf("parsed back servers %v and backups %v, want %v each", got, backups, c.addrs)
			}
			again, _ := renderUpstream(out, DefaultUpstreamName, c.addrs)
			if string(again) != string(out) {
				t.Errorf("second render differs:\n%s\nvs\n%s", again, out)
			}
		})
	}
	if _, err := renderUpstream([]byte("upstream other {\n server a:1;\n}\n"), DefaultUpstreamName, nil); err == nil {
		t.Error("a file without the block was accepted")
	}
}

// nginxBinary finds Debian's nginx, or skips.
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if os.Getenv("MEALSYNC_REQUIRE_SERVICES") == "1" {
		t.Fatal("MEALSYNC_REQUIRE_SERVICES=1 but nginx is not installed")
	}
	t.Skip("nginx is not installed")
	return ""
}

// TestUpstreamApplyWithRealNginx: a config nginx accepts is written and
// tested (no nginx runs, so the reload's "no pid" failure is expected and
// must restore the file too); one nginx rejects is rolled back byte for
// byte.
func TestUpstreamApplyWithRealNginx(t *testing.T) {
	bin := nginxBinary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(`pid `+dir+`/nginx.pid;
error_log `+dir+`/error.log;
events {}
http {
    access_log off;
    client_body_temp_path `+dir+`/body;
    proxy_temp_path `+dir+`/proxy;
    fastcgi_temp_path `+dir+`/fastcgi;
    uwsgi_temp_path `+dir+`/uwsgi;
    scgi_temp_path `+dir+`/scgi;
    include upstream.conf;
    server { listen 127.0.0.1:1; location / { proxy_pass http://mealsync_app; } }
}
`), 0o644)
	file := filepath.Join(dir, "upstream.conf")
	good, _ := renderUpstream(nil, DefaultUpstreamName, []string{"127.0.0.1:4001"})
	os.WriteFile(file, good, 0o644)
	n := LocalNginx{Bin: bin, Conf: conf, Prefix: dir + "/"}
	if out, err := n.Test(context.Background()); err != nil {
		t.Fatalf("the starting config fails nginx -t: %v\n%s", err, out)
	}
	u := &Upstream{File: file, Nginx: n}

	err := u.Apply(context.Background(), []string{"127.0.0.1:99999"})
	var rejected *ConfigRejectedError
	if !errors.As(err, &rejected) || !strings.Contains(rejected.Output, "invalid port") {
		t.Fatalf("Apply with an invalid port: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != string(good) {
		t.Errorf("the rejected file was not restored:\n%s", b)
	}

	// Accepted by nginx -t; the reload fails (no nginx is running): the file
	// must again say what nginx runs.
	err = u.Apply(context.Background(), []string{"127.0.0.1:4002"})
	if err == nil || errors.As(err, &rejected) {
		t.Fatalf("Apply without a running nginx: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != string(good) {
		t.Errorf("after a failed reload the file is not the previous one:\n%s", b)
	}
}
