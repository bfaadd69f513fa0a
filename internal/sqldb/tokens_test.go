package sqldb_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

func TestRotateRefreshToken(t *testing.T) {
	type result struct {
		old     *mealsync.RefreshToken
		rotated bool
		err     error
	}
	rotate := func(t *testing.T, db *sqldb.DB, hash string, at time.Time) (*mealsync.RefreshToken, result) {
		t.Helper()
		// The successor names no user or family: they come from the old token.
		next := newToken("", "", at)
		old, rotated, err := db.RotateRefreshToken(t.Context(), hash, next, at)
		return next, result{old, rotated, err}
	}
	tests := []struct {
		name string
		// run rotates (after whatever setup the case needs) and returns the
		// successor it asked for, the result, and when the old token should
		// say it was rotated and revoked (nil: not).
		run         func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (next *mealsync.RefreshToken, r result, rotatedAt, revokedAt *time.Time)
		wantRotated bool
		wantCode    string
	}{
		{
			name: "fresh token",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				at := tok.CreatedAt.Add(time.Minute)
				next, r := rotate(t, db, tok.Hash, at)
				return next, r, &at, nil
			},
			wantRotated: true,
		},
		{
			name: "a microsecond before expiry",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				at := tok.ExpiresAt.Add(-time.Microsecond)
				next, r := rotate(t, db, tok.Hash, at)
				return next, r, &at, nil
			},
			wantRotated: true,
		},
		{
			name: "already rotated",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				first := tok.CreatedAt.Add(time.Minute)
				if _, r := rotate(t, db, tok.Hash, first); r.err != nil || !r.rotated {
					t.Fatalf("first rotation: rotated=%v err=%v", r.rotated, r.err)
				}
				next, r := rotate(t, db, tok.Hash, first.Add(time.Second))
				return next, r, &first, nil
			},
		},
		{
			name: "revoked",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				revoked := tok.CreatedAt.Add(time.Minute)
				if err := db.RevokeTokenFamily(t.Context(), tok.FamilyID, revoked); err != nil {
					t.Fatal(err)
				}
				next, r := rotate(t, db, tok.Hash, revoked.Add(time.Second))
				return next, r, nil, &revoked
			},
		},
		{
			name: "expiring now",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				next, r := rotate(t, db, tok.Hash, tok.ExpiresAt)
				return next, r, nil, nil
			},
		},
		{
			name: "expired",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				next, r := rotate(t, db, tok.Hash, tok.ExpiresAt.Add(time.Hour))
				return next, r, nil, nil
			},
		},
		{
			name: "unknown hash",
			run: func(t *testing.T, db *sqldb.DB, tok *mealsync.RefreshToken) (*mealsync.RefreshToken, result, *time.Time, *time.Time) {
				next, r := rotate(t, db, "no-such-hash", tok.CreatedAt.Add(time.Minute))
				return next, r, nil, nil
			},
			wantCode: mealsync.ENOTFOUND,
		},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := mustCreateUser(t, db, now(), nil)
				tok := mustCreateToken(t, db, u.ID, uuid.NewString(), now())
				next, r, rotatedAt, revokedAt := tt.run(t, db, tok)

				if tt.wantCode != "" {
					wantCode(t, r.err, tt.wantCode)
					if r.old != nil || r.rotated {
						t.Errorf("got old=%+v rotated=%v with the error", r.old, r.rotated)
					}
				} else {
					if r.err != nil {
						t.Fatalf("RotateRefreshToken: %v", r.err)
					}
					if r.rotated != tt.wantRotated {
						t.Errorf("rotated = %v, want %v", r.rotated, tt.wantRotated)
					}
					sameToken(t, "returned old token", r.old, tok, rotatedBefore(tt.wantRotated, rotatedAt), revokedAt)
				}

				stored, _ := storedToken(t, db, tok.Hash)
				sameToken(t, "stored old token", &stored, tok, rotatedAt, revokedAt)
				s, ok := storedToken(t, db, next.Hash)
				switch {
				case tt.wantRotated && !ok:
					t.Error("the successor was not stored")
				case tt.wantRotated:
					want := *next
					want.UserID, want.FamilyID = tok.UserID, tok.FamilyID
					sameToken(t, "stored successor", &s, &want, nil, nil)
				case ok:
					t.Errorf("a successor was stored although nothing rotated: %+v", s)
				}
			})
		}
	})
}

// rotatedBefore is when the returned old token says it was rotated: the
// call that rotates it returns it as it was before, not yet rotated.
func rotatedBefore(rotatedNow bool, rotatedAt *time.Time) *time.Time {
	if rotatedNow {
		return nil
	}
	return rotatedAt
}

// sameToken fails t unless got is want with the given rotation and revocation times.
func sameToken(t *testing.T, what string, got, want *mealsync.RefreshToken, rotatedAt, revokedAt *time.Time) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing", what)
		return
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.FamilyID != want.FamilyID || got.Hash != want.Hash {
		t.Errorf("%s: id/user/family/hash = %s/%s/%s/%s, want %s/%s/%s/%s", what,
			got.ID, got.UserID, got.FamilyID, got.Hash, want.ID, want.UserID, want.FamilyID, want.Hash)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("%s: created/expires = %v/%v, want %v/%v", what, got.CreatedAt, got.ExpiresAt, want.CreatedAt, want.ExpiresAt)
	}
	for _, tm := range []struct {
		name      string
		got, want *time.Time
	}{{"RotatedAt", got.RotatedAt, rotatedAt}, {"RevokedAt", got.RevokedAt, revokedAt}} {
		if (tm.got == nil) != (tm.want == nil) || tm.want != nil && !tm.got.Equal(*tm.want) {
			t.Errorf("%s: %s = %s, want %s", what, tm.name, fmtTime(tm.got), fmtTime(tm.want))
		}
	}
}

// TestRotateRefreshTokenConcurrently presents one token many times at once,
// as a client retrying a refresh does: exactly one call may win, and every
// other one must see the token as already rotated.
func TestRotateRefreshTokenConcurrently(t *testing.T) {
	const callers, rounds = 8, 5
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		for round := range rounds {
			tok := mustCreateToken(t, db, u.ID, uuid.NewString(), now())
			at := now()
			type result struct {
				next    *mealsync.RefreshToken
				old     *mealsync.RefreshToken
				rotated bool
				err     error
			}
			results := make([]result, callers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					next := newToken("", "", at)
					<-start
					old, rotated, err := db.RotateRefreshToken(t.Context(), tok.Hash, next, at)
					results[i] = result{next, old, rotated, err}
				})
			}
			close(start)
			wg.Wait()

			winners := 0
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("round %d, caller %d: %v", round, i, r.err)
				}
				_, stored := storedToken(t, db, r.next.Hash)
				if stored != r.rotated {
					t.Errorf("round %d, caller %d: rotated=%v but successor stored=%v", round, i, r.rotated, stored)
				}
				if r.rotated {
					winners++
					continue
				}
				// A loser must be told the token was rotated, so that the
				// caller treats it as reuse rather than as valid.
				if !sameTime(r.old.RotatedAt, at) || r.old.RevokedAt != nil {
					t.Errorf("round %d, caller %d lost: old rotated_at=%s revoked_at=%s, want rotated at %s",
						round, i, fmtTime(r.old.RotatedAt), fmtTime(r.old.RevokedAt), at)
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d of %d concurrent rotations succeeded, want exactly 1", round, winners, callers)
			}
		}
	})
}

func TestRevokeTokenFamily(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		other := mustCreateUser(t, db, at, nil)
		family, sibling := uuid.NewString(), uuid.NewString()

		first := mustCreateToken(t, db, u.ID, family, at)
		second := newToken("", "", at)
		if _, ok, err := db.RotateRefreshToken(t.Context(), first.Hash, second, at); err != nil || !ok {
			t.Fatalf("rotate: rotated=%v err=%v", ok, err)
		}
		inFamily := []*mealsync.RefreshToken{first, second}
		outside := []*mealsync.RefreshToken{
			mustCreateToken(t, db, u.ID, sibling, at),              // same user, another login
			mustCreateToken(t, db, other.ID, uuid.NewString(), at), // another user
		}

		revoked := at.Add(time.Minute)
		if err := db.RevokeTokenFamily(t.Context(), family, revoked); err != nil {
			t.Fatalf("RevokeTokenFamily: %v", err)
		}
		// Revoking again keeps the first revocation time.
		if err := db.RevokeTokenFamily(t.Context(), family, revoked.Add(time.Hour)); err != nil {
			t.Fatalf("RevokeTokenFamily again: %v", err)
		}
		for _, tok := range inFamily {
			if s, _ := storedToken(t, db, tok.Hash); !sameTime(s.RevokedAt, revoked) {
				t.Errorf("token %s of the family: revoked_at = %s, want %s", tok.ID, fmtTime(s.RevokedAt), revoked)
			}
		}
		for _, tok := range outside {
			if s, _ := storedToken(t, db, tok.Hash); s.RevokedAt != nil {
				t.Errorf("token %s outside the family: revoked_at = %s, want none", tok.ID, fmtTime(s.RevokedAt))
			}
		}
		if err := db.RevokeTokenFamily(t.Context(), uuid.NewString(), revoked); err != nil {
			t.Errorf("RevokeTokenFamily of an unknown family: %v, want no error", err)
		}
		// Each revocation ended the family's user's access tokens; nobody else's.
		for _, c := range []struct {
			who   *mealsync.User
			epoch int64
		}{{u, 2}, {other, 0}} {
			got, err := db.UserByID(t.Context(), c.who.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.SessionEpoch != c.epoch {
				t.Errorf("user %s: session epoch %d, want %d", c.who.Email, got.SessionEpoch, c.epoch)
			}
		}
	})
}

func TestCreateRefreshTokenUnknownUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		tok := newToken(uuid.NewString(), uuid.NewString(), now())
		wantCode(t, db.CreateRefreshToken(t.Context(), tok), mealsync.ENOTFOUND)
		if _, ok := storedToken(t, db, tok.Hash); ok {
			t.Error("a token of an unknown user was stored")
		}
	})
}
