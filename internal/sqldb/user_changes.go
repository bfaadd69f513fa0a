package sqldb

import (
	"context"
	"database/sql"
	"time"

	"github.com/mealsync/mealsync"
)

var _ mealsync.UserChangeFeed = (*DB)(nil)

// recordUserChange records, inside the change's own transaction, that the
// user with id changed. Taking the next version locks the version row until
// the transaction ends, so changes become visible in version order.
func (db *DB) recordUserChange(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE user_version SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		return db.wrap("next user version", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO user_changes (version, user_id, changed_at) VALUES ($1, $2, $3)`, v, id, at.UTC())
	return db.wrap("record user change", err)
}

// UserChangesSince returns the users changed after version after, the
// latest version, and whether the feed still holds every change after
// after (false once they were pruned: the caller must forget everything).
func (db *DB) UserChangesSince(ctx context.Context, after int64) ([]string, int64, bool, error) {
	// The latest version first: every change up to it has committed (see
	// recordUserChange), so the rows up to it are all there to read.
	var latest int64
	if err := db.sql.QueryRowContext(ctx, `SELECT version FROM user_version WHERE id = 1`).Scan(&latest); err != nil {
		return nil, 0, false, db.wrap("user version", err)
	}
	if latest <= after {
		return nil, latest, latest == after, nil
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT version, user_id FROM user_changes
		WHERE version > $1 AND version <= $2 ORDER BY version`, after, latest)
	if err != nil {
		return nil, 0, false, db.wrap("user changes", err)
	}
	defer rows.Close()
	var ids []string
	seen := map[string]bool{}
	first := int64(-1)
	for rows.Next() {
		var v int64
		var id string
		if err := rows.Scan(&v, &id); err != nil {
			return nil, 0, false, db.wrap("user changes", err)
		}
		if first < 0 {
			first = v
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, false, db.wrap("user changes", err)
	}
	return ids, latest, first == after+1, nil
}

// PruneUserChanges deletes changes recorded before before: instances that
// have not asked since must start over, which UserChangesSince tells them.
func (db *DB) PruneUserChanges(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM user_changes WHERE changed_at < $1`, before.UTC())
	if err != nil {
		return 0, db.wrap("prune user changes", err)
	}
	return res.RowsAffected()
}
