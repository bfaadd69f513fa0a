package blob

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mealsync/mealsync"
)

// Every call the store makes is signed so that S3 would accept it: the
// server checks each signature with the secret.
func TestS3SignsEveryRequest(t *testing.T) {
	for _, tt := range []struct{ configured, signedFor string }{
		{"eu-central-1", "eu-central-1"},
		{"", "us-east-1"}, // gofakes3 answers GetBucketLocation with "", S3's us-east-1
	} {
		t.Run("region "+strconv.Quote(tt.configured), func(t *testing.T) {
			backend := s3mem.New()
			if err := backend.CreateBucket(stubBucket); err != nil {
				t.Fatal(err)
			}
			srv := newSigningServer(t, gofakes3.New(backend).Server())
			s := newStubS3(t, srv.URL, tt.configured)
			ctx := t.Context()
			data := []byte("\x89PNG not really")
			const key = "recipes/cover.png"

			if err := s.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if err := s.Put(ctx, key, "image/png", data); err != nil {
				t.Fatalf("Put: %v", err)
			}
			rc, _, err := s.Open(ctx, key)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			rc.Close()
			_, _, err = s.Open(ctx, "recipes/missing.png")
			if mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
				t.Fatalf("Open(missing) = %v, want ENOTFOUND", err)
			}

			var put *seenRequest
			seen := srv.requests()
			for i, r := range seen {
				want := tt.signedFor
				if r.URI == "/"+stubBucket+"/?location=" {
					want = "us-east-1" // AWS wants GetBucketLocation signed so
				}
				if r.Region != want {
					t.Errorf("%s %s signed for %q, want %q", r.Method, r.URI, r.Region, want)
				}
				if r.Method == http.MethodPut {
					put = &seen[i]
				}
			}
			if want := 4; tt.configured == "" {
				want++ // the lookup
				if len(seen) != want {
					t.Errorf("%d requests, want %d: Check, Put, two Opens and one region lookup", len(seen), want)
				}
			} else if len(seen) != want {
				t.Errorf("%d requests, want %d: Check, Put and two Opens", len(seen), want)
			}
			if put == nil {
				t.Fatal("no PUT reached the server")
			}
			sum := sha256.Sum256(data)
			for h, want := range map[string]string{
				"Content-Length":       strconv.Itoa(len(data)),
				"Content-Type":         "image/png",
				"Cache-Control":        "public, max-age=31536000, immutable",
				"X-Amz-Content-Sha256": hex.EncodeToString(sum[:]),
			} {
				if got := put.Header.Get(h); got != want {
					t.Errorf("PUT %s = %q, want %q", h, got, want)
				}
			}
			if !bytes.Equal(put.Body, data) {
				t.Error("PUT body is not the data")
			}
			if auth := put.Header.Get("Authorization"); !strings.Contains(auth, "content-type") || !strings.Contains(auth, "cache-control") {
				t.Errorf("PUT does not sign Content-Type and Cache-Control: %s", auth)
			}
		})
	}
}

// Keys from ContentKey are plain, but the request path must stay right for
// any key S3 allows: escaped once, as S3 escapes it to check the signature.
func TestS3EscapesKeySegments(t *testing.T) {
	srv := newSigningServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s := newStubS3(t, srv.URL, "us-east-1")
	for _, tt := range []struct{ key, path string }{
		{"recipes/abc.png", "recipes/abc.png"},
		{"recipes/a b.png", "recipes/a%20b.png"},
		{"recipes/küche/crème brûlée.jpg", "recipes/k%C3%BCche/cr%C3%A8me%20br%C3%BBl%C3%A9e.jpg"},
		{"recipes/日本.webp", "recipes/%E6%97%A5%E6%9C%AC.webp"},
		{"a+b=c@d,e;f:g$h&i'j(k)l!m*n", "a%2Bb%3Dc%40d%2Ce%3Bf%3Ag%24h%26i%27j%28k%29l%21m%2An"},
		{"100%.png", "100%25.png"},
		{"what?#frag", "what%3F%23frag"},
		{"Upper_Case~tilde-dash.dot", "Upper_Case~tilde-dash.dot"},
	} {
		req, err := s.newRequest(t.Context(), http.MethodGet, tt.key, nil)
		if err != nil {
			t.Fatalf("%q: %v", tt.key, err)
		}
		resp, err := s.do(req)
		if err != nil {
			t.Fatalf("%q: %v", tt.key, err)
		}
		discard(resp)
		seen := srv.requests()
		got := seen[len(seen)-1]
		if want := "/" + stubBucket + "/" + tt.path; got.URI != want {
			t.Errorf("key %q sent as %s, want %s", tt.key, got.URI, want)
		}
		if want := "/" + stubBucket + "/" + tt.key; got.Path != want {
			t.Errorf("key %q arrived as %q", tt.key, got.Path)
		}
	}
}

func TestS3ErrorMapping(t *testing.T) {
	xmlError := func(code string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>details for ` + code + `</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>`
	}
	for _, tt := range []struct {
		name   string
		status int
		body   string
		open   string // Open's error code
		check  string // Check's error code (HEAD has no body)
		inLog  string // what Open's logged error names, when unavailable
	}{
		{"no such key", 404, xmlError("NoSuchKey"), mealsync.ENOTFOUND, mealsync.EUNAVAILABLE, ""},
		{"bare 404", 404, "", mealsync.ENOTFOUND, mealsync.EUNAVAILABLE, ""},
		{"no such bucket", 404, xmlError("NoSuchBucket"), mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "NoSuchBucket"},
		{"access denied", 403, xmlError("AccessDenied"), mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "AccessDenied"},
		{"bad signature", 403, xmlError("SignatureDoesNotMatch"), mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "SignatureDoesNotMatch"},
		{"bare 403", 403, "", mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "403 Forbidden"},
		{"wrong endpoint", 301, xmlError("PermanentRedirect"), mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "PermanentRedirect"},
		{"server error", 500, xmlError("InternalError"), mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "InternalError"},
		{"proxy page", 502, "<html><body>Bad Gateway</body></html>", mealsync.EUNAVAILABLE, mealsync.EUNAVAILABLE, "502 Bad Gateway"},
		{"fine", 200, "", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newSigningServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == http.StatusMovedPermanently {
					w.Header().Set("Location", "/moved"+r.URL.Path)
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.status)
				if r.Method != http.MethodHead {
					io.WriteString(w, tt.body)
				}
			}))
			s := newStubS3(t, srv.URL, "us-east-1")
			ctx := t.Context()

			rc, _, err := s.Open(ctx, "recipes/a.png")
			if rc != nil {
				rc.Close()
			}
			if got := mealsync.ErrorCode(err); got != tt.open {
				t.Errorf("Open: code %q (%v), want %q", got, err, tt.open)
			}
			if err != nil && !strings.Contains(err.Error(), tt.inLog) {
				t.Errorf("Open: error %q does not name %q", err, tt.inLog)
			}
			err = s.Check(ctx)
			if got := mealsync.ErrorCode(err); got != tt.check {
				t.Errorf("Check: code %q (%v), want %q", got, err, tt.check)
			}
			if tt.status != http.StatusOK {
				// Every failure but a missing key is, to clients, just this.
				err = s.Put(ctx, "recipes/a.png", "image/png", []byte("x"))
				if got := mealsync.ErrorCode(err); got != mealsync.EUNAVAILABLE {
					t.Errorf("Put: code %q (%v), want unavailable", got, err)
				}
				if got := publicMessage(err); got != "Image storage is unavailable" {
					t.Errorf("Put: message %q", got)
				}
			}
			for _, r := range srv.requests() {
				if strings.HasPrefix(r.URI, "/moved") {
					t.Errorf("followed a redirect: %s %s", r.Method, r.URI)
				}
			}
		})
	}
}

// A store that cannot be reached is unavailable, and the error says why
// without the secret in it.
func TestS3UnreachableIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := strings.TrimPrefix(srv.URL, "http://")
	srv.Close() // nothing listens there now
	// With no region configured, the failure comes from the region lookup.
	for _, region := range []string{"us-east-1", ""} {
		s := newStubS3(t, endpoint, region)
		ctx := t.Context()
		_, _, openErr := s.Open(ctx, "recipes/a.png")
		for name, err := range map[string]error{
			"Check": s.Check(ctx),
			"Put":   s.Put(ctx, "recipes/a.png", "image/png", []byte("x")),
			"Open":  openErr,
		} {
			if got := mealsync.ErrorCode(err); got != mealsync.EUNAVAILABLE {
				t.Errorf("region %q: %s: code %q (%v), want unavailable", region, name, got, err)
			}
			if err != nil && strings.Contains(err.Error(), stubSecretKey) {
				t.Errorf("region %q: %s: error shows the secret key", region, name)
			}
		}
	}
}

// publicMessage is what a client would be shown for err.
func publicMessage(err error) string {
	var e *mealsync.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// Info.Size is the stored object's length even when something in front of
// the bucket would gzip the answer for a client that accepts it.
func TestS3OpenReportsStoredSize(t *testing.T) {
	data := bytes.Repeat([]byte("compressible "), 100)
	srv := newSigningServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(data)
			zw.Close()
			return
		}
		w.Write(data)
	}))
	rc, info, err := newStubS3(t, srv.URL, "us-east-1").Open(t.Context(), "recipes/a.png")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Errorf("Size %d and %d bytes read, want %d", info.Size, len(got), len(data))
	}
}
