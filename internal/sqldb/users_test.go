package sqldb_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// sameUser fails t unless got matches want field by field. Preference lists
// compare by content: a missing list and an empty one mean the same.
func sameUser(t *testing.T, got, want *mealsync.User) {
	t.Helper()
	if got == nil {
		t.Fatal("got no user")
	}
	type field struct {
		name      string
		got, want any
	}
	for _, f := range []field{
		{"ID", got.ID, want.ID},
		{"Email", got.Email, want.Email},
		{"Name", got.Name, want.Name},
		{"Role", got.Role, want.Role},
		{"Status", got.Status, want.Status},
		{"PasswordHash", got.PasswordHash, want.PasswordHash},
		{"SessionEpoch", got.SessionEpoch, want.SessionEpoch},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	for _, l := range []struct {
		name      string
		got, want []string
	}{
		{"DietaryRestrictions", got.Preferences.DietaryRestrictions, want.Preferences.DietaryRestrictions},
		{"FavoriteCuisines", got.Preferences.FavoriteCuisines, want.Preferences.FavoriteCuisines},
		{"DislikedIngredients", got.Preferences.DislikedIngredients, want.Preferences.DislikedIngredients},
	} {
		if !slices.Equal(l.got, l.want) {
			t.Errorf("Preferences.%s = %q, want %q", l.name, l.got, l.want)
		}
	}
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{{"CreatedAt", got.CreatedAt, want.CreatedAt}, {"UpdatedAt", got.UpdatedAt, want.UpdatedAt}} {
		if !tm.got.Equal(tm.want) || tm.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", tm.name, tm.got, tm.want)
		}
	}
}

func TestUserRoundTrip(t *testing.T) {
	at := now()
	tests := []struct {
		name   string
		change func(u *mealsync.User)
		// lookups are the emails UserByEmail must find the user by.
		lookups func(email string) []string
	}{
		{
			name: "every field set",
			change: func(u *mealsync.User) {
				u.Email = "Every.Field+" + u.ID + "@Example.COM"
				u.Name = `Zoë "Chef" O'Brien`
				u.Role = mealsync.RoleAdmin
				u.Status = mealsync.StatusBanned
				u.Preferences = mealsync.Preferences{
					DietaryRestrictions: []string{"vegetarian", "gluten-free"},
					FavoriteCuisines:    []string{"Thai", "crème brûlée", `quoted "one"`},
					DislikedIngredients: []string{"cilantro"},
				}
				u.CreatedAt = at.Add(-36 * time.Hour)
				u.UpdatedAt = at.Add(-time.Microsecond)
			},
			lookups: func(email string) []string {
				return []string{email, strings.ToLower(email), strings.ToUpper(email)}
			},
		},
		{
			name:   "no preferences",
			change: func(u *mealsync.User) { u.Status = mealsync.StatusInactive },
			lookups: func(email string) []string {
				return []string{email, strings.ToUpper(email)}
			},
		},
		{
			// The HTTP layer accepts internationalised addresses, so the
			// exact address must always find its user, whatever lower()
			// means to the database.
			name:   "non-ASCII email",
			change: func(u *mealsync.User) { u.Email = "ÉLODIE-" + u.ID + "@Example.com" },
			lookups: func(email string) []string {
				local, domain, _ := strings.Cut(email, "@")
				return []string{email, local + "@" + strings.ToUpper(domain), local + "@" + strings.ToLower(domain)}
			},
		},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := mustCreateUser(t, db, at, tt.change)
				got, err := db.UserByID(t.Context(), want.ID)
				if err != nil {
					t.Fatalf("UserByID: %v", err)
				}
				sameUser(t, got, want)
				for _, email := range tt.lookups(want.Email) {
					got, err := db.UserByEmail(t.Context(), email)
					if err != nil {
						t.Fatalf("UserByEmail(%q): %v", email, err)
					}
					sameUser(t, got, want)
				}
			})
		}
	})
}

func TestCreateUserConflict(t *testing.T) {
	at := now()
	tests := []struct {
		name  string
		again func(first *mealsync.User) func(u *mealsync.User)
	}{
		{"same email", func(first *mealsync.User) func(u *mealsync.User) {
			return func(u *mealsync.User) { u.Email = first.Email }
		}},
		{"email differing only by case", func(first *mealsync.User) func(u *mealsync.User) {
			return func(u *mealsync.User) { u.Email = strings.ToUpper(first.Email) }
		}},
		{"same id", func(first *mealsync.User) func(u *mealsync.User) {
			return func(u *mealsync.User) { u.ID = first.ID }
		}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				first := mustCreateUser(t, db, at, nil)
				second := newUser(at, tt.again(first))
				wantCode(t, db.CreateUser(t.Context(), second), mealsync.ECONFLICT)
				// The first user is untouched and no second one exists.
				got, err := db.UserByEmail(t.Context(), first.Email)
				if err != nil {
					t.Fatalf("UserByEmail: %v", err)
				}
				sameUser(t, got, first)
				if second.ID != first.ID {
					_, err := db.UserByID(t.Context(), second.ID)
					wantCode(t, err, mealsync.ENOTFOUND)
				}
			})
		}
	})
}

func TestUserNotFound(t *testing.T) {
	unknown := uuid.NewString()
	tests := []struct {
		name string
		call func(t *testing.T, db *sqldb.DB) error
	}{
		{"UserByID", func(t *testing.T, db *sqldb.DB) error {
			_, err := db.UserByID(t.Context(), unknown)
			return err
		}},
		{"UserByEmail", func(t *testing.T, db *sqldb.DB) error {
			_, err := db.UserByEmail(t.Context(), "nobody@example.com")
			return err
		}},
		{"UpdateUser", func(t *testing.T, db *sqldb.DB) error {
			name := "Nobody"
			_, err := db.UpdateUser(t.Context(), unknown, mealsync.UserUpdate{Name: &name, At: now()})
			return err
		}},
		{"UpdateUser ending sessions", func(t *testing.T, db *sqldb.DB) error {
			_, err := db.UpdateUser(t.Context(), unknown, mealsync.UserUpdate{EndSessions: true, At: now()})
			return err
		}},
		{"DeleteUser", func(t *testing.T, db *sqldb.DB) error {
			return db.DeleteUser(t.Context(), unknown)
		}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		// Another user exists, so "not found" is not just "table empty".
		mustCreateUser(t, db, now(), nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(t, db), mealsync.ENOTFOUND) })
		}
	})
}

func TestListUsers(t *testing.T) {
	base := now()
	// Users are inserted out of order; "tie-a" and "tie-b" share created_at
	// so that id decides, and tie-b is inserted first.
	type seed struct {
		key     string
		id      string
		role    mealsync.Role
		status  mealsync.Status
		created time.Duration // after base
	}
	seeds := []seed{
		{"admin-late", uuid.NewString(), mealsync.RoleAdmin, mealsync.StatusActive, 4 * time.Hour},
		{"tie-b", "ffffffff-0000-4000-8000-000000000000", mealsync.RoleUser, mealsync.StatusActive, 2 * time.Hour},
		{"banned", uuid.NewString(), mealsync.RoleUser, mealsync.StatusBanned, time.Hour},
		{"tie-a", "00000000-0000-4000-8000-000000000000", mealsync.RoleUser, mealsync.StatusActive, 2 * time.Hour},
		{"admin-early", uuid.NewString(), mealsync.RoleAdmin, mealsync.StatusInactive, time.Microsecond},
		{"first", uuid.NewString(), mealsync.RoleUser, mealsync.StatusActive, 0},
	}
	tests := []struct {
		name   string
		filter mealsync.UserFilter
		want   []string // keys, in order
	}{
		{"all", mealsync.UserFilter{}, []string{"first", "admin-early", "banned", "tie-a", "tie-b", "admin-late"}},
		{"admins", mealsync.UserFilter{Role: mealsync.RoleAdmin}, []string{"admin-early", "admin-late"}},
		{"banned", mealsync.UserFilter{Status: mealsync.StatusBanned}, []string{"banned"}},
		{"active users", mealsync.UserFilter{Role: mealsync.RoleUser, Status: mealsync.StatusActive}, []string{"first", "tie-a", "tie-b"}},
		{"active admins", mealsync.UserFilter{Role: mealsync.RoleAdmin, Status: mealsync.StatusActive}, []string{"admin-late"}},
		{"no match", mealsync.UserFilter{Role: mealsync.RoleAdmin, Status: mealsync.StatusBanned}, []string{}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		byKey := map[string]*mealsync.User{}
		for _, s := range seeds {
			byKey[s.key] = mustCreateUser(t, db, base.Add(s.created), func(u *mealsync.User) {
				u.ID, u.Email, u.Role, u.Status = s.id, s.key+"@example.com", s.role, s.status
				u.Preferences.FavoriteCuisines = []string{s.key}
			})
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.ListUsers(t.Context(), tt.filter)
				if err != nil {
					t.Fatalf("ListUsers: %v", err)
				}
				if got == nil {
					t.Error("ListUsers returned nil, want an empty list")
				}
				var gotKeys []string
				for _, u := range got {
					gotKeys = append(gotKeys, strings.TrimSuffix(u.Email, "@example.com"))
				}
				if !slices.Equal(gotKeys, tt.want) {
					t.Fatalf("ListUsers(%+v) = %q, want %q", tt.filter, gotKeys, tt.want)
				}
				for _, u := range got {
					sameUser(t, u, byKey[strings.TrimSuffix(u.Email, "@example.com")])
				}
			})
		}
	})
}

func TestUpdateUser(t *testing.T) {
	name, hash := "Renamed", "$2a$10$new-hash"
	role, status := mealsync.RoleAdmin, mealsync.StatusInactive
	none, cuisines, disliked := []string{}, []string{"Ethiopian", "Korean"}, []string{"olives"}
	tests := []struct {
		name string
		upd  mealsync.UserUpdate
		want func(u *mealsync.User) // what the update changes, besides UpdatedAt
	}{
		{"every field, keeping sessions", mealsync.UserUpdate{Name: &name, PasswordHash: &hash, Role: &role,
			Status: &status, DietaryRestrictions: &none, FavoriteCuisines: &cuisines, DislikedIngredients: &disliked},
			func(u *mealsync.User) {
				u.Name, u.PasswordHash, u.Role, u.Status = name, hash, role, status
				u.Preferences = mealsync.Preferences{DietaryRestrictions: none, FavoriteCuisines: cuisines, DislikedIngredients: disliked}
			}},
		{"every field, ending sessions", mealsync.UserUpdate{Name: &name, PasswordHash: &hash, Role: &role,
			Status: &status, DietaryRestrictions: &none, FavoriteCuisines: &cuisines, DislikedIngredients: &disliked, EndSessions: true},
			func(u *mealsync.User) {
				u.Name, u.PasswordHash, u.Role, u.Status = name, hash, role, status
				u.Preferences = mealsync.Preferences{DietaryRestrictions: none, FavoriteCuisines: cuisines, DislikedIngredients: disliked}
				u.SessionEpoch++
			}},
		{"the name alone", mealsync.UserUpdate{Name: &name}, func(u *mealsync.User) { u.Name = name }},
		{"one preference list alone", mealsync.UserUpdate{FavoriteCuisines: &cuisines},
			func(u *mealsync.User) { u.Preferences.FavoriteCuisines = cuisines }},
		{"the status alone, ending sessions", mealsync.UserUpdate{Status: &status, EndSessions: true},
			func(u *mealsync.User) { u.Status = status; u.SessionEpoch++ }},
		{"sessions alone", mealsync.UserUpdate{EndSessions: true}, func(u *mealsync.User) { u.SessionEpoch++ }},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				created := now().Add(-time.Hour)
				u := mustCreateUser(t, db, created, func(u *mealsync.User) {
					u.Preferences.DietaryRestrictions = []string{"vegan"}
					u.SessionEpoch = 3
				})
				other := mustCreateUser(t, db, created, nil)
				family := uuid.NewString()
				// Two families of u, one already revoked earlier, and one of another user.
				mine := []*mealsync.RefreshToken{
					mustCreateToken(t, db, u.ID, family, created),
					mustCreateToken(t, db, u.ID, family, created),
					mustCreateToken(t, db, u.ID, uuid.NewString(), created),
				}
				earlier := created.Add(time.Minute)
				old := mustCreateToken(t, db, u.ID, uuid.NewString(), created)
				if err := db.RevokeTokenFamily(t.Context(), old.FamilyID, earlier); err != nil {
					t.Fatal(err)
				}
				u.SessionEpoch++ // the revocation ended u's sessions
				theirs := mustCreateToken(t, db, other.ID, uuid.NewString(), created)

				updated := now()
				upd := tt.upd
				upd.At = updated
				got, err := db.UpdateUser(t.Context(), u.ID, upd)
				if err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
				want := *u
				tt.want(&want)
				want.UpdatedAt = updated
				sameUser(t, got, &want)
				stored, err := db.UserByID(t.Context(), u.ID)
				if err != nil {
					t.Fatalf("UserByID: %v", err)
				}
				sameUser(t, stored, &want)
				if stored, err = db.UserByID(t.Context(), other.ID); err != nil {
					t.Fatalf("UserByID(other): %v", err)
				}
				sameUser(t, stored, other)

				for _, tok := range mine {
					s, _ := storedToken(t, db, tok.Hash)
					if upd.EndSessions && !sameTime(s.RevokedAt, updated) {
						t.Errorf("token of the updated user: revoked_at = %s, want %s", fmtTime(s.RevokedAt), updated)
					}
					if !upd.EndSessions && s.RevokedAt != nil {
						t.Errorf("token of the updated user: revoked_at = %s, want none", fmtTime(s.RevokedAt))
					}
				}
				if s, _ := storedToken(t, db, old.Hash); !sameTime(s.RevokedAt, earlier) {
					t.Errorf("token revoked before: revoked_at = %s, want it kept at %s", fmtTime(s.RevokedAt), earlier)
				}
				if s, _ := storedToken(t, db, theirs.Hash); s.RevokedAt != nil {
					t.Errorf("another user's token: revoked_at = %s, want none", fmtTime(s.RevokedAt))
				}
			})
		}
	})
}

// Requests that change different fields of one user at the same time all
// keep their change: none writes back a value it read before another wrote.
func TestUpdateUserConcurrentChangesAllSurvive(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for round := range 5 {
			u := mustCreateUser(t, db, now(), nil)
			name, hash, status := fmt.Sprintf("Round %d", round), fmt.Sprintf("$argon2id$new-%d", round), mealsync.StatusBanned
			diet, cuisines := []string{"vegan"}, []string{"Thai"}
			updates := []mealsync.UserUpdate{
				{Name: &name}, {PasswordHash: &hash, EndSessions: true}, {Status: &status, EndSessions: true},
				{DietaryRestrictions: &diet}, {FavoriteCuisines: &cuisines},
			}
			start := make(chan struct{})
			errs := make(chan error, len(updates))
			for _, upd := range updates {
				go func() {
					<-start
					upd.At = now()
					_, err := db.UpdateUser(t.Context(), u.ID, upd)
					errs <- err
				}()
			}
			close(start)
			for range updates {
				if err := <-errs; err != nil {
					t.Fatalf("UpdateUser: %v", err)
				}
			}
			got, err := db.UserByID(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != name || got.PasswordHash != hash || got.Status != status || got.SessionEpoch != 2 ||
				!slices.Equal(got.Preferences.DietaryRestrictions, diet) || !slices.Equal(got.Preferences.FavoriteCuisines, cuisines) {
				t.Fatalf("round %d: after concurrent updates the user is %+v; every change must survive, and the epoch be 2", round, got)
			}
		}
	})
}

func TestReplacePasswordHash(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		ok, err := db.ReplacePasswordHash(t.Context(), u.ID, u.PasswordHash, "$argon2id$rehashed", now())
		if err != nil || !ok {
			t.Fatalf("ReplacePasswordHash of the current hash = %v, %v; want true", ok, err)
		}
		// A rehash computed from the old hash after a password change must not land.
		changed := "$argon2id$changed"
		if _, err := db.UpdateUser(t.Context(), u.ID, mealsync.UserUpdate{PasswordHash: &changed, At: now()}); err != nil {
			t.Fatal(err)
		}
		ok, err = db.ReplacePasswordHash(t.Context(), u.ID, "$argon2id$rehashed", "$argon2id$stale", now())
		if err != nil || ok {
			t.Fatalf("ReplacePasswordHash of a replaced hash = %v, %v; want false", ok, err)
		}
		got, err := db.UserByID(t.Context(), u.ID)
		if err != nil || got.PasswordHash != changed {
			t.Fatalf("hash = %q (%v), want the changed one kept", got.PasswordHash, err)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		other := mustCreateUser(t, db, at, nil)
		family := uuid.NewString()
		mine := []*mealsync.RefreshToken{
			mustCreateToken(t, db, u.ID, family, at),
			mustCreateToken(t, db, u.ID, uuid.NewString(), at),
		}
		theirs := mustCreateToken(t, db, other.ID, family, at)

		if err := db.DeleteUser(t.Context(), u.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err := db.UserByID(t.Context(), u.ID)
		wantCode(t, err, mealsync.ENOTFOUND)
		_, err = db.UserByEmail(t.Context(), u.Email)
		wantCode(t, err, mealsync.ENOTFOUND)
		for _, tok := range mine {
			if _, ok := storedToken(t, db, tok.Hash); ok {
				t.Errorf("token %s of the deleted user is still stored", tok.ID)
			}
		}
		if _, ok := storedToken(t, db, theirs.Hash); !ok {
			t.Error("another user's token was deleted too")
		}
		if _, err := db.UserByID(t.Context(), other.ID); err != nil {
			t.Errorf("another user: %v", err)
		}
		wantCode(t, db.DeleteUser(t.Context(), u.ID), mealsync.ENOTFOUND)
	})
}
