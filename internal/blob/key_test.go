package blob_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

func TestValidateKey(t *testing.T) {
	valid := []string{
		"recipes/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.png",
		"a",
		"a/b-c/d.e.f",
		strings.Repeat("a", 1024),
	}
	for _, key := range valid {
		if err := blob.ValidateKey(key); err != nil {
			t.Errorf("ValidateKey(%q) = %v, want nil", key, err)
		}
	}
	invalid := []string{
		"",
		"/recipes/a.jpg",           // leading slash
		"../etc/passwd",            // traversal
		"recipes/../../etc/passwd", // traversal in the middle
		"recipes/..",
		"recipes/a..jpg", // ".." anywhere
		"recipes/.hidden",
		"./recipes/a.jpg",
		"recipes/./a.jpg",
		"recipes//a.jpg",
		"recipes/a.jpg/",
		"Recipes/A.JPG", // upper case
		"recipes/a b.jpg",
		`recipes\a.jpg`,
		"recipes/%2e%2e/a.jpg",
		"recipes/ä.jpg",
		"recipes/a.jpg\x00",
		strings.Repeat("a", 1025),
	}
	for _, key := range invalid {
		err := blob.ValidateKey(key)
		if mealsync.ErrorCode(err) != mealsync.EINVALID {
			t.Errorf("ValidateKey(%q) = %v, want EINVALID", key, err)
		}
	}
}

func TestContentKey(t *testing.T) {
	// sha256("abc") is a published test vector.
	const want = "recipes/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.png"
	if got := blob.ContentKey([]byte("abc"), "png"); got != want {
		t.Errorf("ContentKey(abc, png) = %q, want %q", got, want)
	}
	if got := blob.ContentKey([]byte("abc"), ".png"); got != want {
		t.Errorf("ContentKey(abc, .png) = %q, want %q", got, want)
	}
	if a, b := blob.ContentKey([]byte("abc"), "png"), blob.ContentKey([]byte("abd"), "png"); a == b {
		t.Errorf("different content, same key %q", a)
	}
	img := newPNG(t, 3, 3)
	k1, k2 := blob.ContentKey(img, "png"), blob.ContentKey(append([]byte(nil), img...), "png")
	if k1 != k2 {
		t.Errorf("same content, keys %q and %q", k1, k2)
	}
	if !regexp.MustCompile(`^recipes/[0-9a-f]{64}\.png$`).MatchString(k1) {
		t.Errorf("key %q is not recipes/<sha256>.png", k1)
	}
	if err := blob.ValidateKey(k1); err != nil {
		t.Errorf("ContentKey made an invalid key: %v", err)
	}
}

// Only the exact URL of a content-addressed image in the store counts as
// the store's: the rule that keeps recipes from pointing anywhere else.
func TestIsStoreURL(t *testing.T) {
	const hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	local, err := blob.NewLocal(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	cdn, err := blob.NewLocal(t.TempDir(), "https://cdn.example.com/mealsync/")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		store blob.Store
		url   string
		want  bool
	}{
		{local, "/images/recipes/" + hash + ".png", true},
		{local, "/images/recipes/" + hash + ".webp", true},
		{cdn, "https://cdn.example.com/mealsync/recipes/" + hash + ".jpg", true},
		{local, local.URL(blob.ContentKey([]byte("any bytes"), "jpg")), true},

		{local, "https://cdn.example.com/mealsync/recipes/" + hash + ".jpg", false}, // another store
		{cdn, "/images/recipes/" + hash + ".jpg", false},
		{cdn, "http://cdn.example.com/mealsync/recipes/" + hash + ".jpg", false}, // another scheme
		{cdn, "https://cdn.example.com.evil.example/mealsync/recipes/" + hash + ".jpg", false},
		{cdn, "https://cdn.example.com/mealsync-other/recipes/" + hash + ".jpg", false},
		{local, "/images/recipes/" + hash + ".png?x=1", false},
		{local, "/images/recipes/" + hash + ".png#x", false},
		{local, "/images/recipes/../recipes/" + hash + ".png", false},
		{local, "/images/recipes/%2e%2e/" + hash + ".png", false},
		{local, "/images/other/" + hash + ".png", false},
		{local, "/images/recipes/sub/" + hash + ".png", false},
		{local, "/images/recipes/" + hash[:63] + ".png", false}, // not a SHA-256
		{local, "/images/recipes/" + strings.ToUpper(hash) + ".png", false},
		{local, "/images/recipes/" + hash + ".png.html", false},
		{local, "/images/recipes/" + hash, false},
		{local, "/images/", false},
		{local, "", false},
	}
	for _, tt := range tests {
		if got := blob.IsStoreURL(tt.store, tt.url); got != tt.want {
			t.Errorf("IsStoreURL(%s, %q) = %v, want %v", tt.store.URL(""), tt.url, got, tt.want)
		}
	}
}
