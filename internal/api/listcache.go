package api

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
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
type listCache struct {
	pages      *lru.Cache[string, []byte]
	versionOf  func(context.Context) (int64, error)
	versionTTL time.Duration
	now        func() time.Time

	mu      sync.Mutex
	version int64
	checked time.Time // zero: read the version on next use
}

func newListCache(size int, versionTTL time.Duration, versionOf func(context.Context) (int64, error)) *listCache {
	if size <= 0 {
		return nil // caching off
	}
	pages, _ := lru.New[string, []byte](size) // size > 0: cannot fail
	return &listCache{pages: pages, versionOf: versionOf, versionTTL: versionTTL, now: time.Now}
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
