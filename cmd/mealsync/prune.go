package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/mealsync/mealsync/internal/sqldb"
)

// idempotencyPruneEvery is how often expired idempotency keys are deleted.
// An expired key is never replayed whether or not it was deleted yet; the
// pruning only keeps the table small.
const idempotencyPruneEvery = 10 * time.Minute

// pruneIdempotencyKeys deletes the records of idempotency keys older than
// mealsync.IdempotencyTTL, every idempotencyPruneEvery, until ctx ends.
func pruneIdempotencyKeys(ctx context.Context, db *sqldb.DB, log *slog.Logger) {
	t := time.NewTicker(idempotencyPruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := db.PruneIdempotencyKeys(ctx, now()); err != nil && ctx.Err() == nil {
				log.Warn("prune idempotency keys", "err", err)
			}
		}
	}
}
