package blob_test

import (
	"bytes"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

// Minimal 1x1 WebP files, as browsers' feature tests use them; both decode
// with golang.org/x/image/webp (TestWebPFixturesDecode proves it).
var (
	webpLossless = []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
	webpLossy    = []byte("RIFF\x22\x00\x00\x00WEBPVP8 \x16\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00\x0e\xc0\xfe\x25\xa4\x00\x03\x70\x00\x00\x00\x00")
)

// testImage is a small picture with some colour in it.
func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(40 * x), uint8(60 * y), 200, 255})
		}
	}
	return img
}

func newPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngSized is a real PNG whose header claims w x h: a decompression bomb's
// header, with a valid IHDR checksum so only the size is wrong.
func pngSized(t *testing.T, w, h uint32) []byte {
	t.Helper()
	b := newPNG(t, 2, 2)
	// signature(8) length(4) "IHDR"(4) width(4) height(4) ... crc over type+data
	if string(b[12:16]) != "IHDR" {
		t.Fatal("no IHDR where expected")
	}
	be := func(v uint32, at int) {
		b[at], b[at+1], b[at+2], b[at+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	be(w, 16)
	be(h, 20)
	be(crc32.ChecksumIEEE(b[12:29]), 29)
	return b
}

// jpegSized is a real JPEG whose frame header claims w x h.
func jpegSized(t *testing.T, w, h uint16) []byte {
	t.Helper()
	b := newJPEG(t, 2, 2)
	i := bytes.Index(b, []byte{0xFF, 0xC0}) // SOF0: marker, length(2), precision(1), height(2), width(2)
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	b[i+5], b[i+6] = byte(h>>8), byte(h)
	b[i+7], b[i+8] = byte(w>>8), byte(w)
	return b
}

func newLocal(t *testing.T) *blob.Local {
	t.Helper()
	s, err := blob.NewLocal(t.TempDir()+"/images", "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testBucket = "recipe-images"

// fakeS3 is an in-process fake of the S3 API (S3 itself cannot be reached
// from here) that also records the headers of each object upload, which
// the fake does not keep.
type fakeS3 struct {
	cfg blob.S3Config

	mu   sync.Mutex
	puts map[string]http.Header // by URL path
}

func (f *fakeS3) putHeader(key string) http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.puts["/"+testBucket+"/"+key]
}

func newFakeS3(t *testing.T) *fakeS3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	f := &fakeS3{puts: map[string]http.Header{}}
	api := gofakes3.New(backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			f.mu.Lock()
			f.puts[r.URL.Path] = r.Header.Clone()
			f.mu.Unlock()
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.cfg = blob.S3Config{
		Endpoint:  strings.TrimPrefix(srv.URL, "http://"),
		Region:    "us-east-1",
		Bucket:    testBucket,
		AccessKey: "test-access-key",
		SecretKey: "test-secret-key",
	}
	return f
}

func newS3(t *testing.T, cfg blob.S3Config) *blob.S3 {
	t.Helper()
	s, err := blob.NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantCode fails unless err carries the domain code want.
func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := mealsync.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
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
