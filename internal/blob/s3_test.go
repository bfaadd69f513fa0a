package blob_test

import (
	"context"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

// These run against an in-process fake of the S3 API; see the package
// comment.

func TestS3PutSendsCachingHeaders(t *testing.T) {
	fake := newFakeS3(t)
	s := newS3(t, fake.cfg)
	data := newJPEG(t, 4, 4)
	key := blob.ContentKey(data, "jpg")
	if err := s.Put(context.Background(), key, "image/jpeg", data); err != nil {
		t.Fatal(err)
	}
	h := fake.putHeader(key)
	if h == nil {
		t.Fatalf("no PUT for %s reached the server", key)
	}
	if got := h.Get("Content-Type"); got != "image/jpeg" {
		t.Errorf("Content-Type = %q, want image/jpeg", got)
	}
	if got := h.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control = %q, want the immutable policy", got)
	}
}

func TestS3URL(t *testing.T) {
	key := "recipes/abc.webp"
	tests := []struct {
		name string
		cfg  blob.S3Config
		want string
	}{
		{"cdn", blob.S3Config{PublicBaseURL: "https://cdn.example.com"}, "https://cdn.example.com/recipes/abc.webp"},
		{"cdn with slash", blob.S3Config{PublicBaseURL: "https://cdn.example.com/"}, "https://cdn.example.com/recipes/abc.webp"},
		{"path-style default", blob.S3Config{}, "http://minio:9000/recipe-images/recipes/abc.webp"},
		{"path-style default over TLS", blob.S3Config{UseSSL: true}, "https://minio:9000/recipe-images/recipes/abc.webp"},
	}
	for _, tt := range tests {
		cfg := tt.cfg
		cfg.Endpoint, cfg.Bucket, cfg.AccessKey, cfg.SecretKey = "minio:9000", testBucket, "k", "s"
		if got := newS3(t, cfg).URL(key); got != tt.want {
			t.Errorf("%s: URL = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestS3Check(t *testing.T) {
	fake := newFakeS3(t)
	if err := newS3(t, fake.cfg).Check(context.Background()); err != nil {
		t.Errorf("Check on an existing bucket: %v", err)
	}
	missing := fake.cfg
	missing.Bucket = "no-such-bucket"
	wantCode(t, newS3(t, missing).Check(context.Background()), mealsync.EUNAVAILABLE)
}

// A missing bucket is a misconfiguration, not a missing image.
func TestS3MissingBucketIsUnavailable(t *testing.T) {
	cfg := newFakeS3(t).cfg
	cfg.Bucket = "no-such-bucket"
	s := newS3(t, cfg)
	ctx := context.Background()
	_, _, err := s.Open(ctx, "recipes/a.png")
	wantCode(t, err, mealsync.EUNAVAILABLE)
	if msg := publicMessage(err); msg != "Image storage is unavailable" {
		t.Errorf("message = %q", msg)
	}
	wantCode(t, s.Put(ctx, "recipes/a.png", "image/png", newPNG(t, 1, 1)), mealsync.EUNAVAILABLE)
}

func TestS3ConfigValidate(t *testing.T) {
	good := blob.S3Config{Endpoint: "s3.amazonaws.com", Bucket: "b", AccessKey: "k", SecretKey: "s"}
	if err := good.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	for name, mutate := range map[string]func(*blob.S3Config){
		"no endpoint":          func(c *blob.S3Config) { c.Endpoint = "" },
		"endpoint with scheme": func(c *blob.S3Config) { c.Endpoint = "https://s3.amazonaws.com" },
		"no bucket":            func(c *blob.S3Config) { c.Bucket = "" },
		"no access key":        func(c *blob.S3Config) { c.AccessKey = "" },
		"no secret key":        func(c *blob.S3Config) { c.SecretKey = "" },
	} {
		c := good
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate passed", name)
		}
		if _, err := blob.NewS3(c); err == nil {
			t.Errorf("%s: NewS3 succeeded", name)
		}
	}
}
