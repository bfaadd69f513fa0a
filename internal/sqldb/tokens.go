package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mealsync/mealsync"
)

// CreateRefreshToken stores t (its hash, never the token).
func (db *DB) CreateRefreshToken(ctx context.Context, t *mealsync.RefreshToken) error {
	return insertToken(ctx, execFunc(db.exec), db, t)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execFunc makes a function an execer, such as db.exec, which joins the
// request's unit of work when it has one.
type execFunc func(ctx context.Context, query string, args ...any) (sql.Result, error)

func (f execFunc) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return f(ctx, query, args...)
}

func insertToken(ctx context.Context, x execer, db *DB, t *mealsync.RefreshToken) error {
	_, err := x.ExecContext(ctx, `INSERT INTO refresh_tokens
		(id, user_id, family_id, token_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.ID, t.UserID, t.FamilyID, t.Hash, t.ExpiresAt.UTC(), t.CreatedAt.UTC())
	if err != nil {
		return fmt.Errorf("create refresh token: %w", db.mapErr(err))
	}
	return nil
}

// RefreshToken returns the token stored under hash.
func (db *DB) RefreshToken(ctx context.Context, hash string) (*mealsync.RefreshToken, error) {
	return db.scanToken(db.conn(ctx).QueryRowContext(ctx, selectToken, hash))
}

const selectToken = `SELECT id, user_id, family_id, token_hash, expires_at,
	created_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1`

func (db *DB) scanToken(row *sql.Row) (*mealsync.RefreshToken, error) {
	var t mealsync.RefreshToken
	var rotatedAt, revokedAt sql.NullTime
	err := row.Scan(&t.ID, &t.UserID, &t.FamilyID, &t.Hash, &t.ExpiresAt, &t.CreatedAt, &rotatedAt, &revokedAt)
	if err != nil {
		return nil, fmt.Errorf("find refresh token: %w", db.mapErr(err))
	}
	t.ExpiresAt, t.CreatedAt = t.ExpiresAt.UTC(), t.CreatedAt.UTC()
	t.RotatedAt, t.RevokedAt = nullTime(rotatedAt), nullTime(revokedAt)
	return &t, nil
}

// RotateRefreshToken exchanges the token with oldHash for next in one
// transaction. The conditional UPDATE is what makes two concurrent refreshes
// with the same token safe: only one of them can flip rotated_at.
func (db *DB) RotateRefreshToken(ctx context.Context, oldHash string, next *mealsync.RefreshToken, now time.Time) (*mealsync.RefreshToken, bool, error) {
	var old *mealsync.RefreshToken
	rotated := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		t, err := db.scanToken(tx.QueryRowContext(ctx, selectToken, oldHash))
		if err != nil {
			return err
		}
		old = t
		if t.RotatedAt != nil || t.RevokedAt != nil || !now.Before(t.ExpiresAt) {
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = $2
			WHERE id = $1 AND rotated_at IS NULL AND revoked_at IS NULL`, t.ID, now.UTC())
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", db.mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		if n != 1 {
			// Lost a race (PostgreSQL, read committed): another call rotated
			// or revoked the token after the SELECT above. Report the token
			// as that call left it, so that the caller sees the reuse.
			var rotatedAt, revokedAt sql.NullTime
			err := tx.QueryRowContext(ctx, `SELECT rotated_at, revoked_at FROM refresh_tokens
				WHERE id = $1`, t.ID).Scan(&rotatedAt, &revokedAt)
			if err != nil {
				return fmt.Errorf("reread refresh token: %w", db.mapErr(err))
			}
			t.RotatedAt, t.RevokedAt = nullTime(rotatedAt), nullTime(revokedAt)
			return nil
		}
		next.UserID, next.FamilyID = t.UserID, t.FamilyID
		if err := insertToken(ctx, tx, db, next); err != nil {
			return err
		}
		rotated = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return old, rotated, nil
}

// EndTokenFamily revokes the family of one token: a device signing out.
func (db *DB) EndTokenFamily(ctx context.Context, tokenHash string, now time.Time) error {
	_, err := db.exec(ctx, `UPDATE refresh_tokens SET revoked_at = $2
		WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS NULL`,
		tokenHash, now.UTC())
	if err != nil {
		return db.wrap("end token family", err)
	}
	return nil
}

// RevokeTokenFamily revokes every token descended from one login and ends
// its user's access tokens, in one transaction.
func (db *DB) RevokeTokenFamily(ctx context.Context, familyID string, now time.Time) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $2
			WHERE family_id = $1 AND revoked_at IS NULL`, familyID, now.UTC())
		if err != nil {
			return db.wrap("revoke token family", err)
		}
		ids, err := queryIDs(ctx, tx, `UPDATE users SET session_epoch = session_epoch + 1
			WHERE id IN (SELECT user_id FROM refresh_tokens WHERE family_id = $1) RETURNING id`, familyID)
		if err != nil {
			return db.wrap("end sessions of token family", err)
		}
		for _, id := range ids {
			if err := db.recordUserChange(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
}
