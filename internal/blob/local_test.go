package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
)

func TestNewLocalCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "images")
	if _, err := blob.NewLocal(dir, ""); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The umask may only take bits away, never add others' access.
	if !st.IsDir() || st.Mode().Perm()&^0o750 != 0 || st.Mode().Perm()&0o700 != 0o700 {
		t.Errorf("dir mode %v, want 0750 (less the umask)", st.Mode())
	}
}

func TestLocalFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "images")
	s, err := blob.NewLocal(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	data := newPNG(t, 3, 3)
	key := blob.ContentKey(data, "png")
	if err := s.Put(context.Background(), key, "image/png", data); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(key)))
	if err != nil {
		t.Fatalf("the object is not at its key's path: %v", err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v, want 0640", st.Mode().Perm())
	}
	// Atomic writes leave no temporary file behind.
	entries, err := os.ReadDir(filepath.Dir(filepath.Join(dir, filepath.FromSlash(key))))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files beside the object: %v", names)
	}
}

// A failed write leaves neither the object nor its temporary file.
func TestLocalFailedPutLeavesNoTempFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	s, err := blob.NewLocal(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A non-empty directory where the file should go makes the rename fail.
	if err := s.Put(ctx, "recipes/a.png/b.png", "image/png", newPNG(t, 1, 1)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.Put(ctx, "recipes/a.png", "image/png", newPNG(t, 1, 1)), mealsync.EUNAVAILABLE)
	entries, err := os.ReadDir(filepath.Join(dir, "recipes"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "a.png" || !entries[0].IsDir() {
		t.Errorf("recipes/ holds %v, want only the a.png directory", entries)
	}
}

func TestLocalTraversalWritesNothing(t *testing.T) {
	root := t.TempDir()
	s, err := blob.NewLocal(filepath.Join(root, "images"), "")
	if err != nil {
		t.Fatal(err)
	}
	err = s.Put(context.Background(), "../escaped.png", "image/png", newPNG(t, 1, 1))
	wantCode(t, err, mealsync.EINVALID)
	if _, err := os.Stat(filepath.Join(root, "escaped.png")); !os.IsNotExist(err) {
		t.Errorf("a file was written outside the store: %v", err)
	}
}

func TestLocalOpenSeesNoDirectoryOrTempFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	s, err := blob.NewLocal(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "recipes/a.png", "image/png", newPNG(t, 1, 1)); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Open(context.Background(), "recipes")
	wantCode(t, err, mealsync.ENOTFOUND)
}

// Local keeps no metadata: a Content-Type must be the one the key's
// extension implies, or Open would report something else.
func TestLocalPutContentTypeMustMatchKey(t *testing.T) {
	s := newLocal(t)
	ctx := context.Background()
	for _, tc := range []struct{ key, contentType string }{
		{"recipes/a.png", "image/jpeg"},
		{"recipes/a.txt", "text/plain"},
		{"recipes/a", "image/png"},
	} {
		wantCode(t, s.Put(ctx, tc.key, tc.contentType, []byte("x")), mealsync.EINVALID)
	}
}

func TestLocalURL(t *testing.T) {
	key := "recipes/abc.png"
	tests := []struct{ base, want string }{
		{"", "/images/recipes/abc.png"},
		{"https://api.example.com/images", "https://api.example.com/images/recipes/abc.png"},
		{"https://cdn.example.com/img/", "https://cdn.example.com/img/recipes/abc.png"},
	}
	for _, tt := range tests {
		s, err := blob.NewLocal(t.TempDir(), tt.base)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.URL(key); got != tt.want {
			t.Errorf("base %q: URL = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestNewLocalNeedsDir(t *testing.T) {
	if _, err := blob.NewLocal("", ""); err == nil {
		t.Error("NewLocal(\"\") succeeded")
	}
}
