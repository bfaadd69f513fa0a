package rollout

import (
	"os"
	"path/filepath"
	"strconv"
)

// WriteFileAtomic replaces path with data so that a reader, or a process
// killed half-way, sees either the old file or the new one, never a mix:
// write a temporary file beside it, fsync it, rename it over path, and fsync
// the directory so the rename itself survives a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every filesystem supports it
		d.Close()
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
