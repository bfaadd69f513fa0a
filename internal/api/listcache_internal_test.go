package api

import (
	"context"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
)

func TestCatalogueVersionIsReadAtMostOncePerTTL(t *testing.T) {
	reads, version := 0, int64(7)
	c := newListCache(10, time.Second, func(context.Context) (int64, error) { reads++; return version, nil }, nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	get := func() int64 {
		v, err := c.currentVersion(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get() != 7 || get() != 7 || reads != 1 {
		t.Fatalf("reads %d, want 1 within the TTL", reads)
	}
	version = 8 // another instance changed the catalogue
	now = now.Add(999 * time.Millisecond)
	if get() != 7 {
		t.Fatal("re-read before the TTL")
	}
	now = now.Add(time.Millisecond)
	if get() != 8 || reads != 2 {
		t.Fatalf("not re-read after the TTL: reads %d", reads)
	}
	version = 9 // this instance changed it
	c.invalidate()
	if get() != 9 || reads != 3 {
		t.Fatal("invalidate did not force a re-read")
	}
	if newListCache(0, time.Second, nil, nil) != nil {
		t.Fatal("size 0 must turn the cache off")
	}
}

// Whether a caller owns a private recipe is asked once per catalogue
// version: the common list request (a user with none) costs no query, and a
// new version (every private recipe created, published or deleted makes
// one) asks again.
func TestPrivateOwnershipIsAskedOncePerVersion(t *testing.T) {
	asked, owns := 0, false
	c := newListCache(10, time.Second, nil, func(context.Context, string) (bool, error) { asked++; return owns, nil })
	f := mealsync.RecipeFilter{Viewer: mealsync.Viewer{UserID: "u1"}, Name: "soup", Limit: 20}
	shared := func(version int64) bool {
		got, ok, err := c.catalogueFilter(context.Background(), version, f)
		if err != nil {
			t.Fatal(err)
		}
		if ok && (got.Viewer != mealsync.Viewer{} || got.Name != "soup") {
			t.Fatalf("the shared filter %+v still names its viewer or lost a filter", got)
		}
		return ok
	}
	if !shared(1) || !shared(1) || asked != 1 {
		t.Fatalf("asked %d times at one version, want once", asked)
	}
	owns = true
	if shared(2) || shared(2) || asked != 2 {
		t.Fatalf("asked %d times over two versions, want twice", asked)
	}
	catalogueOnly, privateOnly := true, false
	f.Published = &catalogueOnly
	if !shared(3) || asked != 2 {
		t.Fatal("published=true needs no question: it is the catalogue")
	}
	f.Published = &privateOnly
	if shared(3) || asked != 2 {
		t.Fatal("published=false is never shared")
	}
}
