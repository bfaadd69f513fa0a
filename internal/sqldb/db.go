// Package sqldb implements the domain's storage interfaces in SQL that runs
// unchanged on SQLite and PostgreSQL. The per-database parts (opening a
// connection, migrations, driver error codes) live in the sqlite and postgres
// sub-packages, which hand a Dialect to New; run chooses one of them.
//
// It may import the domain package and database/sql, never net/http.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/mealsync/mealsync"
)

// Dialect is what differs between the databases.
type Dialect struct {
	Name       string // "sqlite" or "postgres"
	Migrations fs.FS  // NNN_description.sql files, applied in order
	// MigrationLock, when set, runs first in every migration transaction so
	// that instances starting together apply each migration once.
	MigrationLock string
	// MapError turns a driver error into a domain sentinel (wrapping it), or
	// returns it unchanged.
	MapError func(error) error
	// RowLock follows a SELECT to lock the rows it reads until the
	// transaction ends (PostgreSQL: " FOR UPDATE"; SQLite's transactions
	// take the write lock at BEGIN, which serialises them already).
	RowLock string
	// ByteOrder follows a text column in ORDER BY to sort it by code point
	// whatever the database's locale (PostgreSQL: ` COLLATE "C"`; SQLite
	// does so already).
	ByteOrder string
}

// DB is a connection pool plus its dialect. It implements the domain's
// storage interfaces.
type DB struct {
	sql     *sql.DB
	dialect Dialect
}

// Compile-time proof that DB implements the domain's interfaces.
var (
	_ mealsync.UserStore         = (*DB)(nil)
	_ mealsync.TokenStore        = (*DB)(nil)
	_ mealsync.LoginAttemptStore = (*DB)(nil)
)

// New wraps an open pool.
func New(db *sql.DB, d Dialect) *DB { return &DB{sql: db, dialect: d} }

// SQL returns the underlying pool, for pool metrics and backups.
func (db *DB) SQL() *sql.DB { return db.sql }

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect.Name }

// Ping checks that the database answers.
//
// On PostgreSQL it also checks that the session takes writes: a standby
// (in recovery after a restore, or a replica the URL names by mistake)
// answers reads and refuses every write, so it does not count as up.
func (db *DB) Ping(ctx context.Context) error {
	if db.dialect.Name != "postgres" {
		return db.sql.PingContext(ctx)
	}
	var readOnly string
	if err := db.sql.QueryRowContext(ctx, "SHOW transaction_read_only").Scan(&readOnly); err != nil {
		return err
	}
	if readOnly == "on" {
		return errReadOnly
	}
	return nil
}

var errReadOnly = errors.New("the database is read-only (a standby, or in recovery): it refuses writes")

// Close closes the pool. It is the last step of shutdown.
func (db *DB) Close() error { return db.sql.Close() }

// mapErr turns driver errors into domain sentinels.
func (db *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if err == sql.ErrNoRows {
		return mealsync.ErrNotFound
	}
	return db.dialect.MapError(err)
}

// wrap maps err and prefixes what was being done; nil stays nil.
func (db *DB) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, db.mapErr(err))
}

// conn is what reads and single statements run on: the pool, or the
// transaction of the request's unit of work once it has one.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn returns where a read for ctx runs: inside the unit of work's
// transaction once it has written (so a request reads its own writes),
// else on the pool.
func (db *DB) conn(ctx context.Context) conn {
	if u := db.unitOf(ctx); u != nil {
		if tx := u.current(); tx != nil {
			return tx
		}
	}
	return db.sql
}

// exec runs one writing statement: in the request's unit of work when
// there is one (inside a savepoint, so that a statement that fails leaves
// the transaction usable, as it would leave the pool), else on the pool.
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if u := db.unitOf(ctx); u != nil {
		var res sql.Result
		err := u.step(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, query, args...)
			return err
		})
		return res, err
	}
	return db.sql.ExecContext(ctx, query, args...)
}

// inTx runs fn in a transaction, committing when it returns nil. Every write
// that touches more than one row goes through here, so a failure never
// leaves half of it behind. Inside a request's unit of work (see unit.go)
// fn runs in the unit's transaction, under a savepoint, and is committed
// with the rest of the unit.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if u := db.unitOf(ctx); u != nil {
		return u.step(ctx, fn)
	}
	return db.inOwnTx(ctx, fn)
}

// inOwnTx runs fn in a transaction of its own, even inside a unit of work:
// for records that concurrent requests must see at once and that outlive
// the request whatever it answers (login attempts).
func (db *DB) inOwnTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", db.mapErr(err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", db.mapErr(err))
	}
	return nil
}
