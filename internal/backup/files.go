package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
)

// Every file this package writes is first written to a temporary file in
// the same directory, flushed to disk, then renamed over its final name: a
// crash leaves either the old state or the new one, never half a file.

// tempFile creates an empty, private file beside path and returns its name.
func tempFile(path, tag string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+tag+"*")
	if err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// syncAndHash flushes the file at path to disk and returns its size and
// SHA-256.
func syncAndHash(path string) (int64, string, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	return hashReader(f)
}

func hashReader(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// copyAndHash copies src to the existing file dst, flushes it and returns
// the SHA-256 of what was copied.
func copyAndHash(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return "", err
	}
	defer out.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		return "", err
	}
	if err := out.Sync(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), out.Close()
}

// renameInto moves tmp over path and flushes the directory, so the rename
// itself survives a crash.
func renameInto(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
