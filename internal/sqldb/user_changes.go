package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/mealsync/mealsync"
)

var _ mealsync.UserChangeFeed = (*DB)(nil)

// recordUserChange records, inside the change's own transaction, that the
// user with id changed (see feed).
func (db *DB) recordUserChange(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	return db.record(ctx, tx, userFeed, at, id)
}

// UserChangesSince returns the users changed after version after, the
// latest version, and whether the feed still holds every change after
// after (false once they were pruned: the caller must forget everything).
func (db *DB) UserChangesSince(ctx context.Context, after int64) ([]string, int64, bool, error) {
	return db.changesSince(ctx, userFeed, after)
}

// PruneUserChanges deletes changes recorded before before.
func (db *DB) PruneUserChanges(ctx context.Context, before time.Time) (int64, error) {
	return db.prune(ctx, userFeed, before)
}
