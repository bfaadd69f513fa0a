package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", "jwt-signing-key")
	key, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first call = %v, %v; want a new key", created, err)
	}
	if len(key) < MinKeyBytes {
		t.Fatalf("key of %d bytes, want at least %d", len(key), MinKeyBytes)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Fatalf("folder mode = %v (%v), want no access for others", di.Mode().Perm(), err)
	}
	again, created, err := LoadOrCreateKey(path)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Fatalf("second call = %q, %v, %v; want the same key, not a new one", again, created, err)
	}
	// Another folder gets another key: nothing about it is fixed.
	other, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "jwt-signing-key"))
	if err != nil || bytes.Equal(other, key) {
		t.Fatalf("a second data folder got %q (%v), want a different random key", other, err)
	}
}

// Servers starting together on one data folder end up with one key.
func TestLoadOrCreateKeyConcurrentStarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jwt-signing-key")
	const starts = 16
	keys := make([][]byte, starts)
	var wg sync.WaitGroup
	for i := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i, k := range keys {
		if !bytes.Equal(k, keys[0]) {
			t.Fatalf("start %d got another key than start 0", i)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("folder holds %d files, want only the key (no temporary files left)", len(entries))
	}
}

func TestLoadOrCreateKeyRefusesUnsafeFiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"readable by others", strings.Repeat("k", 64), 0o644, "readable by others"},
		{"too short", "short", 0o600, "fewer than"},
		{"blank", "   \n", 0o600, "fewer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jwt-signing-key")
			if err := os.WriteFile(path, []byte(c.content), c.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, c.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			_, _, err := LoadOrCreateKey(path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
			if b, _ := os.ReadFile(path); string(b) != c.content {
				t.Fatal("the file was changed; an operator's file is never overwritten")
			}
		})
	}
}
