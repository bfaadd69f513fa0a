package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Login attempts never join a request's unit of work (unit.go): the
// throttle counts attempts sent in parallel only if each is visible to the
// others the moment it is recorded, and a failed attempt must stay counted
// whatever the request then answers. Every statement here runs on the pool.

// RecordLoginAttempt adds the attempt to each key, in one transaction.
func (db *DB) RecordLoginAttempt(ctx context.Context, id string, keys []string, at time.Time) error {
	return db.inOwnTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO login_failures (attempt_id, key, failed_at) VALUES ($1, $2, $3)`, id, k, at.UTC()); err != nil {
				return db.wrap("record login attempt", err)
			}
		}
		return nil
	})
}

// ForgetLoginAttempt removes an attempt from every key.
func (db *DB) ForgetLoginAttempt(ctx context.Context, id string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM login_failures WHERE attempt_id = $1`, id)
	return db.wrap("forget login attempt", err)
}

// LoginFailures counts key's failures since a time (index login_failures_key_idx).
func (db *DB) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM login_failures
		WHERE key = $1 AND failed_at >= $2`, key, since.UTC()).Scan(&n)
	if err != nil || n == 0 {
		return 0, time.Time{}, db.wrap("count login failures", err)
	}
	// Read the oldest as a row, not min(): SQLite's aggregate drops the
	// column's declared type, so the driver could not scan it as a time.
	var oldest time.Time
	err = db.sql.QueryRowContext(ctx, `SELECT failed_at FROM login_failures
		WHERE key = $1 AND failed_at >= $2 ORDER BY failed_at LIMIT 1`, key, since.UTC()).Scan(&oldest)
	if err != nil {
		return 0, time.Time{}, db.wrap("oldest login failure", err)
	}
	return n, oldest.UTC(), nil
}

// ClearLoginFailures forgets key's failures (after a successful login).
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear login failures: %w", db.mapErr(err))
	}
	return nil
}

// PruneLoginFailures deletes failures older than before; they can no longer
// count towards any window.
func (db *DB) PruneLoginFailures(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM login_failures WHERE failed_at < $1`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("prune login failures: %w", db.mapErr(err))
	}
	return res.RowsAffected()
}
