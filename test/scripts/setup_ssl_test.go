package scripts_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	setupSSL = "setup-ssl.sh"
	domain   = "api.example.org"
	email    = "ops@example.org"
	hook     = "etc/letsencrypt/renewal-hooks/deploy/mealsync-reload-nginx.sh"
)

// sslSandbox is a server as scripts/initial-setup.sh and a first deploy leave
// it: the repository's real nginx/ folder in place (compose: under
// /opt/mealsync with the compose file and a .env that mounts /etc/letsencrypt;
// process: as /etc/nginx), nginx running and serving the ACME webroot on port 80,
// certbot not installed yet.
func sslSandbox(t *testing.T, mode string) *sandbox {
	t.Helper()
	sb := newSandbox(t)
	root := repoRoot(t)
	nginxDir := "etc/nginx"
	if mode == "compose" {
		nginxDir = "opt/mealsync/nginx"
		compose, err := os.ReadFile(filepath.Join(root, "docker-compose.prod.yml"))
		if err != nil {
			t.Fatal(err)
		}
		sb.WriteFile("opt/mealsync/docker-compose.prod.yml", string(compose))
		sb.WriteFile("opt/mealsync/.env", "MEALSYNC_JWT_SECRET=x\nMEALSYNC_CERTS_DIR=/etc/letsencrypt\nMEALSYNC_CERTBOT_WEBROOT=/var/www/certbot\n")
		sb.WriteState("compose-running", "app\nnginx\n")
	} else {
		// Any live process will do for the pid file: this one.
		sb.WriteFile("run/nginx.pid", strconv.Itoa(os.Getpid())+"\n")
	}
	copyTree(t, filepath.Join(root, "nginx"), filepath.Join(sb.Root, nginxDir))
	sb.mkdir(filepath.Join(sb.Root, "var/www/certbot"), 0o755)
	sb.WriteState("webroot", filepath.Join(sb.Root, "var/www/certbot"))
	sb.RemoveStub("certbot")
	return sb
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// nginxDirOf is where sslSandbox put the nginx folder, as the server sees it.
func nginxDirOf(mode string) string {
	if mode == "compose" {
		return "/opt/mealsync/nginx"
	}
	return "/etc/nginx"
}

// The dry run plans every step of enabling HTTPS, and takes none.
func TestSetupSSLDryRunPlansEveryChange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		mode     string
		extra    []string
		asNobody bool
	}{
		{"compose", "compose", nil, false},
		{"compose staging", "compose", []string{"--staging"}, false},
		{"compose as nobody", "compose", nil, true},
		{"process", "process", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.asNobody {
				requireRoot(t)
			}
			sb := sslSandbox(t, tc.mode)
			before := sb.Snapshot()
			args := append([]string{"--dry-run", "--domain", domain, "--email", email, "--mode", tc.mode}, tc.extra...)
			r := sb.RunWith(runOpts{AsNobody: tc.asNobody}, setupSSL, args...)
			if r.Code != 0 {
				t.Fatalf("dry run failed:\n%s", r)
			}
			certonly := "would: obtain a certificate: certbot certonly --webroot -w /var/www/certbot -d api.example.org --cert-name api.example.org --email ops@example.org --agree-tos --non-interactive --no-eff-email"
			if len(tc.extra) > 0 {
				certonly += " --staging"
			}
			would := strings.Join(r.Lines("would: "), "\n") + "\n"
			mustContain(t, "the would: lines", would,
				"would: install certbot",
				"would: check that http://api.example.org/.well-known/acme-challenge/ reaches /var/www/certbot",
				certonly+"\n",
				"would: enable the HTTPS block: write "+nginxDirOf(tc.mode)+"/conf.d/https.conf from https.conf.disabled with example.com replaced by api.example.org",
				"would: test the nginx configuration (nginx -t) and reload nginx ("+tc.mode+")",
				"would: install the renewal hook /etc/letsencrypt/renewal-hooks/deploy/mealsync-reload-nginx.sh",
				"would: test renewal against Let's Encrypt's staging service: certbot renew --dry-run --cert-name api.example.org",
			)
			if c := r.Lines("change: "); len(c) > 0 {
				t.Errorf("a dry run reported changes: %v", c)
			}
			if tc.asNobody {
				mustContain(t, "stderr", r.Stderr, "must be run as root", "dry run: continuing")
			} else if os.Geteuid() == 0 && strings.Contains(r.Stderr, "warning") {
				t.Errorf("warnings on a server that is ready for HTTPS:\n%s", r.Stderr)
			}
			sb.requireUnchanged(before, r)
		})
	}
}

// A real run (against the stubs) obtains the certificate, enables HTTPS and
// installs the hook; a second run finds all of it in place, changes nothing,
// and only tests nginx's config, reloads it and tests renewal again.
func TestSetupSSLIsIdempotent(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	for _, mode := range []string{"compose", "process"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			sb := sslSandbox(t, mode)
			apply := runOpts{Apply: true}
			args := []string{"--domain", domain, "--email", email, "--mode", mode}

			first := sb.RunWith(apply, setupSSL, args...)
			if first.Code != 0 {
				t.Fatalf("first run failed:\n%s", first)
			}
			mustContain(t, "first run", first.Stdout, "HTTPS is on: https://api.example.org/")
			calls := strings.Join(sb.Mutations(), "\n")
			mustContain(t, "the changing calls", calls,
				"apt-get install -y certbot",
				"certbot certonly --webroot -w "+sb.Root+"/var/www/certbot -d api.example.org --cert-name api.example.org --email ops@example.org --agree-tos --non-interactive",
				"nginx -s reload -c "+sb.Root+nginxDirOf(mode)+"/nginx.conf",
				"certbot renew --dry-run --cert-name api.example.org")

			// The HTTPS block is the shipped template with the domain in it.
			template, err := os.ReadFile(filepath.Join(repoRoot(t), "nginx", "conf.d", "https.conf.disabled"))
			if err != nil {
				t.Fatal(err)
			}
			got := sb.ReadFile(nginxDirOf(mode)[1:] + "/conf.d/https.conf")
			if want := strings.ReplaceAll(string(template), "example.com", domain); got != want {
				t.Errorf("https.conf is not the template with the domain:\n%s", got)
			}
			mustContain(t, "https.conf", got, "ssl_certificate /etc/letsencrypt/live/api.example.org/fullchain.pem;")
			if sb.ReadFile("etc/letsencrypt/live/api.example.org/fullchain.pem") == "" {
				t.Error("no certificate in /etc/letsencrypt/live/api.example.org")
			}
			if info, err := os.Stat(filepath.Join(sb.Root, hook)); err != nil || info.Mode().Perm() != 0o755 {
				t.Errorf("renewal hook: %v %v", info, err)
			}
			reload := "nginx -s reload -c /etc/nginx/nginx.conf"
			if mode == "compose" {
				reload = "docker compose -f /opt/mealsync/docker-compose.prod.yml exec -T nginx nginx -s reload"
			}
			mustContain(t, "the renewal hook", sb.ReadFile(hook), "#!/bin/sh", "nginx -t -q", reload)

			sb.ResetMutations()
			before := sb.Snapshot()
			second := sb.RunWith(apply, setupSSL, args...)
			if second.Code != 0 {
				t.Fatalf("second run failed:\n%s", second)
			}
			if c := second.Lines("change: "); len(c) > 0 {
				t.Errorf("second run changed things: %v", c)
			}
			mustContain(t, "second run", second.Stdout,
				"certbot already installed", "certificate for api.example.org already valid until",
				"HTTPS block already enabled for api.example.org", "renewal hook already installed",
				"certbot.timer already enabled")
			sb.requireUnchangedExcept(before, second, "nginx -s reload", "certbot renew --dry-run")

			dry := sb.Run(setupSSL, append(args, "--dry-run")...)
			if dry.Code != 0 {
				t.Fatalf("dry run after failed:\n%s", dry)
			}
			if w := dry.Lines("would: "); len(w) != 2 ||
				!strings.Contains(w[0], "reload nginx") || !strings.Contains(w[1], "certbot renew --dry-run") {
				t.Errorf("dry run after plans more than the reload and the renewal test:\n%s", dry)
			}
		})
	}
}

// requireUnchangedExcept is requireUnchanged for a run whose only calls to
// changing commands may be the ones that start with allowed.
func (sb *sandbox) requireUnchangedExcept(before map[string]string, r result, allowed ...string) {
	sb.t.Helper()
	var other []string
	for _, m := range sb.Mutations() {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(m, a)
		}
		if !ok {
			other = append(other, m)
		}
	}
	sb.ResetMutations()
	sb.requireUnchanged(before, r)
	if len(other) > 0 {
		sb.t.Errorf("changing commands were called:\n  %s\n%s", strings.Join(other, "\n  "), r)
	}
}

// writeCert puts a self-signed certificate for name, valid until notAfter and
// issued by org, where certbot keeps the live one.
func writeCert(t *testing.T, sb *sandbox, name string, notAfter time.Time, org string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{Organization: []string{org}, CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    notAfter.Add(-90 * 24 * time.Hour),
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	for _, f := range []string{"fullchain.pem", "chain.pem", "privkey.pem"} {
		sb.WriteFile("etc/letsencrypt/live/"+domain+"/"+f, pemText)
	}
}

// An existing certificate is kept while it is good for more than 30 days, and
// replaced when it is about to expire, names another host, or is a staging one
// and a trusted one is wanted.
func TestSetupSSLKeepsAGoodCertificate(t *testing.T) {
	t.Parallel()
	const letsEncrypt = "Let's Encrypt"
	const staging = "(STAGING) Let's Encrypt"
	day := 24 * time.Hour
	cases := []struct {
		name     string
		certFor  string
		validFor time.Duration
		issuer   string
		extra    []string
		obtain   bool
		want     string
	}{
		{"valid 60 days", domain, 60 * day, letsEncrypt, nil, false, "already valid until"},
		{"expires in 10 days", domain, 10 * day, letsEncrypt, nil, true, "expires within 30 days"},
		{"expired", domain, -day, letsEncrypt, nil, true, "expires within 30 days"},
		{"other host", "www.example.org", 60 * day, letsEncrypt, nil, true, "does not name api.example.org"},
		{"staging, trusted wanted", domain, 60 * day, staging, nil, true, "staging (untrusted)"},
		{"staging, staging wanted", domain, 60 * day, staging, []string{"--staging"}, false, "already valid until"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sslSandbox(t, "compose")
			writeCert(t, sb, tc.certFor, time.Now().Add(tc.validFor), tc.issuer)
			before := sb.Snapshot()
			r := sb.Run(setupSSL, append([]string{"--dry-run", "--domain", domain, "--email", email}, tc.extra...)...)
			if r.Code != 0 {
				t.Fatalf("dry run failed:\n%s", r)
			}
			mustContain(t, "output", r.Stdout+r.Stderr, tc.want)
			obtain := strings.Join(r.Lines("would: obtain a certificate"), "\n")
			if (obtain != "") != tc.obtain {
				t.Errorf("plans to obtain a certificate: %v, want %v\n%s", obtain != "", tc.obtain, r)
			}
			if tc.obtain && !strings.Contains(obtain, "--force-renewal") {
				t.Errorf("replacing a certificate needs --force-renewal: %s", obtain)
			}
			sb.requireUnchanged(before, r)
		})
	}
}

// Bad arguments stop the script with a usage error that names the problem,
// before it looks at the machine.
func TestSetupSSLRejectsBadInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 64) + ".example.org"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "--domain is required"},
		{"no domain", []string{"--email", email}, "--domain is required"},
		{"no email", []string{"--domain", domain}, "--email is required"},
		{"domain with scheme", []string{"--domain", "https://api.example.org", "--email", email}, "is not a valid host name"},
		{"domain with port", []string{"--domain", "api.example.org:443", "--email", email}, "is not a valid host name"},
		{"domain with path", []string{"--domain", "api.example.org/x", "--email", email}, "is not a valid host name"},
		{"wildcard", []string{"--domain", "*.example.org", "--email", email}, "is not a valid host name"},
		{"single label", []string{"--domain", "localhost", "--email", email}, "is not a valid host name"},
		{"IP address", []string{"--domain", "192.0.2.10", "--email", email}, "is not a valid host name"},
		{"leading hyphen", []string{"--domain", "-api.example.org", "--email", email}, "is not a valid host name"},
		{"empty label", []string{"--domain", "api..example.org", "--email", email}, "is not a valid host name"},
		{"space", []string{"--domain", "api example.org", "--email", email}, "is not a valid host name"},
		{"label over 63", []string{"--domain", long, "--email", email}, "is not a valid host name"},
		{"sed metacharacter", []string{"--domain", "api.example.org&x", "--email", email}, "is not a valid host name"},
		{"email without @", []string{"--domain", domain, "--email", "ops"}, "is not a valid e-mail address"},
		{"email without host", []string{"--domain", domain, "--email", "ops@"}, "is not a valid e-mail address"},
		{"email without user", []string{"--domain", domain, "--email", "@example.org"}, "is not a valid e-mail address"},
		{"email to a bare host", []string{"--domain", domain, "--email", "ops@localhost"}, "is not a valid e-mail address"},
		{"email with space", []string{"--domain", domain, "--email", "o ps@example.org"}, "is not a valid e-mail address"},
		{"bad mode", []string{"--domain", domain, "--email", email, "--mode", "swarm"}, "--mode must be compose or process"},
		{"relative nginx dir", []string{"--domain", domain, "--email", email, "--nginx-dir", "nginx"}, "--nginx-dir must be an absolute path"},
		{"unknown option", []string{"--domain", domain, "--email", email, "--yes"}, "unknown argument: --yes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sslSandbox(t, "compose")
			before := sb.Snapshot()
			r := sb.Run(setupSSL, tc.args...)
			if r.Code != 2 {
				t.Fatalf("exit %d, want 2 (usage):\n%s", r.Code, r)
			}
			mustContain(t, "stderr", r.Stderr, tc.want, "--help")
			sb.requireUnchanged(before, r)
		})
	}
}

// Without root, a real run stops at once and says why.
func TestSetupSSLRefusesNonRoot(t *testing.T) {
	t.Parallel()
	sb := sslSandbox(t, "compose")
	before := sb.Snapshot()
	r := sb.RunWith(runOpts{AsNobody: os.Geteuid() == 0}, setupSSL, "--domain", domain, "--email", email)
	if r.Code == 0 {
		t.Fatalf("ran without root:\n%s", r)
	}
	mustContain(t, "stderr", r.Stderr, "must be run as root")
	sb.requireUnchanged(before, r)
}

// What a real run must catch before it changes anything, or, for the ACME
// check, before it asks Let's Encrypt (whose failed attempts are rate limited).
func TestSetupSSLStopsBeforeChanging(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	cases := []struct {
		name  string
		mode  string
		setup func(sb *sandbox)
		args  []string
		want  string
	}{
		{"unsupported OS", "compose", func(sb *sandbox) {
			sb.WriteFile("etc/os-release", "ID=centos\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n")
		}, nil, "unsupported OS 'CentOS Linux 7 (Core)'"},
		{"certificates not mounted", "compose", func(sb *sandbox) {
			sb.WriteFile("opt/mealsync/.env", "MEALSYNC_CERTS_DIR=./certs\n")
		}, nil, "set MEALSYNC_CERTS_DIR=/etc/letsencrypt in /opt/mealsync/.env"},
		{"no compose .env", "compose", func(sb *sandbox) {
			os.Remove(filepath.Join(sb.Root, "opt/mealsync/.env"))
		}, nil, "no /opt/mealsync/.env"},
		{"nginx container down", "compose", func(sb *sandbox) {
			sb.WriteState("compose-running", "app\n")
		}, nil, "the nginx service is not running"},
		{"host nginx down", "process", func(sb *sandbox) {
			os.Remove(filepath.Join(sb.Root, "run/nginx.pid"))
		}, nil, "nginx is not running"},
		{"wrong nginx dir", "process", func(*sandbox) {}, []string{"--nginx-dir", "/srv/nowhere"}, "no nginx.conf in /srv/nowhere"},
		{"HTTPS enabled for another domain", "compose", func(sb *sandbox) {
			sb.WriteFile("opt/mealsync/nginx/conf.d/https.conf", "ssl_certificate /etc/letsencrypt/live/old.example.org/fullchain.pem;\n")
		}, nil, "already enabled for another domain"},
		{"ACME path unreachable", "compose", func(sb *sandbox) {
			sb.WriteState("http-unreachable", "")
		}, nil, "does not serve files from /var/www/certbot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sb := sslSandbox(t, tc.mode)
			// certbot is installed, so that nothing at all needs to change first.
			if err := os.Symlink(filepath.Join(repoRoot(t), "test/scripts/testdata/bin/certbot"), filepath.Join(sb.State, "bin/certbot")); err != nil {
				t.Fatal(err)
			}
			tc.setup(sb)
			before := sb.Snapshot()
			args := append([]string{"--domain", domain, "--email", email, "--mode", tc.mode}, tc.args...)
			r := sb.RunWith(runOpts{Apply: true}, setupSSL, args...)
			if r.Code == 0 {
				t.Fatalf("went ahead:\n%s", r)
			}
			mustContain(t, "stderr", r.Stderr, tc.want)
			sb.requireUnchanged(before, r)
		})
	}
}

// When nginx rejects the enabled HTTPS block, the block is removed again and
// nginx is not reloaded: it keeps serving what it served.
func TestSetupSSLUndoesARejectedHTTPSBlock(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sb := sslSandbox(t, "compose")
	sb.WriteState("nginx-rejects", "")
	r := sb.RunWith(runOpts{Apply: true}, setupSSL, "--domain", domain, "--email", email)
	if r.Code == 0 {
		t.Fatalf("went ahead although nginx rejected the config:\n%s", r)
	}
	mustContain(t, "stderr", r.Stderr, "nginx rejected the configuration", "/opt/mealsync/nginx/conf.d/https.conf was removed again")
	if _, err := os.Stat(filepath.Join(sb.Root, "opt/mealsync/nginx/conf.d/https.conf")); !os.IsNotExist(err) {
		t.Errorf("https.conf is still there (%v)", err)
	}
	for _, m := range sb.Mutations() {
		if strings.Contains(m, "reload") {
			t.Errorf("nginx was reloaded: %s", m)
		}
	}
}
