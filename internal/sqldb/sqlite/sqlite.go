// Package sqlite opens the embedded default database: one file, a pure-Go
// driver (so CGO_ENABLED=0 builds a static binary), WAL journaling.
package sqlite

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens (creating if needed) the database file at path.
func Open(path string) (*sqldb.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: create %s: %w", dir, err)
		}
	}
	q := url.Values{}
	for _, p := range []string{
		"foreign_keys(1)",     // enforce ON DELETE CASCADE
		"journal_mode(WAL)",   // readers never block the writer
		"busy_timeout(10000)", // wait for the write lock instead of failing
		"synchronous(NORMAL)", // durable at checkpoints; safe with WAL
	} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate") // take the write lock at BEGIN: no upgrade deadlocks
	q.Set("_time_format", "sqlite")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sub, _ := fs.Sub(migrations, "migrations") // the directory is embedded
	return sqldb.New(db, sqldb.Dialect{Name: "sqlite", Migrations: sub, MapError: mapError}), nil
}

func mapError(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", mealsync.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %v", mealsync.ErrNotFound, err)
		}
	}
	return err
}
