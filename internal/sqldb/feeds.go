package sqldb

import (
	"context"
	"database/sql"
	"time"
)

// A change feed is a one-row version counter and the rows a change records
// under each version, in the change's own transaction. Taking the next
// version locks the counter's row until that transaction ends, so versions
// commit in order, without gaps: a reader that sees version V has every
// change up to V, and a missing version means pruned entries.
type feed struct {
	counter  string // table with one row (id 1) and its version
	changes  string // table of (version, <idColumn>, changed_at)
	idColumn string
}

var (
	userFeed   = feed{counter: "user_version", changes: "user_changes", idColumn: "user_id"}
	recipeFeed = feed{counter: "catalogue_version", changes: "recipe_changes", idColumn: "recipe_id"}
)

// record takes the next version and records ids under it.
func (db *DB) record(ctx context.Context, tx *sql.Tx, f feed, at time.Time, ids ...string) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE `+f.counter+` SET version = version + 1 WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		return db.wrap("next version of "+f.counter, err)
	}
	rows := make([][]any, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			rows = append(rows, []any{v, id, at.UTC()})
		}
	}
	err := insertRows(ctx, tx, f.changes, "version, "+f.idColumn+", changed_at", rows, sideRowsPerInsert/3)
	return db.wrap("record "+f.changes, err)
}

// changesSince returns the ids changed after version after (each once, in
// the order of their first change), the latest version, and whether every
// version after after is still there (false once pruned).
func (db *DB) changesSince(ctx context.Context, f feed, after int64) ([]string, int64, bool, error) {
	// The latest version first: every change up to it has committed, so the
	// rows up to it are all there to read.
	var latest int64
	if err := db.sql.QueryRowContext(ctx, `SELECT version FROM `+f.counter+` WHERE id = 1`).Scan(&latest); err != nil {
		return nil, 0, false, db.wrap(f.counter, err)
	}
	if latest <= after {
		return nil, latest, latest == after, nil
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT version, `+f.idColumn+` FROM `+f.changes+`
		WHERE version > $1 AND version <= $2 ORDER BY version`, after, latest)
	if err != nil {
		return nil, 0, false, db.wrap(f.changes, err)
	}
	defer rows.Close()
	var ids []string
	seen := map[string]bool{}
	first := int64(-1)
	for rows.Next() {
		var v int64
		var id string
		if err := rows.Scan(&v, &id); err != nil {
			return nil, 0, false, db.wrap(f.changes, err)
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
		return nil, 0, false, db.wrap(f.changes, err)
	}
	return ids, latest, first == after+1, nil
}

// prune deletes entries recorded before before: readers that have not
// asked since must start over, which changesSince tells them.
func (db *DB) prune(ctx context.Context, f feed, before time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM `+f.changes+` WHERE changed_at < $1`, before.UTC())
	if err != nil {
		return 0, db.wrap("prune "+f.changes, err)
	}
	return res.RowsAffected()
}
