package api

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/mealsync/mealsync"
)

// listCache keeps encoded pages of the public catalogue list. Each entry is
// keyed by the catalogue version it was read at, and the version is a
// counter the database bumps in the same transaction as every recipe change,
// so a page is never served after a change became visible for longer than
// versionTTL — on any instance — and immediately on the instance that made
// the change (invalidate).
//
// Only catalogue pages are kept: a page that may hold a user's private
// recipes is theirs alone and is never cached. Most callers own no private
// recipe, and their list is the catalogue's; whether a user owns one is
// remembered per version too (every private recipe created, published or
// deleted bumps it), so the common case costs no query.
type listCache struct {
	pages      *lru.Cache[string, []byte]
	hasPrivate *lru.Cache[string, bool] // by version and user id
	versionOf  func(context.Context) (int64, error)
	privateOf  func(ctx context.Context, userID string) (bool, error)
	versionTTL time.Duration
	now        func() time.Time

	mu      sync.Mutex
	version int64
	checked time.Time // zero: read the version on next use

	hits, misses atomic.Uint64 // catalogue pages served from memory, built
}

func newListCache(size int, versionTTL time.Duration, versionOf func(context.Context) (int64, error),
	privateOf func(ctx context.Context, userID string) (bool, error)) *listCache {
	if size <= 0 {
		return nil // caching off
	}
	pages, _ := lru.New[string, []byte](size) // size > 0: cannot fail
	hasPrivate, _ := lru.New[string, bool](size)
	return &listCache{pages: pages, hasPrivate: hasPrivate, versionOf: versionOf, privateOf: privateOf,
		versionTTL: versionTTL, now: time.Now}
}

// catalogueFilter returns the filter of f's page as anyone would ask for
// it, and true, when that page is the catalogue's: f asks for the catalogue
// only, or its viewer owns no private recipe at version. Otherwise the page
// may hold the viewer's private recipes and must not be shared: false.
func (c *listCache) catalogueFilter(ctx context.Context, version int64, f mealsync.RecipeFilter) (mealsync.RecipeFilter, bool, error) {
	switch {
	case f.Published != nil && !*f.Published:
		return f, false, nil
	case f.Published == nil && f.Viewer.UserID != "":
		key := fmt.Sprint(version, "|", f.Viewer.UserID)
		has, ok := c.hasPrivate.Get(key)
		if !ok {
			var err error
			if has, err = c.privateOf(ctx, f.Viewer.UserID); err != nil {
				return f, false, err
			}
			c.hasPrivate.Add(key, has)
		}
		if has {
			return f, false, nil
		}
	}
	f.Viewer, f.Published = mealsync.Viewer{}, nil
	return f, true, nil
}

// currentVersion returns the catalogue version, reading it at most once per
// versionTTL.
func (c *listCache) currentVersion(ctx context.Context) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked.IsZero() && c.now().Sub(c.checked) < c.versionTTL {
		return c.version, nil
	}
	v, err := c.versionOf(ctx)
	if err != nil {
		return 0, err
	}
	c.version, c.checked = v, c.now()
	return v, nil
}

// page returns the encoded page kept under key, counting the lookup.
func (c *listCache) page(key string) ([]byte, bool) {
	body, ok := c.pages.Get(key)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return body, ok
}

// notModified counts a conditional request answered 304: the client's copy
// was this page, so it was served without building it.
func (c *listCache) notModified() { c.hits.Add(1) }

// Lookups returns how many catalogue pages were served from memory (hits,
// 304s included) and how many were built (misses). Lists that may hold the
// caller's private recipes are never looked up, so never counted.
func (s *Server) ListCacheLookups() (hits, misses uint64) {
	if s.listCache == nil {
		return 0, 0
	}
	return s.listCache.hits.Load(), s.listCache.misses.Load()
}

// invalidate makes the next lookup re-read the version: this instance has
// just changed the catalogue.
func (c *listCache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.checked = time.Time{}
	c.mu.Unlock()
}

// listKey names a filter: equal filters (up to case and list order, which
// do not change the result) get equal keys.
func listKey(f mealsync.RecipeFilter) string {
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(strings.TrimSpace(s))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	opt := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%q|%q|%q|%q|%s|%s|%s|%d|%d", strings.ToLower(strings.TrimSpace(f.Name)),
		norm(f.Cuisines), norm(f.Tags), norm(f.Ingredients), f.Difficulty, opt(f.MaxTotalTime),
		opt(f.MinServings), f.Offset, f.Limit)
}

// etag identifies a page at a version, for conditional requests.
func etag(version int64, key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return fmt.Sprintf(`"c%d-%x"`, version, h.Sum64())
}
