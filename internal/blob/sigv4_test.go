package blob

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests are inside the package: they reach the request builder to
// send keys ValidateKey would refuse, and they check signatures with the
// secret. gofakes3 checks no signature, so checkSigV4 does, written from
// AWS's SigV4 documentation rather than with the SDK's signer, the way an
// S3 server does it: from the decoded path it received.

const (
	stubBucket    = "recipe-images"
	stubAccessKey = "stub-access-key"
	stubSecretKey = "stub-secret-key/with+symbols="
)

var authorization = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

// checkSigV4 verifies r's Authorization header for secret and returns the
// region it was signed for.
func checkSigV4(r *http.Request, body []byte, accessKey, secret string) (region string, err error) {
	m := authorization.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", errors.New("no SigV4 Authorization header for service s3")
	}
	day, region, signedHeaders := m[2], m[3], m[4]
	if m[1] != accessKey {
		return "", errors.New("wrong access key")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, day) {
		return "", fmt.Errorf("x-amz-date %q does not match credential day %s", amzDate, day)
	}
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		return "", fmt.Errorf("x-amz-date %s is not now", amzDate)
	}
	sum := sha256.Sum256(body)
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload != hex.EncodeToString(sum[:]) {
		return "", fmt.Errorf("x-amz-content-sha256 %q is not the body's SHA-256", payload)
	}
	signed := strings.Split(signedHeaders, ";")
	for _, h := range []string{"host", "x-amz-content-sha256", "x-amz-date"} {
		if !slices.Contains(signed, h) {
			return "", fmt.Errorf("%s is not signed (SignedHeaders=%s)", h, signedHeaders)
		}
	}

	var headers strings.Builder
	for _, h := range signed {
		values := r.Header.Values(h)
		if h == "host" {
			values = []string{r.Host}
		}
		for i, v := range values {
			values[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(h + ":" + strings.Join(values, ",") + "\n")
	}
	segments := strings.Split(r.URL.Path, "/")
	for i, seg := range segments {
		segments[i] = uriEncode(seg)
	}
	var query []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			query = append(query, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(query)
	canonical := strings.Join([]string{
		r.Method, strings.Join(segments, "/"), strings.Join(query, "&"),
		headers.String(), signedHeaders, payload,
	}, "\n")
	scope := day + "/" + region + "/s3/aws4_request"
	hashed := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(hashed[:])

	key := []byte("AWS4" + secret)
	for _, part := range []string{day, region, "s3", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	if want := hex.EncodeToString(hmacSHA256(key, toSign)); !hmac.Equal([]byte(want), []byte(m[5])) {
		return "", errors.New("signature does not match")
	}
	return region, nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// uriEncode is SigV4's UriEncode: every byte but A-Z a-z 0-9 - . _ ~ as %XX.
func uriEncode(s string) string {
	const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	var b strings.Builder
	for _, c := range []byte(s) {
		if strings.IndexByte(unreserved, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// seenRequest is one request a signingServer received.
type seenRequest struct {
	Method string
	URI    string // as sent: escaped path and query
	Path   string // decoded
	Region string // signed for
	Header http.Header
	Body   []byte
}

// signingServer stands in for S3: it fails the test on any request whose
// signature does not verify, records every request, and lets answer reply.
type signingServer struct {
	URL string // host:port

	mu   sync.Mutex
	seen []seenRequest
}

func newSigningServer(t *testing.T, answer http.Handler) *signingServer {
	t.Helper()
	s := &signingServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("%s %s: read body: %v", r.Method, r.RequestURI, err)
		}
		region, err := checkSigV4(r, body, stubAccessKey, stubSecretKey)
		if err != nil {
			t.Errorf("%s %s: %v", r.Method, r.RequestURI, err)
		}
		s.mu.Lock()
		s.seen = append(s.seen, seenRequest{r.Method, r.RequestURI, r.URL.Path, region, r.Header.Clone(), body})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		answer.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = strings.TrimPrefix(srv.URL, "http://")
	return s
}

// requests returns what the server has received so far.
func (s *signingServer) requests() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// newStubS3 is an S3 store for the stub bucket on endpoint, signing for
// region ("" to ask the bucket).
func newStubS3(t *testing.T, endpoint, region string) *S3 {
	t.Helper()
	s, err := NewS3(S3Config{
		Endpoint: endpoint, Region: region, Bucket: stubBucket,
		AccessKey: stubAccessKey, SecretKey: stubSecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The checker must refuse what S3 would refuse, or the tests that rely on
// it prove nothing.
func TestCheckSigV4RefusesBadSignatures(t *testing.T) {
	s := newStubS3(t, "s3.example.com", "eu-central-1")
	body := []byte("image bytes")
	sign := func() *http.Request {
		req, err := s.newRequest(t.Context(), http.MethodPut, "recipes/a b.png", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "image/png")
		if err := s.signer.SignHTTP(t.Context(), s.creds, req, req.Header.Get("X-Amz-Content-Sha256"), "s3", "eu-central-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		// What a server sees: Host out of the headers, Content-Length in.
		req.Host = req.URL.Host
		req.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return req
	}
	if region, err := checkSigV4(sign(), body, stubAccessKey, stubSecretKey); err != nil || region != "eu-central-1" {
		t.Fatalf("a good signature: region %q, %v", region, err)
	}
	for name, spoil := range map[string]func(r *http.Request, body *[]byte, secret *string){
		"wrong secret":         func(_ *http.Request, _ *[]byte, secret *string) { *secret = "another-secret" },
		"other body":           func(_ *http.Request, body *[]byte, _ *string) { *body = []byte("other bytes") },
		"other path":           func(r *http.Request, _ *[]byte, _ *string) { r.URL.Path = "/recipe-images/recipes/a%20b.png" },
		"signed header edited": func(r *http.Request, _ *[]byte, _ *string) { r.Header.Set("Content-Type", "text/html") },
		"other host":           func(r *http.Request, _ *[]byte, _ *string) { r.Host = "evil.example.com" },
		"no authorization":     func(r *http.Request, _ *[]byte, _ *string) { r.Header.Del("Authorization") },
	} {
		req, b, secret := sign(), body, stubSecretKey
		spoil(req, &b, &secret)
		if _, err := checkSigV4(req, b, stubAccessKey, secret); err == nil {
			t.Errorf("%s: checkSigV4 accepted it", name)
		}
	}
}
