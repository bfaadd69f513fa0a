package sqldb_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// changes reads the feed after version after and fails t on an error.
func changes(t *testing.T, db *sqldb.DB, after int64) ([]string, int64, bool) {
	t.Helper()
	ids, latest, complete, err := db.UserChangesSince(t.Context(), after)
	if err != nil {
		t.Fatalf("UserChangesSince(%d): %v", after, err)
	}
	return ids, latest, complete
}

// Every write to a user row — an update, a rehash, a token family's
// revocation, a deletion — is in the feed; a write that changed nothing is
// not, and a new user (whom no cache can hold yet) needs no entry.
func TestUserChangeFeedRecordsEveryWrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		a, b := mustCreateUser(t, db, now(), nil), mustCreateUser(t, db, now(), nil)
		if ids, latest, complete := changes(t, db, 0); len(ids) != 0 || latest != 0 || !complete {
			t.Fatalf("after creating users: %v, %d, %v; want nothing", ids, latest, complete)
		}
		name := "Renamed"
		steps := []struct {
			name  string
			write func() error
			want  []string // users the write must put in the feed
		}{
			{"update", func() error {
				_, err := db.UpdateUser(t.Context(), a.ID, mealsync.UserUpdate{Name: &name, At: now()})
				return err
			}, []string{a.ID}},
			{"rehash", func() error {
				_, err := db.ReplacePasswordHash(t.Context(), b.ID, b.PasswordHash, "$argon2id$new", now())
				return err
			}, []string{b.ID}},
			{"rehash of a changed hash", func() error {
				_, err := db.ReplacePasswordHash(t.Context(), b.ID, "stale", "$argon2id$newer", now())
				return err
			}, nil},
			{"revocation of a token family", func() error {
				tok := mustCreateToken(t, db, a.ID, uuid.NewString(), now())
				return db.RevokeTokenFamily(t.Context(), tok.FamilyID, now())
			}, []string{a.ID}},
			{"update of an unknown user", func() error {
				_, err := db.UpdateUser(t.Context(), uuid.NewString(), mealsync.UserUpdate{Name: &name, At: now()})
				if mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
					t.Errorf("unknown user: %v", err)
				}
				return nil
			}, nil},
			{"deletion", func() error { return db.DeleteUser(t.Context(), b.ID) }, []string{b.ID}},
		}
		var version int64
		for _, s := range steps {
			if err := s.write(); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			ids, latest, complete := changes(t, db, version)
			if !slices.Equal(ids, s.want) || !complete || latest != version+int64(len(s.want)) {
				t.Fatalf("%s: feed after %d = %v, %d, %v; want %v, %d, complete", s.name, version, ids, latest, complete, s.want, version+int64(len(s.want)))
			}
			version = latest
		}
		// Read from the start, each user once, in the order of first change.
		if ids, latest, complete := changes(t, db, 0); !slices.Equal(ids, []string{a.ID, b.ID}) || latest != 4 || !complete {
			t.Fatalf("whole feed = %v, %d, %v", ids, latest, complete)
		}
	})
}

// Once old entries are pruned, a reader that last asked before them learns
// that it must start over; one that is up to date does not.
func TestUserChangeFeedPruned(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		u := mustCreateUser(t, db, now(), nil)
		for _, n := range []string{"One", "Two", "Three"} {
			if _, err := db.UpdateUser(t.Context(), u.ID, mealsync.UserUpdate{Name: &n, At: now()}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.PruneUserChanges(t.Context(), now().Add(time.Minute)); err != nil || n != 3 {
			t.Fatalf("PruneUserChanges = %d, %v; want 3", n, err)
		}
		if _, latest, complete := changes(t, db, 1); complete || latest != 3 {
			t.Fatalf("a reader at version 1 after pruning: complete %v, latest %d; want incomplete at 3", complete, latest)
		}
		if ids, _, complete := changes(t, db, 3); len(ids) != 0 || !complete {
			t.Fatalf("an up-to-date reader after pruning: %v, complete %v", ids, complete)
		}
	})
}

// Concurrent writers take versions one after another: the feed has every
// change, numbered without gaps, whatever the interleaving.
func TestUserChangeFeedUnderConcurrentWrites(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		var users []*mealsync.User
		for range 8 {
			users = append(users, mustCreateUser(t, db, now(), nil))
		}
		var wg sync.WaitGroup
		for _, u := range users {
			for i := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					name := uuid.NewString()[:8] + string(rune('a'+i))
					if _, err := db.UpdateUser(t.Context(), u.ID, mealsync.UserUpdate{Name: &name, At: now()}); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
		ids, latest, complete := changes(t, db, 0)
		if latest != 24 || !complete || len(ids) != 8 {
			t.Fatalf("after 24 concurrent updates: %d users, latest %d, complete %v", len(ids), latest, complete)
		}
		// Every suffix of the feed is complete too: no version is missing.
		for after := int64(0); after < latest; after++ {
			if _, _, complete := changes(t, db, after); !complete {
				t.Fatalf("feed after %d is not complete: a version is missing", after)
			}
		}
	})
}
