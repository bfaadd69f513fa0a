// Package postgres opens the production database through pgx's database/sql
// driver, with the pool sized from configuration.
package postgres

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pool sizes the connection pool.
type Pool struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
	MaxIdleTime time.Duration
	// Pooled says the URL reaches PostgreSQL through a pooler in
	// transaction mode (PgBouncer): consecutive transactions of one
	// connection may run on different server sessions, so no statement is
	// prepared by name (pgx's exec mode: each query is parsed, bound and
	// run in one round trip), unless the URL chooses a mode itself
	// (default_query_exec_mode).
	Pooled bool
}

// migrationLockKey is an arbitrary constant shared by every instance: the
// advisory lock serialises migrations across instances starting together.
const migrationLockKey = 7405_2001

// Open opens a pool for a postgres:// URL. It does not connect yet.
func Open(url string, p Pool) (*sqldb.DB, error) {
	cfg, err := pgconnConfig(url)
	if err != nil {
		return nil, err
	}
	if p.Pooled && !strings.Contains(url, "default_query_exec_mode") {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(p.MaxOpen)
	db.SetMaxIdleConns(p.MaxIdle)
	db.SetConnMaxLifetime(p.MaxLifetime)
	db.SetConnMaxIdleTime(p.MaxIdleTime)
	sub, _ := fs.Sub(migrations, "migrations") // the directory is embedded
	return sqldb.New(db, sqldb.Dialect{
		Name:          "postgres",
		Migrations:    sub,
		MigrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey),
		MapError:      mapError,
		ByteOrder:     ` COLLATE "C"`,
		RowLock:       " FOR UPDATE",
	}), nil
}

func mapError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", mealsync.ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: %v", mealsync.ErrNotFound, err)
		}
	}
	return err
}
