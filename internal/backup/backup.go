// Package backup takes and restores MealSync database backups: an online,
// consistent copy of an SQLite file (VACUUM INTO, safe while the server
// writes) or a pg_dump custom-format archive of PostgreSQL, each with a
// metadata file beside it (FILE.json) that records its checksum, size,
// schema version and row counts.
//
// Restore checks all of that before it changes anything, restores only into
// an empty database of the same kind, and either completes or leaves the
// target as it was: SQLite through a verified temporary file renamed into
// place, PostgreSQL through pg_restore in a single transaction.
//
// It opens its own short-lived connections through the storage adapters and
// drives the PostgreSQL client tools; only the binary imports it. It must not
// import net/http.
package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mealsync/mealsync/internal/config"
)

// Kinds of database.
const (
	KindSQLite   = "sqlite"
	KindPostgres = "postgres"
)

// Errors a caller (and a test) can tell apart. Each is wrapped with the
// details an operator needs.
var (
	ErrNoMetadata   = errors.New("backup has no metadata file")
	ErrCorrupt      = errors.New("backup file is corrupt")
	ErrKindMismatch = errors.New("backup is for another kind of database")
	ErrSchemaTooNew = errors.New("backup's schema is newer than this build")
	ErrNotEmpty     = errors.New("target database is not empty")
	ErrToolMissing  = errors.New("PostgreSQL client tool not found")
	ErrToolVersion  = errors.New("PostgreSQL client tool too old")
	ErrRowCounts    = errors.New("row counts differ from the backup's metadata")
)

// Database names a database to back up or restore into.
type Database struct {
	Kind string // KindSQLite or KindPostgres
	Path string // SQLite: the database file
	// PostgreSQL: a postgres:// URL. Its password reaches pg_dump and
	// pg_restore through PGPASSWORD, never through their arguments.
	URL string
}

// String names the database for messages, password masked.
func (d Database) String() string {
	if d.Kind == KindPostgres {
		return config.RedactURL(d.URL)
	}
	return "sqlite:" + d.Path
}

// Options are what a backup or restore needs from the running program.
type Options struct {
	Version string           // the running build, recorded in the metadata
	Now     func() time.Time // the clock: created_at and default file names
	// Getenv supplies PATH, to find pg_dump and pg_restore, and the libpq
	// variables (PGSSLMODE, PGPASSFILE, …) handed on to them.
	Getenv func(string) string

	// For tests: where to look for the client tools after PATH (nil: the
	// Debian layout), and a hook run once the PostgreSQL snapshot is taken.
	toolGlobs     []string
	afterSnapshot func(ctx context.Context) error
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now().UTC()
	}
	return o.Now().UTC()
}

func (o Options) getenv(k string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(k)
}

// Result is a backup just written.
type Result struct {
	Path     string // the backup file
	MetaPath string // its metadata: Path + ".json"
	Meta     Metadata
}

// DefaultDir is where backups go when no -o is given.
const DefaultDir = "backups"

// Create backs db up to out: a file, a directory (ending in a separator or
// existing) that receives mealsync-<UTC time>.db|.dump, or "" for
// DefaultDir. The backup file is complete and renamed into place before its
// metadata is written, so a backup with metadata is always whole; an existing
// file is never overwritten.
func Create(ctx context.Context, db Database, out string, opt Options) (*Result, error) {
	created := opt.now().Truncate(time.Second)
	path, err := outputPath(out, db.Kind, created)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("backup: %s already exists; backups are never overwritten", path)
	}
	if db.Kind == KindSQLite { // before anything is created for it
		if _, err := os.Stat(db.Path); err != nil {
			return nil, fmt.Errorf("backup of %s: no SQLite database: %w", db, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	tmp, err := tempFile(path, ".tmp-")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp) // gone already once renamed

	var snap snapshot
	switch db.Kind {
	case KindSQLite:
		snap, err = dumpSQLite(ctx, db.Path, tmp)
	case KindPostgres:
		snap, err = dumpPostgres(ctx, db.URL, tmp, opt)
	default:
		err = fmt.Errorf("unknown database kind %q", db.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("backup of %s: %w", db, err)
	}
	size, sum, err := syncAndHash(tmp)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m := Metadata{
		FormatVersion:   FormatVersion,
		Kind:            db.Kind,
		CreatedAt:       created,
		MealSyncVersion: opt.Version,
		SchemaVersion:   snap.schemaVersion,
		File:            filepath.Base(path),
		Size:            size,
		SHA256:          sum,
		Tables:          snap.rows,
		PGDumpVersion:   snap.toolVersion,
		ServerVersion:   snap.serverVersion,
	}
	if err := renameInto(tmp, path); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := writeMetadata(MetaPath(path), m); err != nil {
		return nil, fmt.Errorf("backup: %s is written but its metadata is not, so it cannot be restored: %w", path, err)
	}
	return &Result{Path: path, MetaPath: MetaPath(path), Meta: m}, nil
}

// snapshot is what a dump learned about the data it copied, all as of the
// same instant as the copy itself.
type snapshot struct {
	schemaVersion int
	rows          map[string]int64
	toolVersion   string // PostgreSQL: the pg_dump that wrote it
	serverVersion string // PostgreSQL: the server it was taken from
}

// Restore checks the backup at in (metadata, size, checksum, kind, schema
// version) and that db is empty, then restores it and checks the row
// counts. in may name the backup or its metadata file. On any error db is
// left as it was found.
func Restore(ctx context.Context, in string, db Database, opt Options) (Metadata, error) {
	in = strings.TrimSuffix(in, metaSuffix) // either file of the pair names it
	m, err := Verify(in)
	if err != nil {
		return m, fmt.Errorf("restore: %w", err)
	}
	if m.Kind != db.Kind {
		return m, fmt.Errorf("restore: %w: %s is a %s backup and %s is %s; restore it into a %s database",
			ErrKindMismatch, in, m.Kind, db, db.Kind, m.Kind)
	}
	switch db.Kind {
	case KindSQLite:
		err = restoreSQLite(ctx, in, m, db.Path)
	case KindPostgres:
		err = restorePostgres(ctx, in, m, db.URL, opt)
	default:
		err = fmt.Errorf("unknown database kind %q", db.Kind)
	}
	if err != nil {
		return m, fmt.Errorf("restore into %s: %w", db, err)
	}
	return m, nil
}

// outputPath resolves Create's out argument.
func outputPath(out, kind string, at time.Time) (string, error) {
	var ext string
	switch kind {
	case KindSQLite:
		ext = ".db"
	case KindPostgres:
		ext = ".dump"
	default:
		return "", fmt.Errorf("backup: unknown database kind %q", kind)
	}
	name := "mealsync-" + at.UTC().Format("20060102T150405Z") + ext
	if out == "" {
		return filepath.Join(DefaultDir, name), nil
	}
	if strings.HasSuffix(out, "/") || strings.HasSuffix(out, string(filepath.Separator)) {
		return filepath.Join(out, name), nil
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return filepath.Join(out, name), nil
	}
	if strings.HasSuffix(out, metaSuffix) {
		return "", fmt.Errorf("backup: %s: %s is the suffix of the metadata file; name the backup itself", out, metaSuffix)
	}
	return out, nil
}
