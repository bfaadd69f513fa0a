package blob_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

// serve mounts the handler the way routes.go is meant to.
func serve(store blob.Store, fail blob.FailFunc) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /images/{key...}", blob.Handler(store, fail))
	return mux
}

func do(t *testing.T, h http.Handler, method, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putImage stores a real PNG under its content key and returns the key,
// its hash part and the bytes.
func putImage(t *testing.T, s blob.Store) (key, hash string, data []byte) {
	t.Helper()
	data = newPNG(t, 7, 5)
	key = blob.ContentKey(data, "png")
	if err := s.Put(context.Background(), key, "image/png", data); err != nil {
		t.Fatal(err)
	}
	return key, strings.TrimSuffix(strings.TrimPrefix(key, "recipes/"), ".png"), data
}

func TestHandlerServesImage(t *testing.T) {
	s := newLocal(t)
	key, hash, data := putImage(t, s)
	resp := do(t, serve(s, nil), http.MethodGet, "/images/"+key, nil)

	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := body(t, resp); !bytes.Equal(got, data) {
		t.Errorf("body is %d bytes, not the %d stored", len(got), len(data))
	}
	want := map[string]string{
		"Content-Type":           "image/png",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"ETag":                   `"` + hash + `"`,
		"X-Content-Type-Options": "nosniff",
		"Content-Length":         strconv.Itoa(len(data)),
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if resp.Header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified")
	}
}

func TestHandlerNotModified(t *testing.T) {
	s := newLocal(t)
	key, hash, _ := putImage(t, s)
	h := serve(s, nil)
	for _, inm := range []string{`"` + hash + `"`, `"other", "` + hash + `"`, `W/"` + hash + `"`, "*"} {
		resp := do(t, h, http.MethodGet, "/images/"+key, map[string]string{"If-None-Match": inm})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match %s: status %d, want 304", inm, resp.StatusCode)
		}
		if len(body(t, resp)) != 0 {
			t.Errorf("If-None-Match %s: a 304 with a body", inm)
		}
		if resp.Header.Get("ETag") != `"`+hash+`"` || resp.Header.Get("Cache-Control") == "" {
			t.Errorf("If-None-Match %s: 304 lacks ETag or Cache-Control: %v", inm, resp.Header)
		}
	}
	resp := do(t, h, http.MethodGet, "/images/"+key, map[string]string{"If-None-Match": `"stale"`})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a stale If-None-Match: status %d, want 200", resp.StatusCode)
	}
}

func TestHandlerHead(t *testing.T) {
	s := newLocal(t)
	key, hash, data := putImage(t, s)
	resp := do(t, serve(s, nil), http.MethodHead, "/images/"+key, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if len(body(t, resp)) != 0 {
		t.Error("HEAD returned a body")
	}
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) || resp.Header.Get("ETag") != `"`+hash+`"` ||
		resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("HEAD headers: %v", resp.Header)
	}
}

func TestHandlerRange(t *testing.T) {
	s := newLocal(t)
	key, _, data := putImage(t, s)
	resp := do(t, serve(s, nil), http.MethodGet, "/images/"+key, map[string]string{"Range": "bytes=0-7"})
	if resp.StatusCode != http.StatusPartialContent {
		t.Fatalf("status %d, want 206", resp.StatusCode)
	}
	if got := body(t, resp); !bytes.Equal(got, data[:8]) {
		t.Errorf("range body %q, want %q", got, data[:8])
	}
}

// The fail function the HTTP layer passes gets a domain error it can turn
// into its JSON envelope: here, the same shape.
func TestHandlerNotFoundGoesToFail(t *testing.T) {
	var failed error
	fail := func(w http.ResponseWriter, r *http.Request, err error) {
		failed = err
		var e *mealsync.Error
		errors.As(err, &e)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]any{"data": nil, "errors": []map[string]string{{"field": "Resource", "message": e.Message}}})
	}
	h := serve(newLocal(t), fail)
	for _, path := range []string{
		"/images/" + blob.ContentKey([]byte("never stored"), "png"), // missing
		"/images/recipes/NOT-A-KEY.png",                             // could name nothing
	} {
		failed = nil
		resp := do(t, h, http.MethodGet, path, nil)
		wantCode(t, failed, mealsync.ENOTFOUND)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d, type %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		const want = `{"data":null,"errors":[{"field":"Resource","message":"Image not found"}]}`
		if got := strings.TrimSpace(string(body(t, resp))); got != want {
			t.Errorf("%s: body %s, want %s", path, got, want)
		}
		if resp.Header.Get("Cache-Control") == blob.CacheControl {
			t.Errorf("%s: a 404 is cacheable forever", path)
		}
	}
}

func TestHandlerPlainErrors(t *testing.T) {
	h := serve(newLocal(t), nil)
	resp := do(t, h, http.MethodGet, "/images/recipes/missing.png", nil)
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("missing: status %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	down := serve(brokenStore{}, nil)
	resp = do(t, down, http.MethodGet, "/images/recipes/a.png", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("storage down: status %d, want 503", resp.StatusCode)
	}
}

// An image that is not content-addressed may change, so no strong ETag is
// promised for it.
func TestHandlerNoETagForPlainKeys(t *testing.T) {
	s := newLocal(t)
	for _, key := range []string{"recipes/cover.png", "recipes/cafe.png"} {
		if err := s.Put(context.Background(), key, "image/png", newPNG(t, 2, 2)); err != nil {
			t.Fatal(err)
		}
		resp := do(t, serve(s, nil), http.MethodGet, "/images/"+key, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != "" {
			t.Errorf("%s: status %d, ETag %q; want 200 and none", key, resp.StatusCode, resp.Header.Get("ETag"))
		}
	}
}

// The Content-Type comes from the store, never from sniffing the bytes.
func TestHandlerContentTypeFromInfo(t *testing.T) {
	store := memStore{data: []byte("<html><script>alert(1)</script>"), info: blob.Info{ContentType: "image/webp"}}
	resp := do(t, serve(store, nil), http.MethodGet, "/images/recipes/a.webp", nil)
	if got := resp.Header.Get("Content-Type"); got != "image/webp" {
		t.Errorf("Content-Type = %q, want the store's image/webp", got)
	}
	store.info.ContentType = ""
	resp = do(t, serve(store, nil), http.MethodGet, "/images/recipes/a.webp", nil)
	if got := resp.Header.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("no stored type: Content-Type = %q, want application/octet-stream", got)
	}
}

// S3's reader does not seek; the handler still serves it whole, in ranges
// and to HEAD.
func TestHandlerFromS3(t *testing.T) {
	s := newS3(t, newFakeS3(t).cfg)
	key, hash, data := putImage(t, s)
	h := serve(s, nil)

	resp := do(t, h, http.MethodGet, "/images/"+key, nil)
	if got := body(t, resp); resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("status %d, %d bytes; want 200 and the %d stored", resp.StatusCode, len(got), len(data))
	}
	if resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
		t.Errorf("headers: %v", resp.Header)
	}
	resp = do(t, h, http.MethodGet, "/images/"+key, map[string]string{"If-None-Match": `"` + hash + `"`})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
	resp = do(t, h, http.MethodGet, "/images/"+key, map[string]string{"Range": "bytes=1-3"})
	if got := body(t, resp); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[1:4]) {
		t.Errorf("range: status %d, body %q", resp.StatusCode, got)
	}
	resp = do(t, h, http.MethodHead, "/images/"+key, nil)
	if resp.StatusCode != http.StatusOK || len(body(t, resp)) != 0 {
		t.Errorf("HEAD: status %d", resp.StatusCode)
	}
}

// memStore serves one object, through a reader that cannot seek.
type memStore struct {
	data []byte
	info blob.Info
}

func (memStore) Put(context.Context, string, string, []byte) error { return nil }
func (memStore) URL(key string) string                             { return key }
func (m memStore) Open(context.Context, string) (io.ReadCloser, blob.Info, error) {
	m.info.Size = int64(len(m.data))
	return io.NopCloser(bytes.NewReader(m.data)), m.info, nil
}

type brokenStore struct{}

func (brokenStore) Put(context.Context, string, string, []byte) error { return nil }
func (brokenStore) URL(key string) string                             { return key }
func (brokenStore) Open(context.Context, string) (io.ReadCloser, blob.Info, error) {
	return nil, blob.Info{}, mealsync.Errorf(mealsync.EUNAVAILABLE, "Image storage is unavailable")
}
