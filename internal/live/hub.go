// Package live keeps track of the devices listening for their household's
// changes on this instance (WebSocket and server-sent events), and wakes
// them when a household has a new revision. It sends nothing itself: a
// woken connection reads the changes after the last revision it sent from
// the database's feed, so what it sends is committed, complete and in
// order, and a missed wake-up only delays, never loses. Memory per
// connection is bounded by the same rule: nothing queues but a one-slot
// wake-up.
//
// It imports the domain only.
package live

import (
	"context"
	"errors"
	"sync"
)

// WebSocket close codes (and the reason a stream ends) the hub asks for.
const (
	CloseRestart     = 1012 // the instance is going away: reconnect (to another) and resume
	CloseSessionEnds = 4001 // the user's session ended: sign in again
	CloseTooSlow     = 4002 // the device did not keep up: reconnect and resume from its revision
	CloseNotMember   = 4003 // the user is no longer in the household
	CloseTooMany     = 4004 // too many connections for this user
)

// DefaultMaxPerUser is how many live connections one user may hold on one
// instance (a phone, a tablet, a few browser tabs).
const DefaultMaxPerUser = 10

// Errors of Subscribe.
var (
	ErrDraining = errors.New("the instance is shutting down: connect to another")
	ErrTooMany  = errors.New("too many live connections for this user")
)

// Sub is one listening connection.
type Sub struct {
	HouseholdID string
	UserID      string
	Kind        string // ws or sse

	wake chan struct{} // one slot: wake-ups coalesce
	done chan struct{} // closed when the hub ends the connection
	code int           // why, when done is closed
}

// Wake is signalled when the household may have changed.
func (s *Sub) Wake() <-chan struct{} { return s.wake }

// Done is closed when the hub ends the connection; Code says why.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Code is the close code the hub asked for, once Done is closed.
func (s *Sub) Code() int { return s.code }

// Hub is this instance's registry of live connections.
type Hub struct {
	maxPerUser int

	mu       sync.Mutex
	subs     map[string]map[*Sub]bool // by household
	woken    map[string]int64         // the newest revision each listened-to household was woken for
	perUser  map[string]int
	draining bool
	left     chan struct{} // closed, and cleared, when a connection unsubscribes
}

// NewHub returns a hub allowing maxPerUser connections per user.
func NewHub(maxPerUser int) *Hub {
	return &Hub{maxPerUser: maxPerUser, subs: map[string]map[*Sub]bool{}, woken: map[string]int64{}, perUser: map[string]int{}}
}

// Subscribe registers a connection of userID to household householdID.
func (h *Hub) Subscribe(householdID, userID, kind string) (*Sub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return nil, ErrDraining
	}
	if h.perUser[userID] >= h.maxPerUser {
		return nil, ErrTooMany
	}
	s := &Sub{HouseholdID: householdID, UserID: userID, Kind: kind, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if h.subs[householdID] == nil {
		h.subs[householdID] = map[*Sub]bool{}
	}
	h.subs[householdID][s] = true
	h.perUser[userID]++
	return s, nil
}

// Unsubscribe forgets a connection that ended.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.subs[s.HouseholdID][s] {
		return
	}
	delete(h.subs[s.HouseholdID], s)
	if len(h.subs[s.HouseholdID]) == 0 {
		delete(h.subs, s.HouseholdID)
		delete(h.woken, s.HouseholdID)
	}
	if h.perUser[s.UserID]--; h.perUser[s.UserID] <= 0 {
		delete(h.perUser, s.UserID)
	}
	if h.left != nil {
		close(h.left)
		h.left = nil
	}
}

// Wait returns once every connection has unsubscribed — each ends its loop
// after sending its close, so after CloseAll that means every device was
// told to resume elsewhere — or when ctx is done; it returns how many were
// still open.
func (h *Hub) Wait(ctx context.Context) int {
	for {
		h.mu.Lock()
		n := len(h.perUser)
		if n == 0 {
			h.mu.Unlock()
			return 0
		}
		if h.left == nil {
			h.left = make(chan struct{})
		}
		left := h.left
		h.mu.Unlock()
		select {
		case <-left:
		case <-ctx.Done():
			return h.count()
		}
	}
}

func (h *Hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, subs := range h.subs {
		n += len(subs)
	}
	return n
}

// Changed wakes the connections of a household that has a new revision
// (0: unknown). A write is announced twice on the instance that made it: at
// its commit, and by the database's notification that follows; the second
// wake-up, for a revision already announced, would only cost every
// connection an empty read of the feed, so it is skipped. Each connection
// reads everything after the revision it sent last, so skipping an older
// or equal revision never loses a change.
func (h *Hub) Changed(householdID string, revision int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.subs[householdID]
	if len(subs) == 0 {
		return
	}
	if revision > 0 {
		if revision <= h.woken[householdID] {
			return
		}
		h.woken[householdID] = revision
	}
	for s := range subs {
		wake(s)
	}
}

// WakeAll wakes every connection: after the instance may have missed
// news (its database listener reconnected), each catches up.
func (h *Hub) WakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, subs := range h.subs {
		for s := range subs {
			wake(s)
		}
	}
}

func wake(s *Sub) {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// End asks the connections of a household, or of one user in it ("" for
// everyone), to close with code.
func (h *Hub) End(householdID, userID string, code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[householdID] {
		if userID == "" || s.UserID == userID {
			endSub(s, code)
		}
	}
}

// Drain refuses new connections: the instance is shutting down and its
// readiness is DOWN; balancers send new ones elsewhere.
func (h *Hub) Drain() {
	h.mu.Lock()
	h.draining = true
	h.mu.Unlock()
}

// CloseAll asks every connection to close with code (CloseRestart at
// shutdown) and returns how many it asked.
func (h *Hub) CloseAll(code int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.draining = true
	n := 0
	for _, subs := range h.subs {
		for s := range subs {
			if endSub(s, code) {
				n++
			}
		}
	}
	return n
}

// endSub closes s's Done with code, once.
func endSub(s *Sub, code int) bool {
	select {
	case <-s.done:
		return false
	default:
		s.code = code
		close(s.done)
		return true
	}
}

// Open counts the connections by kind.
func (h *Hub) Open() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, subs := range h.subs {
		for s := range subs {
			out[s.Kind]++
		}
	}
	return out
}
