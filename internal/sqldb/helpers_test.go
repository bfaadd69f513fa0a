package sqldb_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

// forEachStore runs test once per database kind, on a fresh migrated database.
func forEachStore(t *testing.T, test func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) { test(t, st.Open(t)) })
	}
}

// now is the test's "current time", at the microsecond precision both
// databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// newUser returns a valid user with a unique email; change sets it up further.
func newUser(at time.Time, change func(u *mealsync.User)) *mealsync.User {
	id := uuid.NewString()
	u := &mealsync.User{
		ID:           id,
		Email:        "user-" + id + "@example.com",
		Name:         "Test User",
		Role:         mealsync.RoleUser,
		Status:       mealsync.StatusActive,
		PasswordHash: "$2a$10$hash-of-" + id,
		CreatedAt:    at,
		UpdatedAt:    at,
	}
	if change != nil {
		change(u)
	}
	return u
}

// mustCreateUser stores a new user and returns it.
func mustCreateUser(t *testing.T, db *sqldb.DB, at time.Time, change func(u *mealsync.User)) *mealsync.User {
	t.Helper()
	u := newUser(at, change)
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
	return u
}

// newToken returns an unsaved refresh token of userID in familyID, created at
// `at` and valid for an hour.
func newToken(userID, familyID string, at time.Time) *mealsync.RefreshToken {
	id := uuid.NewString()
	return &mealsync.RefreshToken{
		ID: id, UserID: userID, FamilyID: familyID, Hash: "hash-" + id,
		CreatedAt: at, ExpiresAt: at.Add(time.Hour),
	}
}

// mustCreateToken stores a new refresh token and returns it.
func mustCreateToken(t *testing.T, db *sqldb.DB, userID, familyID string, at time.Time) *mealsync.RefreshToken {
	t.Helper()
	tok := newToken(userID, familyID, at)
	if err := db.CreateRefreshToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	return tok
}

// storedToken reads a refresh token row straight from the table, so that
// checks do not depend on the code under test. ok is false when no row has
// that hash.
func storedToken(t *testing.T, db *sqldb.DB, hash string) (tok mealsync.RefreshToken, ok bool) {
	t.Helper()
	var rotatedAt, revokedAt sql.NullTime
	err := db.SQL().QueryRowContext(t.Context(), `SELECT id, user_id, family_id, token_hash,
		expires_at, created_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1`, hash).
		Scan(&tok.ID, &tok.UserID, &tok.FamilyID, &tok.Hash, &tok.ExpiresAt, &tok.CreatedAt, &rotatedAt, &revokedAt)
	if err == sql.ErrNoRows {
		return tok, false
	}
	if err != nil {
		t.Fatalf("read refresh token %s: %v", hash, err)
	}
	tok.ExpiresAt, tok.CreatedAt = tok.ExpiresAt.UTC(), tok.CreatedAt.UTC()
	if rotatedAt.Valid {
		r := rotatedAt.Time.UTC()
		tok.RotatedAt = &r
	}
	if revokedAt.Valid {
		r := revokedAt.Time.UTC()
		tok.RevokedAt = &r
	}
	return tok, true
}

// sameTime reports whether p points at want (nil p never matches).
func sameTime(p *time.Time, want time.Time) bool { return p != nil && p.Equal(want) }

// fmtTime prints an optional time for failure messages.
func fmtTime(p *time.Time) string {
	if p == nil {
		return "<nil>"
	}
	return p.Format(time.RFC3339Nano)
}

// wantCode fails t unless err carries the domain error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := mealsync.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}
