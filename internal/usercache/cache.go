// Package usercache keeps user rows in memory, so that authenticating a
// request — which loads its user — costs no database round trip while
// nothing about the user changed. A change made on any instance (a ban, a
// password or role change, a sign-out everywhere) reaches every cache within
// one poll interval: the database records every write to a user row in a
// change feed (mealsync.UserChangeFeed), and the cache asks it, at most once
// per interval, which users changed since it last asked. A change made
// through this cache is forgotten at once.
//
// It imports the domain only; the store and the feed are the database's.
package usercache

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/mealsync/mealsync"
)

// Cache is a mealsync.UserStore that serves UserByID from memory and passes
// everything else to the store it wraps.
type Cache struct {
	mealsync.UserStore // writes and the other lookups go straight through
	feed               mealsync.UserChangeFeed
	users              *lru.Cache[string, *mealsync.User]
	interval           time.Duration
	now                func() time.Time

	asking  sync.Mutex // held by the one request asking the feed
	mu      sync.Mutex
	version int64     // the feed version the cache is up to date with
	checked time.Time // when it last asked; zero: ask before the next answer
	gen     uint64    // moves on with every forgetting (see UserByID)

	hits, misses atomic.Uint64 // UserByID answered from memory, from the store
}

var _ mealsync.UserStore = (*Cache)(nil)

// New returns a cache of up to size users over store. interval is how
// stale a user may be: how often the feed is asked.
func New(store mealsync.UserStore, feed mealsync.UserChangeFeed, size int, interval time.Duration, now func() time.Time) *Cache {
	users, _ := lru.New[string, *mealsync.User](max(size, 1)) // size ≥ 1: cannot fail
	return &Cache{UserStore: store, feed: feed, users: users, interval: interval, now: now}
}

// UserByID returns the user from memory when the cache is up to date with
// the feed, from the store otherwise (and keeps it).
func (c *Cache) UserByID(ctx context.Context, id string) (*mealsync.User, error) {
	gen, err := c.sync(ctx)
	if err != nil {
		return nil, err
	}
	if u, ok := c.users.Get(id); ok {
		c.hits.Add(1)
		return clone(u), nil
	}
	c.misses.Add(1)
	u, err := c.UserStore.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	// Keep it only if nothing was forgotten while it was read: a copy read
	// just before a change committed must not outlive that change's news.
	c.mu.Lock()
	if c.gen == gen {
		c.users.Add(id, clone(u))
	}
	c.mu.Unlock()
	return u, nil
}

// Lookups returns how many UserByID calls were answered from memory (hits)
// and how many went to the store (misses), since the cache was made.
func (c *Cache) Lookups() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}

// sync asks the feed what changed when the last answer is older than the
// interval, forgets those users, and returns the forgetting generation.
//
// One request asks at a time, holding no lock the others need meanwhile:
// while it waits for the database, the others answer from memory as of the
// last answer (a little older than the interval, never by more than that
// one read); a user this instance has just changed is not in memory any
// more, so it is read from the store. Only the first use waits. Waiting
// on every poll would put every request in a queue behind one that may
// itself be waiting for a database connection held by one of them (a
// request with its transaction open): with the pool full, none would move.
func (c *Cache) sync(ctx context.Context) (uint64, error) {
	c.mu.Lock()
	if c.fresh() {
		gen := c.gen
		c.mu.Unlock()
		return gen, nil
	}
	c.mu.Unlock()
	if !c.asking.TryLock() {
		c.mu.Lock()
		must, gen := c.checked.IsZero() && c.version == 0, c.gen
		c.mu.Unlock()
		if !must {
			return gen, nil
		}
		c.asking.Lock()
	}
	defer c.asking.Unlock()
	c.mu.Lock()
	if c.fresh() { // asked meanwhile
		gen := c.gen
		c.mu.Unlock()
		return gen, nil
	}
	first, version, gen := c.checked.IsZero() && c.version == 0, c.version, c.gen
	c.mu.Unlock()

	asked := c.now()
	ids, latest, complete, err := c.feed.UserChangesSince(ctx, version)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case first || !complete:
		c.users.Purge() // first use, or changes were pruned before it asked
	default:
		for _, id := range ids {
			c.users.Remove(id)
		}
	}
	// Only a forget moves gen on while the feed is asked (this is the one
	// asker): a change made here meanwhile may not be in this answer, so
	// ask again next time.
	unchanged := c.gen == gen
	if len(ids) > 0 || !complete {
		c.gen++
	}
	c.version = latest
	if unchanged {
		c.checked = asked
	}
	return c.gen, nil
}

// fresh reports whether the feed was asked less than an interval ago; c.mu
// is held.
func (c *Cache) fresh() bool {
	return !c.checked.IsZero() && c.now().Sub(c.checked) < c.interval
}

// forget drops a user this instance has just changed and makes the next
// lookup ask the feed, so the change shows here at once.
func (c *Cache) forget(id string) {
	c.mu.Lock()
	c.users.Remove(id)
	c.gen++
	c.checked = time.Time{}
	c.mu.Unlock()
}

// forgetWritten forgets a user this instance has just written, and again
// once the write is committed: a copy read in between (the write of a
// request sent with an Idempotency-Key commits at its end) is not kept.
func (c *Cache) forgetWritten(ctx context.Context, id string) {
	c.forget(id)
	mealsync.AfterCommit(ctx, func() { c.forget(id) })
}

// UpdateUser writes through and forgets the user.
func (c *Cache) UpdateUser(ctx context.Context, id string, upd mealsync.UserUpdate) (*mealsync.User, error) {
	defer c.forgetWritten(ctx, id)
	return c.UserStore.UpdateUser(ctx, id, upd)
}

// ReplacePasswordHash writes through and forgets the user.
func (c *Cache) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	defer c.forgetWritten(ctx, id)
	return c.UserStore.ReplacePasswordHash(ctx, id, oldHash, newHash, at)
}

// DeleteUser deletes through and forgets the user.
func (c *Cache) DeleteUser(ctx context.Context, id string) error {
	defer c.forgetWritten(ctx, id)
	return c.UserStore.DeleteUser(ctx, id)
}

// Tokens wraps a token store so that a token family's revocation — which
// ends its user's sessions in the database — makes this cache ask the feed
// before its next answer.
func (c *Cache) Tokens(store mealsync.TokenStore) mealsync.TokenStore {
	return tokens{TokenStore: store, c: c}
}

type tokens struct {
	mealsync.TokenStore
	c *Cache
}

func (t tokens) RevokeTokenFamily(ctx context.Context, familyID string, now time.Time) error {
	ask := func() {
		t.c.mu.Lock()
		t.c.checked = time.Time{}
		t.c.mu.Unlock()
	}
	defer func() { ask(); mealsync.AfterCommit(ctx, ask) }()
	return t.TokenStore.RevokeTokenFamily(ctx, familyID, now)
}

// clone copies u, its lists too: a caller may change what it was given
// without changing the cache.
func clone(u *mealsync.User) *mealsync.User {
	c := *u
	c.Preferences = mealsync.Preferences{
		DietaryRestrictions: slices.Clone(u.Preferences.DietaryRestrictions),
		FavoriteCuisines:    slices.Clone(u.Preferences.FavoriteCuisines),
		DislikedIngredients: slices.Clone(u.Preferences.DislikedIngredients),
	}
	return &c
}
