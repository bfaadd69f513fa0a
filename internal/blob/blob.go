// Package blob stores recipe images: a Store interface, two implementations
// of it (Local, a directory on disk and the default; S3, any S3-compatible
// object store), the content checks an upload must pass (Inspect), the
// content-addressed naming that makes every stored image immutable
// (ContentKey), and an http.Handler that serves a Store's images.
//
// Keys are content-addressed ("recipes/<sha256>.<ext>"), so an image's URL
// never changes meaning: identical uploads share one object, and every
// response may be cached forever.
//
// blob is an adapter: it imports the domain package (for its error codes)
// and foundation libraries only, never internal/api, internal/sqldb or
// internal/config; run builds a Store from the config and hands it to the
// HTTP layer.
//
// S3 itself cannot be reached from where the tests run (no network), so the
// S3 tests talk to an in-process fake of the S3 API (gofakes3 with its
// in-memory backend, served by httptest). They prove our requests and error
// mapping against that fake, not against AWS or MinIO themselves. The fake
// checks no signatures, so the tests check every request's SigV4 signature
// themselves (sigv4_test.go), from the spec rather than with the signer.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

// Store keeps images under keys. Implementations are safe for concurrent
// use.
type Store interface {
	// Put stores data under key, replacing any object already there.
	Put(ctx context.Context, key, contentType string, data []byte) error
	// Open returns the object's content and metadata. A missing object is
	// an error with code mealsync.ENOTFOUND. The caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// URL is the public address clients fetch key from.
	URL(key string) string
}

// Info describes a stored object.
type Info struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// CacheControl is sent with every stored and served image: keys are
// content-addressed, so the bytes behind a URL never change.
const CacheControl = "public, max-age=31536000, immutable"

// keyPrefix is the folder every recipe image lives in.
const keyPrefix = "recipes/"

// maxKeyLen is S3's limit on object key length.
const maxKeyLen = 1024

// notFound is what Open returns for a missing key. The message is fit for
// clients; the key is kept for logs.
func notFound(key string) error {
	return fmt.Errorf("blob: %s: %w", key, mealsync.Errorf(mealsync.ENOTFOUND, "Image not found"))
}

// unavailable wraps a storage failure as EUNAVAILABLE: clients learn only
// that storage is down (the domain error comes first, so errors.As finds
// it); logs get the detail and the cause.
func unavailable(detail string, cause error) error {
	return fmt.Errorf("blob: %s: %w: %w", detail, mealsync.Errorf(mealsync.EUNAVAILABLE, "Image storage is unavailable"), cause)
}

// ContentKey names data by its SHA-256, so identical uploads dedupe and a
// key's bytes never change. ext is the extension Inspect returned ("jpg",
// "png", "webp"); a leading dot is ignored.
func ContentKey(data []byte, ext string) string {
	sum := sha256.Sum256(data)
	return keyPrefix + hex.EncodeToString(sum[:]) + "." + strings.ToLower(strings.TrimPrefix(ext, "."))
}

// contentHash returns the SHA-256 hex part of a content-addressed key, or
// "" when key is not one (then its bytes may change, and no strong ETag
// may be promised).
func contentHash(key string) string {
	name := path.Base(key)
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[:i]
	}
	if len(name) != sha256.Size*2 {
		return ""
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return name
}

// ValidateKey reports whether key is safe to use as both a file path and
// an object name: only [a-z0-9./-], no empty, "." or ".."-containing or
// dot-leading segments, no leading or trailing "/". The error is EINVALID.
func ValidateKey(key string) error {
	bad := func() error { return mealsync.Errorf(mealsync.EINVALID, "Invalid image key") }
	if key == "" || len(key) > maxKeyLen || strings.Contains(key, "..") {
		return bad()
	}
	for _, c := range key {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '/' && c != '-' {
			return bad()
		}
	}
	// Segments that start with a dot are refused too: they are hidden
	// files, "." itself, and the names Local gives its temporary files.
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' {
			return bad()
		}
	}
	return nil
}

// IsStoreURL reports whether raw is the URL of an image in store: exactly
// store.URL(key) for a key ContentKey makes ("recipes/<sha256>.<ext>"), so
// no other path under the same base, and nothing a path trick (.., an
// escaped slash) could turn into one, counts.
func IsStoreURL(store Store, raw string) bool {
	key, ok := strings.CutPrefix(raw, store.URL(""))
	return ok && ValidateKey(key) == nil && path.Dir(key)+"/" == keyPrefix &&
		contentHash(key) != "" && strings.Count(path.Base(key), ".") == 1
}

// joinURL puts key under base with exactly one slash between them.
func joinURL(base, key string) string {
	return strings.TrimSuffix(base, "/") + "/" + key
}
