package sqldb

import (
	"context"
	"time"

	"github.com/mealsync/mealsync"
)

var _ mealsync.TicketStore = (*DB)(nil)

// CreateTicket stores a live-connection ticket's hash.
func (db *DB) CreateTicket(ctx context.Context, hash, userID string, expires time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO live_tickets (ticket_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
		hash, userID, expires.UTC())
	return db.wrap("create ticket", err)
}

// RedeemTicket uses a ticket up in one statement: two connections racing
// with one ticket cannot both get its user.
func (db *DB) RedeemTicket(ctx context.Context, hash string, now time.Time) (string, error) {
	var userID string
	err := db.conn(ctx).QueryRowContext(ctx, `DELETE FROM live_tickets WHERE ticket_hash = $1 AND expires_at > $2 RETURNING user_id`,
		hash, now.UTC()).Scan(&userID)
	return userID, db.wrap("redeem ticket", err)
}

// PruneTickets deletes tickets that expired unused.
func (db *DB) PruneTickets(ctx context.Context, now time.Time) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM live_tickets WHERE expires_at <= $1`, now.UTC())
	return db.wrap("prune tickets", err)
}
