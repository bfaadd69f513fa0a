package api

import (
	"context"
	"testing"
	"time"
)

func TestCatalogueVersionIsReadAtMostOncePerTTL(t *testing.T) {
	reads, version := 0, int64(7)
	c := newListCache(10, time.Second, func(context.Context) (int64, error) { reads++; return version, nil })
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
	if newListCache(0, time.Second, nil) != nil {
		t.Fatal("size 0 must turn the cache off")
	}
}
