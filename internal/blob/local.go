package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/mealsync/mealsync"
)

// DefaultLocalBaseURL is where Local's images are served when no public base
// URL is configured: Handler mounted at "GET /images/{key...}".
const DefaultLocalBaseURL = "/images"

// File modes: the server's group (say, a backup job) may read, nobody else.
const (
	dirMode  = 0o750
	fileMode = 0o640
)

// Local is a Store in a directory on disk, the default. Writes are atomic
// (a temporary file renamed into place), so a reader never sees half an
// image. The Content-Type of an object follows from its key's extension
// (which ContentKey takes from Inspect), so no metadata is kept beside it.
type Local struct {
	dir     string
	baseURL string
}

var _ Store = (*Local)(nil)

// NewLocal returns a Store in dir, creating it (0750) if needed. baseURL
// is the public prefix of URL; "" means DefaultLocalBaseURL, a path on the
// API's own host.
func NewLocal(dir, baseURL string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("blob: local store needs a directory")
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	if baseURL == "" {
		baseURL = DefaultLocalBaseURL
	}
	return &Local{dir: dir, baseURL: baseURL}, nil
}

// extTypes are the types Local can store: the ones Inspect accepts.
var extTypes = map[string]string{
	".jpg":  "image/jpeg",
	".png":  "image/png",
	".webp": "image/webp",
}

// Put writes data to key atomically. contentType must be the one key's
// extension implies, since that is what Open will report.
func (l *Local) Put(ctx context.Context, key, contentType string, data []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	if want, ok := extTypes[path.Ext(key)]; !ok || want != contentType {
		return mealsync.Errorf(mealsync.EINVALID, "Content type %q does not match the image key", contentType)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dst := l.path(key)
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return unavailable("put "+key, err)
	}
	// The temporary file's name starts with a dot, which ValidateKey never
	// allows, so no key can name (and serve) a half-written file.
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return unavailable("put "+key, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := writeFile(tmp, data); err != nil {
		return unavailable("put "+key, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return unavailable("put "+key, err)
	}
	return nil
}

// writeFile fills f, makes it durable and closes it.
func writeFile(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(fileMode) // CreateTemp makes 0600
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Open returns the file behind key. The reader is an *os.File, so it can
// seek (Handler serves ranges from it).
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := ValidateKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, notFound(key)
	}
	if err != nil {
		return nil, Info{}, unavailable("open "+key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Info{}, unavailable("open "+key, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, Info{}, notFound(key)
	}
	ct, ok := extTypes[path.Ext(key)]
	if !ok {
		ct = "application/octet-stream"
	}
	return f, Info{Size: st.Size(), ContentType: ct, ModTime: st.ModTime()}, nil
}

// URL is the base URL (by default "/images") joined with key.
func (l *Local) URL(key string) string { return joinURL(l.baseURL, key) }

// path is where key lives on disk; ValidateKey has already ruled out
// anything that could leave dir.
func (l *Local) path(key string) string { return filepath.Join(l.dir, filepath.FromSlash(key)) }
