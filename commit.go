package mealsync

import (
	"context"
	"sync"
)

// Some work must wait until the writes it follows are committed: waking the
// devices listening to a household, forgetting a cached user or recipe on
// this instance. Writes usually commit as their store call returns; those of
// a request sent with an Idempotency-Key commit together at its end (the
// store's unit of work), or not at all. AfterCommit covers both.

type commitHooksKey struct{}

// CommitHooks holds the work waiting for a unit of work's commit.
type CommitHooks struct {
	mu  sync.Mutex
	fns []func()
}

// WithCommitHooks returns ctx carrying hooks: AfterCommit with it queues
// work until the holder calls Committed (or RolledBack).
func WithCommitHooks(ctx context.Context) (context.Context, *CommitHooks) {
	h := &CommitHooks{}
	return context.WithValue(ctx, commitHooksKey{}, h), h
}

// AfterCommit runs fn once what was written with ctx is committed: now,
// unless ctx belongs to a unit of work that commits later.
func AfterCommit(ctx context.Context, fn func()) {
	if h, ok := ctx.Value(commitHooksKey{}).(*CommitHooks); ok {
		h.mu.Lock()
		h.fns = append(h.fns, fn)
		h.mu.Unlock()
		return
	}
	fn()
}

// Committed runs the queued work, once.
func (h *CommitHooks) Committed() {
	h.mu.Lock()
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// RolledBack drops the queued work: nothing it followed happened.
func (h *CommitHooks) RolledBack() {
	h.mu.Lock()
	h.fns = nil
	h.mu.Unlock()
}

// Transactor runs work that spans several store calls as one transaction:
// every write fn makes with the ctx it is given commits together, or none
// does, and AfterCommit work runs once it has committed. Inside another
// such transaction (a request sent with an Idempotency-Key), fn joins it.
type Transactor interface {
	InTransaction(ctx context.Context, fn func(ctx context.Context) error) error
}
