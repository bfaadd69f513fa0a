package auth

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/mealsync/mealsync"
)

// TicketTTL is how long a live-connection ticket may wait to be used.
const TicketTTL = 30 * time.Second

// Tickets issues and redeems the single-use tickets a browser opens a live
// sync connection with: it cannot set an Authorization header on a
// WebSocket or an EventSource, and a token in a URL would outlive the
// request in access logs. A ticket is useless once used or 30 s old.
type Tickets struct {
	store mealsync.TicketStore
	auth  *Service
	now   mealsync.Clock
}

// NewTickets builds the ticket service; auth checks the redeemer's user.
func NewTickets(store mealsync.TicketStore, auth *Service, now mealsync.Clock) *Tickets {
	return &Tickets{store: store, auth: auth, now: now}
}

// Issue returns a new ticket for u and when it expires.
func (t *Tickets) Issue(ctx context.Context, u *mealsync.User) (string, time.Time, error) {
	ticket := rand.Text()
	expires := t.now().Add(TicketTTL)
	return ticket, expires, t.store.CreateTicket(ctx, hashToken(ticket), u.ID, expires)
}

var errBadTicket = mealsync.Errorf(mealsync.EUNAUTHORIZED, "Invalid or expired ticket")

// Redeem uses a ticket up and returns its user, who must still be active.
func (t *Tickets) Redeem(ctx context.Context, ticket string) (*mealsync.User, error) {
	id, err := t.store.RedeemTicket(ctx, hashToken(ticket), t.now())
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, errBadTicket
	}
	if err != nil {
		return nil, err
	}
	u, err := t.auth.users.UserByID(ctx, id)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, errBadTicket
	}
	if err != nil {
		return nil, err
	}
	return u, activeUser(u)
}

// Still reports whether u's session is still good: active, and its epoch
// where the connection found it (a sign-out everywhere ends live
// connections too).
func (s *Service) Still(ctx context.Context, userID string, epoch int64) error {
	u, err := s.users.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.SessionEpoch != epoch {
		return errInvalidToken
	}
	return activeUser(u)
}
