package blob_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

// TestStores runs the Store contract against every implementation.
func TestStores(t *testing.T) {
	stores := map[string]func(t *testing.T) blob.Store{
		"local": func(t *testing.T) blob.Store { return newLocal(t) },
		"s3":    func(t *testing.T) blob.Store { return newS3(t, newFakeS3(t).cfg) },
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Run("round trip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
			t.Run("overwrite", func(t *testing.T) { testOverwrite(t, newStore(t)) })
			t.Run("not found", func(t *testing.T) { testNotFound(t, newStore(t)) })
			t.Run("invalid keys", func(t *testing.T) { testInvalidKeys(t, newStore(t)) })
		})
	}
}

// mustRead opens key and returns its bytes and Info.
func mustRead(t *testing.T, s blob.Store, key string) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return data, info
}

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		data        []byte
		contentType string
		ext         string
	}{
		{newPNG(t, 5, 4), "image/png", "png"},
		{newJPEG(t, 5, 4), "image/jpeg", "jpg"},
		{webpLossless, "image/webp", "webp"},
	} {
		key := blob.ContentKey(tc.data, tc.ext)
		before := time.Now().Add(-time.Minute) // S3's Last-Modified has whole seconds
		if err := s.Put(ctx, key, tc.contentType, tc.data); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
		got, info := mustRead(t, s, key)
		if !bytes.Equal(got, tc.data) {
			t.Errorf("%s: read %d bytes, not the %d written", key, len(got), len(tc.data))
		}
		if info.Size != int64(len(tc.data)) || info.ContentType != tc.contentType {
			t.Errorf("%s: Info = %+v, want size %d, type %s", key, info, len(tc.data), tc.contentType)
		}
		if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: ModTime %v is not about now", key, info.ModTime)
		}
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	ctx := context.Background()
	const key = "recipes/cover.png"
	first, second := newPNG(t, 2, 2), newPNG(t, 6, 6)
	if err := s.Put(ctx, key, "image/png", first); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, "image/png", second); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustRead(t, s, key); !bytes.Equal(got, second) {
		t.Error("a second Put did not replace the object")
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	_, _, err := s.Open(context.Background(), blob.ContentKey([]byte("never stored"), "png"))
	wantCode(t, err, mealsync.ENOTFOUND)
	if msg := publicMessage(err); msg != "Image not found" {
		t.Errorf("message = %q, want %q", msg, "Image not found")
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range []string{"../escape.png", "/abs.png", "recipes/../../escape.png", "Recipes/X.png"} {
		wantCode(t, s.Put(ctx, key, "image/png", newPNG(t, 1, 1)), mealsync.EINVALID)
		_, _, err := s.Open(ctx, key)
		wantCode(t, err, mealsync.EINVALID)
	}
}
