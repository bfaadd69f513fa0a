package api

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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

// While one request reads the catalogue version, the others use the one
// last read instead of queueing behind it; after a change made here they
// wait for the fresh one.
func TestVersionReadersDoNotQueueBehindARead(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	version := atomic.Int64{}
	version.Store(7)
	c := newListCache(10, time.Second, func(context.Context) (int64, error) {
		if held.Load() {
			entered <- struct{}{}
			<-release
		}
		return version.Load(), nil
	}, nil)
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if v, err := c.currentVersion(context.Background()); err != nil || v != 7 {
		t.Fatalf("first read: %d, %v", v, err)
	}

	held.Store(true)
	version.Store(8)
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	read := make(chan int64, 1)
	go func() {
		v, _ := c.currentVersion(context.Background())
		read <- v
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the read never reached the database")
	}
	other := make(chan int64, 1)
	go func() {
		v, _ := c.currentVersion(context.Background())
		other <- v
	}()
	select {
	case v := <-other:
		if v != 7 {
			t.Fatalf("while the read waited, another request got %d, want the last read 7", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request queued behind another's version read")
	}
	close(release)
	if v := <-read; v != 8 {
		t.Fatalf("the read returned %d, want 8", v)
	}

	// After a change made here the last version may be too old: while it
	// is read again, another request is told to list without the cache.
	c.invalidate()
	release = make(chan struct{})
	go func() {
		v, _ := c.currentVersion(context.Background())
		read <- v
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the read after the change never reached the database")
	}
	if _, err := c.currentVersion(context.Background()); !errors.Is(err, errVersionBusy) {
		t.Fatalf("during the read after a change made here: %v, want errVersionBusy", err)
	}
	close(release)
	<-read
}
