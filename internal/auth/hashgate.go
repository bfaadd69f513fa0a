package auth

import (
	"context"
	"math"
	"time"

	"github.com/mealsync/mealsync"
)

// hashBytes is what one password hash holds in memory while it runs: the
// argon2id memory cost and a margin for its buffers and goroutine.
const hashBytes = argonMemory*1024 + 1<<20

// HashSlots is how many password hashes may run at once in a process whose
// Go runtime has memLimit bytes (GOMEMLIMIT; math.MaxInt64 when unset) on
// procs CPUs: a quarter of the limit, at 20 MiB per hash, and never more than
// half the CPUs (at least one). A hash is ~20 ms of one CPU; with a slot per
// CPU, a wave of sign-ins — clients whose sessions lapsed while the server
// was slow, all signing in again — took every CPU from the requests that
// do not hash, and the overload fed itself (docs/BENCHMARKS.md, "Capacity
// through the stack"). Without a limit the CPU bound alone applies.
func HashSlots(memLimit int64, procs int) int {
	n := max(procs, 1) / 2
	if memLimit > 0 && memLimit < math.MaxInt64 {
		n = min(n, int(memLimit/4/hashBytes))
	}
	return max(n, 1)
}

// hashGate bounds the password hashes running at once. Every hash costs
// argonMemory of RAM: without a bound, a burst of registrations or logins is
// a lever on the process's memory. A caller that waits longer than wait is
// told to come back (503 with Retry-After), never left to pile up.
type hashGate struct {
	slots chan struct{}
	wait  time.Duration
}

func newHashGate(slots int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

var errHashBusy = &mealsync.Error{Code: mealsync.EUNAVAILABLE, RetryAfter: time.Second,
	Message: "The server is busy checking passwords; try again in a moment"}

// do runs fn in a slot once one is free.
func (g *hashGate) do(ctx context.Context, fn func()) error {
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-t.C:
		return errHashBusy
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slots }()
	fn()
	return nil
}

// hash returns a new hash of pw, in a slot.
func (g *hashGate) hash(ctx context.Context, pw string) (string, error) {
	var hash string
	var err error
	if gerr := g.do(ctx, func() { hash, err = HashPassword(pw) }); gerr != nil {
		return "", gerr
	}
	return hash, err
}

// verify checks pw against hash, in a slot.
func (g *hashGate) verify(ctx context.Context, hash, pw string) (ok, rehash bool, err error) {
	if gerr := g.do(ctx, func() { ok, rehash, err = VerifyPassword(hash, pw) }); gerr != nil {
		return false, false, gerr
	}
	return ok, rehash, err
}
