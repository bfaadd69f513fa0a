package monitoring_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// mailServer plays the SMTP relay alertmanager.yml sends through: a real
// SMTP server (go-smtp) on loopback that, like a relay with
// smtp_require_tls, offers AUTH only after STARTTLS and takes mail only from
// a client that logged in with the expected account. It keeps every message
// it accepted.
type mailServer struct {
	Addr   string // host:port, for smtp_smarthost
	CAFile string // PEM certificate to trust, for tls_config.ca_file

	user, password string

	mu       sync.Mutex
	got      []email
	rejected []string // failed logins, to show when a wait times out
}

// email is one accepted message.
type email struct {
	From    string   // envelope sender
	To      []string // envelope recipients
	Subject string
	Text    string // the text/plain part
	HTML    string // the text/html part
}

func (e email) String() string {
	return fmt.Sprintf("from %s to %v: %q\n%s", e.From, e.To, e.Subject, e.Text)
}

// startMailServer starts a mailServer that accepts the login user/password
// and stops it when the test ends.
func startMailServer(t *testing.T, dir, user, password string) *mailServer {
	t.Helper()
	cert, caFile := selfSignedCert(t, dir)
	m := &mailServer{CAFile: caFile, user: user, password: password}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{server: m, conn: c}, nil
	}))
	s.Domain = "127.0.0.1"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.ReadTimeout, s.WriteTimeout = 30*time.Second, 30*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return m
}

// all returns the messages accepted for the recipient to.
func (m *mailServer) all(to string) []email {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []email
	for _, e := range m.got {
		for _, r := range e.To {
			if r == to {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// waitFor waits until a message to the recipient matches, and returns it.
func (m *mailServer) waitFor(t *testing.T, timeout time.Duration, to, what string, match func(email) bool) email {
	t.Helper()
	var found email
	waitFor(t, timeout, what+" by e-mail", func() (bool, string) {
		all := m.all(to)
		for _, e := range all {
			if match(e) {
				found = e
				return true, ""
			}
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		return false, fmt.Sprintf("mail to %s: %v; failed logins: %v", to, all, m.rejected)
	})
	return found
}

type mailSession struct {
	server   *mailServer
	conn     *smtp.Conn
	loggedIn bool
	from     string
	to       []string
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != s.server.user || password != s.server.password {
			s.server.mu.Lock()
			s.server.rejected = append(s.server.rejected, fmt.Sprintf("%s/%d-byte password", user, len(password)))
			s.server.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		s.loggedIn = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.loggedIn {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.loggedIn {
		return smtp.ErrAuthRequired
	}
	s.to = append(s.to, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	if _, tlsOn := s.conn.TLSConnectionState(); !s.loggedIn || !tlsOn {
		return smtp.ErrAuthRequired
	}
	e, err := parseEmail(r)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	e.From, e.To = s.from, append([]string(nil), s.to...)
	s.server.mu.Lock()
	s.server.got = append(s.server.got, e)
	s.server.mu.Unlock()
	return nil
}

func (s *mailSession) Reset() { s.from, s.to = "", nil }

func (s *mailSession) Logout() error { return nil }

// parseEmail reads a MIME message as Alertmanager writes it: a
// multipart/alternative body of text and HTML, quoted-printable.
func parseEmail(r io.Reader) (email, error) {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return email{}, err
	}
	var e email
	if e.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return email{}, fmt.Errorf("subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		return email{}, fmt.Errorf("content type %q (%v), want multipart", msg.Header.Get("Content-Type"), err)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := parts.NextPart() // undoes quoted-printable itself
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return email{}, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return email{}, err
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			e.Text = string(b)
		case "text/html":
			e.HTML = string(b)
		}
	}
	return e, nil
}

// selfSignedCert makes a certificate for 127.0.0.1 and writes it, as the
// CA to trust, to dir.
func selfSignedCert(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mail relay of the monitoring test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "smtp-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}
