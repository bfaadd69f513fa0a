package edge_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

const domain = "mealsync.test"

// The HTTPS server is ready to enable, the way nginx.conf and README.md say:
// certbot's challenge is served over plain HTTP first; then the disabled file
// is copied into place with the domain filled in, and nginx serves TLS 1.2+
// with HSTS and redirects plain HTTP. Certificates are made here, placed
// where /etc/letsencrypt/live/<domain>/ lands under the test's prefix.
func TestHTTPS(t *testing.T) {
	apps := startApps(t, 1)
	conf := copyDir(t, filepath.Join(testenv.RepoRoot(t), "nginx"))
	challenge := filepath.Join(conf, "var/www/certbot/.well-known/acme-challenge/token-1")
	writeTestFile(t, challenge, "token-1.thumbprint")

	t.Run("before: plain HTTP serves the API and the ACME challenge", func(t *testing.T) {
		n := testenv.StartNginx(t, conf, addrs(apps))
		c := clientFrom(newClientIP(), 1)
		resp, body := do(t, c, "GET", n.URL+"/.well-known/acme-challenge/token-1", nil, nil)
		if resp.StatusCode != 200 || string(body) != "token-1.thumbprint" {
			t.Errorf("ACME challenge: %d %q", resp.StatusCode, body)
		}
		if resp, _ := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, nil); resp.StatusCode != 200 {
			t.Errorf("API over plain HTTP before HTTPS is enabled: %d", resp.StatusCode)
		}
	})

	// Enable: the documented steps.
	disabled := readTestFile(t, filepath.Join(conf, "conf.d/https.conf.disabled"))
	writeTestFile(t, filepath.Join(conf, "conf.d/https.conf"), strings.ReplaceAll(disabled, "example.com", domain))
	pool := writeCertificates(t, filepath.Join(conf, "etc/letsencrypt/live", domain))
	n := testenv.StartNginx(t, conf, addrs(apps))
	httpsURL := fmt.Sprintf("https://127.0.0.1:%d", n.Ports[443])
	tlsClient := func(minV, maxV uint16) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			TLSClientConfig:   &tls.Config{RootCAs: pool, ServerName: domain, MinVersion: minV, MaxVersion: maxV},
		}}
	}

	t.Run("HTTPS serves the API with HSTS", func(t *testing.T) {
		resp, body := do(t, tlsClient(tls.VersionTLS12, 0), "GET", httpsURL+"/api/v1/recipes?limit=1", nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET over HTTPS: %d %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=63072000" {
			t.Errorf("Strict-Transport-Security = %q", got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Error("security headers missing over HTTPS")
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("protocol %s, want HTTP/2", resp.Proto)
		}
		t.Logf("negotiated %s, %s", tls.VersionName(resp.TLS.Version), tls.CipherSuiteName(resp.TLS.CipherSuite))
		if resp, _ := do(t, tlsClient(tls.VersionTLS12, 0), "GET", httpsURL+"/actuator/prometheus", nil, nil); resp.StatusCode != 404 {
			t.Errorf("/actuator/prometheus over HTTPS: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("TLS 1.2 with a forward-secret AEAD suite", func(t *testing.T) {
		resp, _ := do(t, tlsClient(tls.VersionTLS12, tls.VersionTLS12), "GET", httpsURL+"/nginx-health", nil, nil)
		if resp.TLS.Version != tls.VersionTLS12 || !strings.HasPrefix(tls.CipherSuiteName(resp.TLS.CipherSuite), "TLS_ECDHE_") {
			t.Errorf("TLS 1.2 client: %s with %s", tls.VersionName(resp.TLS.Version), tls.CipherSuiteName(resp.TLS.CipherSuite))
		}
		c := tlsClient(tls.VersionTLS12, tls.VersionTLS12)
		c.Transport.(*http.Transport).TLSClientConfig.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		if _, err := c.Get(httpsURL + "/nginx-health"); err == nil {
			t.Error("a client offering only a CBC suite was served")
		}
	})

	t.Run("TLS 1.1 and older are refused", func(t *testing.T) {
		_, err := tlsClient(tls.VersionTLS10, tls.VersionTLS11).Get(httpsURL + "/nginx-health")
		if err == nil {
			t.Fatal("a TLS 1.1 client was served")
		}
	})

	t.Run("plain HTTP redirects, except ACME and the health check", func(t *testing.T) {
		c := clientFrom(newClientIP(), 1)
		for _, host := range []string{domain, "127.0.0.1"} {
			resp, _ := do(t, c, "GET", n.URL+"/api/v1/recipes?limit=1", nil, map[string]string{"Host": host})
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently ||
				loc != "https://"+domain+"/api/v1/recipes?limit=1" {
				t.Errorf("Host %s: %d Location %q, want 301 to https://%s/...", host, resp.StatusCode, loc, domain)
			}
		}
		resp, body := do(t, c, "GET", n.URL+"/.well-known/acme-challenge/token-1", nil, map[string]string{"Host": domain})
		if resp.StatusCode != 200 || string(body) != "token-1.thumbprint" {
			t.Errorf("ACME challenge: %d %q", resp.StatusCode, body)
		}
		if resp, _ := do(t, c, "GET", n.URL+"/nginx-health", nil, nil); resp.StatusCode != 200 {
			t.Errorf("/nginx-health on port 80: %d", resp.StatusCode)
		}
	})
}

// writeCertificates makes a CA and a certificate for domain signed by it,
// written as certbot lays them out; it returns a pool trusting the CA.
func writeCertificates(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER := must(x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey))
	ca := must(x509.ParseCertificate(caDER))
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	leafDER := must(x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey))
	certPEM := func(der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))}))
	writeTestFile(t, filepath.Join(dir, "fullchain.pem"), certPEM(leafDER)+certPEM(caDER))
	writeTestFile(t, filepath.Join(dir, "chain.pem"), certPEM(caDER))
	writeTestFile(t, filepath.Join(dir, "privkey.pem"), keyPEM)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "nginx")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeTestFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
