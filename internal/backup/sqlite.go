package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver, for files opened without the adapter's settings

	"github.com/mealsync/mealsync/internal/sqldb/sqlite"
)

// dumpSQLite copies the database at src into the empty file tmp.
//
// VACUUM INTO reads the whole database inside one read transaction, so the
// copy is the database as of a single instant even while the server goes on
// writing (WAL lets it). The copy is also compacted, and checked with
// PRAGMA integrity_check before anyone relies on it.
func dumpSQLite(ctx context.Context, src, tmp string) (snapshot, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return snapshot{}, fmt.Errorf("no SQLite database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return snapshot{}, fmt.Errorf("%s is not a database file", src)
	}
	db, err := sqlite.Open(src) // the server's settings: WAL, busy timeout
	if err != nil {
		return snapshot{}, err
	}
	defer db.Close()
	if _, err := db.SQL().ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return snapshot{}, fmt.Errorf("VACUUM INTO: %w", err)
	}
	f, err := openSQLiteFile(tmp, "ro")
	if err != nil {
		return snapshot{}, err
	}
	defer f.Close()
	if err := integrityCheck(ctx, f); err != nil {
		return snapshot{}, fmt.Errorf("the copy: %w", err)
	}
	return inspect(ctx, f, KindSQLite)
}

// restoreSQLite puts the backup in into place at target, which must not
// exist or be an empty database. The backup is copied to a temporary file
// beside target and checked there (checksum, schema version, integrity, row
// counts); only then is it renamed over target, in one step.
//
// A running server always has the schema migrated into its database, which
// makes it non-empty: so a restore never swaps a file under a live server.
func restoreSQLite(ctx context.Context, in string, m Metadata, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
		return err
	}
	if err := checkSQLiteTarget(ctx, target, m); err != nil {
		return err
	}
	tmp, err := tempFile(target, ".restore-")
	if err != nil {
		return err
	}
	defer removeSQLiteFiles(tmp) // gone already once renamed
	sum, err := copyAndHash(in, tmp)
	if err != nil {
		return fmt.Errorf("copy the backup: %w", err)
	}
	if sum != m.SHA256 {
		return fmt.Errorf("%w: %s changed while it was being restored", ErrCorrupt, in)
	}
	if err := checkSQLiteCopy(ctx, tmp, m); err != nil {
		return err
	}
	// A last look, in case something created the database meanwhile.
	if err := checkSQLiteTarget(ctx, target, m); err != nil {
		return err
	}
	// An empty target's journal files must not outlive it: SQLite would
	// read them as part of the new file.
	for _, sfx := range []string{"-journal", "-wal", "-shm"} {
		if err := os.Remove(target + sfx); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return renameInto(tmp, target)
}

// checkSQLiteTarget accepts a target that does not exist or is an empty
// database.
func checkSQLiteTarget(ctx context.Context, target string, m Metadata) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Lstat(target + "-wal"); err == nil {
			return fmt.Errorf("%s-wal exists without %s: it belongs to a database that is gone; remove it first", target, target)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", target)
	}
	db, err := openSQLiteFile(target, "rw")
	if err != nil {
		return err
	}
	defer db.Close()
	return checkEmpty(ctx, db, KindSQLite, m)
}

// checkSQLiteCopy checks the restored copy before it is swapped in. Opening
// it with the server's settings also switches it to WAL, as the server would.
func checkSQLiteCopy(ctx context.Context, path string, m Metadata) error {
	db, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	if err := m.checkSchema(st.Latest); err != nil {
		return err
	}
	if err := integrityCheck(ctx, db.SQL()); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return checkCounts(ctx, db.SQL(), KindSQLite, m)
}

// openSQLiteFile opens a database file with none of the server's settings:
// mode "ro" or "rw" (an existing file only).
func openSQLiteFile(path, mode string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", mode)
	q.Add("_pragma", "busy_timeout(5000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// integrityCheck runs PRAGMA integrity_check, which reads every page.
func integrityCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

// removeSQLiteFiles removes a database file and its journals, if present.
func removeSQLiteFiles(path string) {
	for _, sfx := range []string{"", "-journal", "-wal", "-shm"} {
		_ = os.Remove(path + sfx)
	}
}
