package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MinKeyBytes is the shortest HMAC key the server accepts.
const MinKeyBytes = 32

// LoadOrCreateKey returns the key kept in the file at path, making a random
// one there on first use (64 base64 characters from 48 random bytes, mode
// 0600 in a 0700 folder). It is how a development server without a
// configured secret signs tokens: never with a constant that anyone could
// read in the source, and with the same key after a restart, so sessions
// survive it. created reports whether this call made the key.
//
// Two servers starting together on one data folder agree on one key: the
// file appears complete or not at all (written aside, then linked into
// place, which fails if another got there first).
func LoadOrCreateKey(path string) (key []byte, created bool, err error) {
	key, err = readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	raw := make([]byte, 48)
	rand.Read(raw) // never fails (crypto/rand)
	fresh := []byte(base64.StdEncoding.EncodeToString(raw))

	tmp, err := os.CreateTemp(filepath.Dir(path), ".jwt-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(fresh, '\n'))
	serr := tmp.Sync()
	if err := errors.Join(werr, serr, tmp.Close()); err != nil { // CreateTemp made it 0600
		return nil, false, fmt.Errorf("signing key: write %s: %w", tmp.Name(), err)
	}
	switch err := os.Link(tmp.Name(), path); {
	case err == nil:
		return fresh, true, nil
	case errors.Is(err, fs.ErrExist): // another server made it meanwhile
		key, err := readKey(path)
		return key, false, err
	default:
		return nil, false, fmt.Errorf("signing key: %w", err)
	}
}

// readKey reads a key file, refusing one that others may read or that is
// too short to be a key.
func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s is readable by others (mode %v): chmod 600 it, or delete it to make a new one", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < MinKeyBytes {
		return nil, fmt.Errorf("signing key %s holds %d bytes, fewer than %d: delete it to make a new one", path, len(b), MinKeyBytes)
	}
	return b, nil
}
