package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mealsync/mealsync"
)

var _ mealsync.IdempotencyStore = (*DB)(nil)

// The record of a key is written in three steps, each atomic:
//
//  1. the reservation, in a statement of its own, before the request runs:
//     the key, the request's fingerprint and the attempt holding it, with a
//     short lease;
//  2. the request's writes, in its unit of work (unit.go);
//  3. the answer, in that same unit, as its last statement, only while the
//     attempt still holds the key; then the unit commits.
//
// A crash before 3 commits leaves a reservation whose lease runs out; the
// retry takes it over and runs. A crash after it leaves the answer, which
// the retry gets back. No moment exists where the writes are committed and
// the answer is not.

// ReserveIdempotencyKey inserts rec, or takes over a key whose record has
// expired or whose attempt's lease ended, in one statement (the upsert's
// WHERE decides); otherwise it returns the record.
func (db *DB) ReserveIdempotencyKey(ctx context.Context, rec *mealsync.IdempotencyRecord, now time.Time) (*mealsync.IdempotencyRecord, error) {
	// The reservation commits at once, on the pool: concurrent attempts
	// must see it before this one's writes begin.
	for range 3 {
		res, err := db.sql.ExecContext(ctx, `INSERT INTO idempotency_keys
			(user_id, idempotency_key, fingerprint, attempt, lease_until, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (user_id, idempotency_key) DO UPDATE SET fingerprint = excluded.fingerprint,
				attempt = excluded.attempt, lease_until = excluded.lease_until, created_at = excluded.created_at,
				expires_at = excluded.expires_at, response_status = NULL, response_header = NULL, response_body = NULL
			WHERE idempotency_keys.expires_at <= $8 OR (idempotency_keys.response_status IS NULL
				AND idempotency_keys.lease_until <= $8 AND idempotency_keys.fingerprint = excluded.fingerprint)`,
			rec.UserID, rec.Key, rec.Fingerprint, rec.Attempt, rec.LeaseUntil.UTC(), rec.CreatedAt.UTC(),
			rec.ExpiresAt.UTC(), now.UTC())
		if n, err := affected(res, err); err != nil || n == 1 {
			return nil, db.wrap("reserve idempotency key", err)
		}
		held, err := db.idempotencyRecord(ctx, db.sql, rec.UserID, rec.Key)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			continue // released or pruned since: try again
		}
		return held, err
	}
	return nil, errKeyContended
}

var errKeyContended = &mealsync.Error{Code: mealsync.EINPROGRESS, RetryAfter: time.Second,
	Message: "Requests with this Idempotency-Key keep arriving at once; retry after Retry-After seconds"}

// RenewIdempotencyLease extends a live attempt's lease; ErrNotFound when the
// attempt no longer holds the key or its lease already ended.
func (db *DB) RenewIdempotencyLease(ctx context.Context, rec *mealsync.IdempotencyRecord, now time.Time) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE idempotency_keys SET lease_until = $4
		WHERE user_id = $1 AND idempotency_key = $2 AND attempt = $3
		AND response_status IS NULL AND lease_until > $5`,
		rec.UserID, rec.Key, rec.Attempt, rec.LeaseUntil.UTC(), now.UTC())
	return db.expectOne(res, err, "renew idempotency lease")
}

// errKeyLost is the answer of an attempt that ran past its lease while
// another attempt took the key over: that one's answer is the key's.
var errKeyLost = &mealsync.Error{Code: mealsync.EINPROGRESS, RetryAfter: time.Second,
	Message: "Another attempt with this Idempotency-Key took over; retry to get its answer"}

// CompleteIdempotencyKey runs run in a unit of work and stores its answer
// in the unit's transaction, then commits.
func (db *DB) CompleteIdempotencyKey(ctx context.Context, rec *mealsync.IdempotencyRecord,
	run func(ctx context.Context) (*mealsync.IdempotentResponse, error)) error {
	uctx, u := db.withUnit(ctx)
	defer u.end()
	resp, err := run(uctx)
	if err != nil {
		return err
	}
	header, err := json.Marshal(resp.Header)
	if err != nil {
		return fmt.Errorf("idempotent response header: %w", err)
	}
	body := resp.Body
	if body == nil {
		body = []byte{} // NULL means "no answer yet"
	}
	tx, err := u.begin()
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET response_status = $4,
		response_header = $5, response_body = $6, expires_at = $7
		WHERE user_id = $1 AND idempotency_key = $2 AND attempt = $3 AND response_status IS NULL`,
		rec.UserID, rec.Key, rec.Attempt, resp.Status, string(header), body, rec.ExpiresAt.UTC())
	n, err := affected(res, err)
	if err != nil {
		return db.wrap("record idempotent response", err)
	}
	if n == 0 {
		// Either another attempt holds the key now, or this request
		// deleted its own user, and the key with it (ON DELETE CASCADE):
		// then no retry can ever be authenticated, and the writes stand
		// without a record.
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = $1`, rec.UserID).Scan(&users); err != nil {
			return db.wrap("record idempotent response", err)
		}
		if users > 0 {
			return errKeyLost
		}
	}
	return u.commit()
}

// ReleaseIdempotencyKey deletes the reservation of rec's attempt.
func (db *DB) ReleaseIdempotencyKey(ctx context.Context, rec *mealsync.IdempotencyRecord) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM idempotency_keys
		WHERE user_id = $1 AND idempotency_key = $2 AND attempt = $3 AND response_status IS NULL`,
		rec.UserID, rec.Key, rec.Attempt)
	return db.wrap("release idempotency key", err)
}

// PruneIdempotencyKeys deletes expired records (index idempotency_keys_expires_idx).
func (db *DB) PruneIdempotencyKeys(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE expires_at <= $1`, now.UTC())
	n, err := affected(res, err)
	return n, db.wrap("prune idempotency keys", err)
}

// idempotencyRecord reads a key's record; ErrNotFound when there is none.
func (db *DB) idempotencyRecord(ctx context.Context, q conn, userID, key string) (*mealsync.IdempotencyRecord, error) {
	rec := mealsync.IdempotencyRecord{UserID: userID, Key: key}
	var status sql.NullInt64
	var header sql.NullString
	var body []byte
	err := q.QueryRowContext(ctx, `SELECT fingerprint, attempt, lease_until, created_at, expires_at,
		response_status, response_header, response_body
		FROM idempotency_keys WHERE user_id = $1 AND idempotency_key = $2`, userID, key).
		Scan(&rec.Fingerprint, &rec.Attempt, &rec.LeaseUntil, &rec.CreatedAt, &rec.ExpiresAt, &status, &header, &body)
	if err != nil {
		return nil, db.wrap("idempotency key", err)
	}
	rec.LeaseUntil, rec.CreatedAt, rec.ExpiresAt = rec.LeaseUntil.UTC(), rec.CreatedAt.UTC(), rec.ExpiresAt.UTC()
	if status.Valid {
		rec.Response = &mealsync.IdempotentResponse{Status: int(status.Int64), Body: body}
		if err := json.Unmarshal([]byte(header.String), &rec.Response.Header); err != nil {
			return nil, fmt.Errorf("idempotency key: stored header: %w", err)
		}
	}
	return &rec, nil
}

// affected returns how many rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
