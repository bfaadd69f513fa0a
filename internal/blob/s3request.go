package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// S3 error codes this package acts on.
const (
	codeNoSuchKey    = "NoSuchKey"
	codeNoSuchBucket = "NoSuchBucket"
)

// maxErrorBody bounds how much of an error response is read: S3's are a
// few hundred bytes of XML.
const maxErrorBody = 64 << 10

// newRequest builds an unsigned path-style request for key in the bucket
// ("" for the bucket itself), with body as its payload and the payload's
// SHA-256 in x-amz-content-sha256, which S3 requires on every request.
func (s *S3) newRequest(ctx context.Context, method, key string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.objectURL(key), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	return req, nil
}

// objectURL is the path-style URL of key: scheme://endpoint/bucket/key,
// each segment escaped as S3 escapes it for the signature, so the path
// on the wire and the one signed are the same.
func (s *S3) objectURL(key string) string {
	return s.scheme + "://" + s.endpoint + "/" + escapePath(s.bucket) + "/" + escapePath(key)
}

// escapePath percent-encodes every byte of p except the unreserved
// characters (A-Z a-z 0-9 - . _ ~) and "/": AWS's UriEncode for paths.
// url.PathEscape is not it: it keeps "+", "=", "@" and others that S3
// would encode when it checks the signature.
func escapePath(p string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

// do signs req for the bucket's region and sends it.
func (s *S3) do(req *http.Request) (*http.Response, error) {
	region, err := s.signingRegion(req.Context())
	if err != nil {
		return nil, err
	}
	return s.signAndSend(req, region)
}

// signAndSend signs req with SigV4 for service "s3" in region and sends it.
func (s *S3) signAndSend(req *http.Request, region string) (*http.Response, error) {
	payload := req.Header.Get("X-Amz-Content-Sha256")
	if err := s.signer.SignHTTP(req.Context(), s.creds, req, payload, "s3", region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	return s.client.Do(req)
}

// discard drains a little of resp's body, so the connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

// s3Error is an S3 error response: its status and, when the body is S3's
// XML error document, its code and message. It names no credentials, so it
// is safe to log.
type s3Error struct {
	Status  int    `xml:"-"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	Region  string `xml:"Region"` // the bucket's, on a wrong-region answer
}

func (e *s3Error) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.Status)
	}
	msg := fmt.Sprintf("S3 answered %d %s", e.Status, code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// responseError reads resp's error document. A bare 404 (HEAD has no
// body; proxies send HTML) is taken to mean notFound, the code S3 would
// have sent for this request.
func responseError(resp *http.Response, notFound string) *s3Error {
	e := &s3Error{Status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = xml.Unmarshal(body, e) // not XML: the status alone says what happened
	if e.Code == "" && resp.StatusCode == http.StatusNotFound {
		e.Code = notFound
	}
	return e
}
