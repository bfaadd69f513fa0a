package auth

import (
	"sync"
	"time"
)

// fakeClock is a mealsync.Clock the test moves by hand, so expiry and
// throttling windows are tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// newFakeClock starts on whole seconds, which every database stores exactly.
func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
