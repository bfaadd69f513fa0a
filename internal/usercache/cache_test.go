package usercache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/usercache"
)

// counting counts the lookups that reach the database.
type counting struct {
	*sqldb.DB
	lookups atomic.Int64
	during  func() // runs inside a lookup, after the row was read
}

func (c *counting) UserByID(ctx context.Context, id string) (*mealsync.User, error) {
	c.lookups.Add(1)
	u, err := c.DB.UserByID(ctx, id)
	if c.during != nil {
		c.during()
	}
	return u, err
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const interval = 500 * time.Millisecond

type fixture struct {
	db    *sqldb.DB
	store *counting
	cache *usercache.Cache
	clock *clock
	user  *mealsync.User
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	f := &fixture{db: db, store: &counting{DB: db}, clock: &clock{t: time.Now()}}
	f.cache = usercache.New(f.store, db, 100, interval, f.clock.now)
	now := time.Now().UTC().Truncate(time.Microsecond)
	f.user = &mealsync.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", Name: "Ana",
		Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "$argon2id$x", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(t.Context(), f.user); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) lookup(t *testing.T) *mealsync.User {
	t.Helper()
	u, err := f.cache.UserByID(t.Context(), f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func forEachStore(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) { test(t, newFixture(t, s.Open(t))) })
	}
}

// While nothing changes, a user is read from the database once.
func TestRepeatedLookupsCostNoRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		for range 100 {
			if u := f.lookup(t); u.ID != f.user.ID || u.Name != "Ana" {
				t.Fatalf("got %+v", u)
			}
			f.clock.advance(interval) // the feed is asked again and again: nothing changed
		}
		if n := f.store.lookups.Load(); n != 1 {
			t.Fatalf("%d database lookups for 100 requests, want 1", n)
		}
	})
}

// The cache counts what it answered from memory and what it asked the
// store, as the metrics report them: every lookup is one or the other.
func TestLookupsAreCounted(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		for range 3 {
			f.lookup(t)
		}
		name := "Bea"
		if _, err := f.cache.UpdateUser(t.Context(), f.user.ID, mealsync.UserUpdate{Name: &name, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		f.lookup(t) // forgotten: from the store again
		f.lookup(t)
		hits, misses := f.cache.Lookups()
		if hits != 3 || misses != 2 || int64(misses) != f.store.lookups.Load() {
			t.Fatalf("counted %d hits and %d misses (the store was asked %d times), want 3 and 2",
				hits, misses, f.store.lookups.Load())
		}
	})
}

// A change made elsewhere (another instance: the database directly) shows
// once the interval has passed, not before — the bound on staleness.
func TestChangeElsewhereShowsWithinTheInterval(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		f.lookup(t)
		banned := mealsync.StatusBanned
		if _, err := f.db.UpdateUser(t.Context(), f.user.ID, mealsync.UserUpdate{Status: &banned, EndSessions: true, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(interval - time.Millisecond)
		if u := f.lookup(t); u.Status != mealsync.StatusActive {
			t.Fatalf("within the interval the cache answered %s; the test's premise is a cached copy", u.Status)
		}
		f.clock.advance(time.Millisecond)
		if u := f.lookup(t); u.Status != mealsync.StatusBanned || u.SessionEpoch != 1 {
			t.Fatalf("after the interval: status %s, epoch %d; want the ban and the ended sessions", u.Status, u.SessionEpoch)
		}
	})
}

// A change made through this instance shows at once.
func TestChangeHereShowsAtOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		f.lookup(t)
		name := "Bea"
		if _, err := f.cache.UpdateUser(t.Context(), f.user.ID, mealsync.UserUpdate{Name: &name, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if u := f.lookup(t); u.Name != "Bea" {
			t.Fatalf("name %q right after this instance changed it, want Bea", u.Name)
		}
		// A token family revoked here ends the sessions here at once too.
		tok := &mealsync.RefreshToken{ID: uuid.NewString(), UserID: f.user.ID, FamilyID: uuid.NewString(),
			Hash: uuid.NewString(), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
		if err := f.db.CreateRefreshToken(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		if err := f.cache.Tokens(f.db).RevokeTokenFamily(t.Context(), tok.FamilyID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if u := f.lookup(t); u.SessionEpoch != 1 {
			t.Fatalf("epoch %d right after the revocation, want 1", u.SessionEpoch)
		}
		if err := f.cache.DeleteUser(t.Context(), f.user.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.cache.UserByID(t.Context(), f.user.ID); mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
			t.Fatalf("a deleted user: %v, want not found", err)
		}
	})
}

// A copy read just before a change was forgotten is not kept: otherwise it
// would outlive the change until the user changed again.
func TestCopyReadDuringAChangeIsNotKept(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		name := "Changed"
		f.store.during = func() {
			f.store.during = nil
			if _, err := f.cache.UpdateUser(context.Background(), f.user.ID, mealsync.UserUpdate{Name: &name, At: time.Now()}); err != nil {
				t.Error(err)
			}
		}
		if u := f.lookup(t); u.Name != "Ana" {
			t.Fatalf("the racing lookup read %q; the test's premise is the copy from before", u.Name)
		}
		if u := f.lookup(t); u.Name != "Changed" {
			t.Fatalf("after the race the cache answers %q, want the change", u.Name)
		}
	})
}

// When the feed was pruned past what the cache knows, it forgets everyone.
func TestPrunedFeedForgetsEverything(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		f.lookup(t)
		for _, n := range []string{"One", "Two"} {
			if _, err := f.db.UpdateUser(t.Context(), f.user.ID, mealsync.UserUpdate{Name: &n, At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.db.PruneUserChanges(t.Context(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		f.clock.advance(interval)
		if u := f.lookup(t); u.Name != "Two" {
			t.Fatalf("after the feed was pruned the cache answers %q, want the stored Two", u.Name)
		}
	})
}

// What a caller does to the user it was given does not change the cache.
func TestAnswersAreCopies(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		u := f.lookup(t)
		u.Name, u.Role = "Mallory", mealsync.RoleAdmin
		u.Preferences.FavoriteCuisines = append(u.Preferences.FavoriteCuisines, "Thai")
		if again := f.lookup(t); again.Name != "Ana" || again.Role != mealsync.RoleUser || len(again.Preferences.FavoriteCuisines) != 0 {
			t.Fatalf("the cache kept a caller's edits: %+v", again)
		}
	})
}

// heldFeed is the database's feed, held mid-answer when armed: a poll that
// waits for a database connection.
type heldFeed struct {
	*sqldb.DB
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (h *heldFeed) UserChangesSince(ctx context.Context, after int64) ([]string, int64, bool, error) {
	if h.armed.Load() {
		h.entered <- struct{}{}
		<-h.release
	}
	return h.DB.UserChangesSince(ctx, after)
}

// While one request waits for the feed, the others answer from memory: none
// queues behind it (it may be waiting for a connection one of them holds).
func TestLookupsDoNotQueueBehindAPoll(t *testing.T) {
	forEachStore(t, func(t *testing.T, f *fixture) {
		feed := &heldFeed{DB: f.db, entered: make(chan struct{}), release: make(chan struct{})}
		f.cache = usercache.New(f.store, feed, 100, interval, f.clock.now)
		f.lookup(t) // first use: asks the feed, keeps the user
		reads := f.store.lookups.Load()

		feed.armed.Store(true)
		f.clock.advance(2 * interval)
		polled := make(chan error, 1)
		go func() {
			_, err := f.cache.UserByID(context.Background(), f.user.ID)
			polled <- err
		}()
		select {
		case <-feed.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the poll never reached the feed")
		}
		answered := make(chan *mealsync.User, 1)
		go func() {
			u, err := f.cache.UserByID(context.Background(), f.user.ID)
			if err != nil {
				t.Error(err)
			}
			answered <- u
		}()
		select {
		case u := <-answered:
			if u == nil || u.ID != f.user.ID {
				t.Fatalf("answered %+v while the poll waited", u)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a lookup waited for another request's poll of the feed")
		}
		if n := f.store.lookups.Load(); n != reads {
			t.Errorf("%d store reads while the poll waited, want none", n-reads)
		}
		close(feed.release)
		if err := <-polled; err != nil {
			t.Fatal(err)
		}
	})
}
