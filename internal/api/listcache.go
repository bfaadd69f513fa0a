package api

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
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

	reading sync.Mutex // held by the one request reading the version
	mu      sync.Mutex
	version int64
	checked time.Time // zero: read the version on next use
	writes  uint64    // invalidations, to tell one made while the version was read

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

// writeRecipeList writes the page of f (Normalized) for GET /recipes. A
// page that is the catalogue's comes from the cache, with an ETag that a
// matching If-None-Match answers with 304; any other page (the caller's
// private recipes in it, or caching off) is read fresh and never cached.
func (s *Server) writeRecipeList(w http.ResponseWriter, r *http.Request, f mealsync.RecipeFilter) error {
	c := s.listCache
	var version int64
	shared := false
	if c != nil {
		var err error
		switch version, err = c.currentVersion(r.Context()); {
		case errors.Is(err, errVersionBusy): // read fresh, uncached
		case err != nil:
			return err
		default:
			if f, shared, err = c.catalogueFilter(r.Context(), version, f); err != nil {
				return err
			}
		}
	}
	if !shared {
		page, err := s.recipes.ListRecipes(r.Context(), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, toPageDTO(page, toRecipeDTO))
		return nil
	}
	key := listKey(f)
	tag := etag(version, key)
	if r.Header.Get("If-None-Match") == tag {
		c.notModified()
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "no-cache") // revalidate with If-None-Match
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	cacheKey := fmt.Sprint(version, "|", key)
	body, ok := c.page(cacheKey)
	if !ok {
		page, err := s.recipes.ListRecipes(r.Context(), f)
		if err != nil {
			return err
		}
		if body, err = encodeJSON(toPageDTO(page, toRecipeDTO)); err != nil {
			return err
		}
		c.pages.Add(cacheKey, body)
	}
	w.Header().Set("ETag", tag)
	writeEncoded(w, http.StatusOK, "no-cache", body) // revalidate with If-None-Match
	return nil
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

// errVersionBusy: the version is being read after a change made here, so
// the one last read may be too old; the caller lists without the cache.
var errVersionBusy = errors.New("catalogue version being read")

// currentVersion returns the catalogue version, reading it at most once per
// versionTTL. One request reads it at a time; the others use the version
// last read meanwhile (errVersionBusy when this instance has just changed
// the catalogue), rather than queue behind a read that may be waiting for
// a database connection one of them holds.
func (c *listCache) currentVersion(ctx context.Context) (int64, error) {
	c.mu.Lock()
	if !c.checked.IsZero() && c.now().Sub(c.checked) < c.versionTTL {
		v := c.version
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	if !c.reading.TryLock() {
		c.mu.Lock()
		v, changedHere := c.version, c.checked.IsZero()
		c.mu.Unlock()
		if changedHere {
			return 0, errVersionBusy
		}
		return v, nil
	}
	defer c.reading.Unlock()
	c.mu.Lock()
	if !c.checked.IsZero() && c.now().Sub(c.checked) < c.versionTTL { // read meanwhile
		v := c.version
		c.mu.Unlock()
		return v, nil
	}
	writes := c.writes
	c.mu.Unlock()
	asked := c.now()
	v, err := c.versionOf(ctx)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = v
	if c.writes == writes { // else a change made here meanwhile may be newer: read again next time
		c.checked = asked
	}
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
	c.writes++
	c.mu.Unlock()
}

// listKey names a filter, which must be Normalized: equal filters (up to
// case, repeats and list order, which do not change the result) get equal
// keys.
func listKey(f mealsync.RecipeFilter) string {
	opt := func(p *int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%q|%q|%q|%q|%s|%s|%s|%d|%d", f.Name, f.Cuisines, f.Tags, f.Ingredients, f.Difficulty,
		opt(f.MaxTotalTime), opt(f.MinServings), f.Offset, f.Limit)
}

// etag identifies a page at a version, for conditional requests.
func etag(version int64, key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return fmt.Sprintf(`"c%d-%x"`, version, h.Sum64())
}
