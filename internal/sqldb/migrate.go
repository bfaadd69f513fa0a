package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one embedded schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// SchemaStatus compares the database with the migrations this binary carries.
type SchemaStatus struct {
	Current int         // highest applied version, 0 for an empty database
	Latest  int         // highest version this binary knows
	Pending []Migration // known but not applied, in order
}

// UpToDate reports whether nothing is pending. A database that is ahead of
// the binary (a newer release migrated it, then was rolled back) counts as up
// to date: migrations are written to be backward compatible for one release.
func (s SchemaStatus) UpToDate() bool { return len(s.Pending) == 0 }

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at TIMESTAMP NOT NULL
)`

func loadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must be NNN_description.sql", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("two migrations numbered %d", ms[i].Version)
		}
	}
	return ms, nil
}

// Schema reports which migrations are applied and which are pending.
func (db *DB) Schema(ctx context.Context) (SchemaStatus, error) {
	ms, err := loadMigrations(db.dialect.Migrations)
	if err != nil {
		return SchemaStatus{}, err
	}
	applied, err := db.appliedVersions(ctx, db.sql)
	if err != nil {
		return SchemaStatus{}, err
	}
	var st SchemaStatus
	for v := range applied {
		st.Current = max(st.Current, v)
	}
	for _, m := range ms {
		st.Latest = max(st.Latest, m.Version)
		if !applied[m.Version] {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) appliedVersions(ctx context.Context, q queryer) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		// No table yet means nothing is applied. Checking the catalogue
		// differs per database; trying the table and creating it on demand
		// in Migrate is simpler.
		if isMissingTable(err) {
			return map[int]bool{}, nil
		}
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || // SQLite
		strings.Contains(msg, "SQLSTATE 42P01") // PostgreSQL undefined_table
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the ones it applied.
func (db *DB) Migrate(ctx context.Context, now time.Time) ([]Migration, error) {
	if _, err := db.sql.ExecContext(ctx, createMigrationsTable); err != nil {
		// Two instances may race to create the table on PostgreSQL; the
		// loser sees a unique violation on the catalogue and can go on.
		if _, err2 := db.sql.ExecContext(ctx, `SELECT 1 FROM schema_migrations`); err2 != nil {
			return nil, fmt.Errorf("create schema_migrations: %w", err)
		}
	}
	ms, err := loadMigrations(db.dialect.Migrations)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range ms {
		applied := false
		err := db.inOwnTx(ctx, func(tx *sql.Tx) error {
			if db.dialect.MigrationLock != "" {
				if _, err := tx.ExecContext(ctx, db.dialect.MigrationLock); err != nil {
					return fmt.Errorf("lock: %w", err)
				}
			}
			// Re-read under the lock: another instance may have applied it.
			have, err := db.appliedVersions(ctx, tx)
			if err != nil || have[m.Version] {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			applied = true
			_, err = tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, now.UTC())
			return err
		})
		if err != nil {
			return done, fmt.Errorf("migration %03d_%s: %w", m.Version, m.Name, err)
		}
		if applied {
			done = append(done, m)
		}
	}
	return done, nil
}
