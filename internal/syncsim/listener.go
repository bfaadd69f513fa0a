package syncsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Listener is a device that only listens, to measure and check what the
// server pushes: one live connection (a WebSocket opened with a ticket, as
// a browser does), every message timed the moment it was read and checked
// against the protocol's promises. It keeps the list as the stream builds
// it, notes when each operation (by its id) arrived, and counts what breaks
// a promise: a revision skipped, repeated or out of order, an operation
// delivered twice.
type Listener struct {
	Name        string
	HouseholdID string

	conn *websocket.Conn
	done chan struct{} // closed when the reader stops

	mu       sync.Mutex
	changed  chan struct{} // closed (and replaced) whenever a message was applied
	revision int64
	items    map[string]Item
	arrivals map[string]Arrival // by operation id, the first time it arrived
	messages int
	changes  int   // changes applied
	bytes    int64 // of the messages read
	resyncs  int
	dups     int
	problems []string
	closeErr error // why the reader stopped
}

// Arrival is when an operation's change was read on a live connection.
type Arrival struct {
	At       time.Time // the message's read returned (before it was decoded)
	Revision int64
	message  int // which message of the connection carried it
}

// maxProblems bounds what a listener keeps of what went wrong: counts
// say how much, the first few say what.
const maxProblems = 20

// Listen opens a live connection for the user of token on base (the API's
// origin) as a browser does: a ticket from POST /api/v1/sync/ticket, then
// GET /api/v1/sync/ws?ticket=…&since=since. It returns once the connection
// is open; the backlog after since comes as the first messages.
func Listen(ctx context.Context, client *http.Client, base, token, name string, since int64) (*Listener, error) {
	var t struct{ Ticket string }
	if err := call(ctx, Config{BaseURL: base, Client: client}, token, "POST", "/api/v1/sync/ticket", nil, &t, ""); err != nil {
		return nil, fmt.Errorf("%s: ticket: %w", name, err)
	}
	return dial(ctx, client, base, "ticket="+url.QueryEscape(t.Ticket)+"&", nil, name, since)
}

// ListenApp is Listen as an app does it: the token in the Authorization
// header, no ticket.
func ListenApp(ctx context.Context, client *http.Client, base, token, name string, since int64) (*Listener, error) {
	return dial(ctx, client, base, "", http.Header{"Authorization": {"Bearer " + token}}, name, since)
}

func dial(ctx context.Context, client *http.Client, base, query string, header http.Header, name string, since int64) (*Listener, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/sync/ws?" + query + "since=" + strconv.FormatInt(since, 10)
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: client, HTTPHeader: header})
	if err != nil {
		return nil, fmt.Errorf("%s: open the live connection: %w", name, err)
	}
	conn.SetReadLimit(64 << 20) // a backlog of thousands of changes
	l := &Listener{Name: name, conn: conn, done: make(chan struct{}), changed: make(chan struct{}),
		revision: since, items: map[string]Item{}, arrivals: map[string]Arrival{}}
	go l.read(context.WithoutCancel(ctx))
	return l, nil
}

func (l *Listener) read(ctx context.Context) {
	defer close(l.done)
	for {
		_, b, err := l.conn.Read(ctx)
		at := time.Now()
		if err != nil {
			l.mu.Lock()
			l.closeErr = err
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			l.problem("message %d: %v", l.messages+1, err)
			continue
		}
		l.apply(m, at, len(b))
	}
}

// apply brings the listener's list to the message's revision, checking
// that the revisions follow on from the last one without a gap or a repeat
// (one revision may carry several changes, all in one message).
func (l *Listener) apply(m message, at time.Time, size int) {
	l.mu.Lock()
	defer func() {
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}()
	l.messages++
	l.changes += len(m.Changes)
	l.bytes += int64(size)
	if l.HouseholdID == "" {
		l.HouseholdID = m.HouseholdID
	} else if m.HouseholdID != l.HouseholdID {
		l.problemLocked("message %d is of household %s, not %s", l.messages, m.HouseholdID, l.HouseholdID)
	}
	switch m.Type {
	case "resync":
		l.resyncs++
		l.items = map[string]Item{}
		if m.Snapshot != nil {
			for _, it := range m.Snapshot.Items {
				l.items[it.ID] = it
			}
		}
		l.revision = m.Revision
		return
	case "changes":
	default:
		l.problemLocked("message %d: unknown type %q", l.messages, m.Type)
		return
	}
	cur, opened := l.revision, false // opened: cur's changes began in this message
	for _, c := range m.Changes {
		switch {
		case c.Revision == cur && opened: // another entity changed by the same operation
		case c.Revision == cur+1:
			cur, opened = c.Revision, true
		case c.Revision <= cur:
			l.problemLocked("revision %d again, or out of order, after %d", c.Revision, cur)
		default:
			l.problemLocked("revisions %d to %d never arrived", cur+1, c.Revision-1)
			cur, opened = c.Revision, true
		}
		if c.OpID != "" {
			if a, ok := l.arrivals[c.OpID]; !ok {
				l.arrivals[c.OpID] = Arrival{At: at, Revision: c.Revision, message: l.messages}
			} else if a.message != l.messages || a.Revision != c.Revision {
				l.dups++
				l.problemLocked("operation %s arrived again at revision %d", c.OpID, c.Revision)
			}
		}
		if c.Entity != "item" {
			continue
		}
		if c.Op == "delete" {
			delete(l.items, c.ID)
			continue
		}
		var it Item
		if err := json.Unmarshal(c.Data, &it); err == nil {
			l.items[c.ID] = it
		}
	}
	if m.Revision != cur {
		l.problemLocked("message %d says revision %d, its changes end at %d", l.messages, m.Revision, cur)
	}
	l.revision = max(cur, m.Revision)
}

func (l *Listener) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problemLocked(format, args...)
}

func (l *Listener) problemLocked(format string, args ...any) {
	if len(l.problems) < maxProblems {
		l.problems = append(l.problems, fmt.Sprintf(format, args...))
	}
}

// wait returns once cond (called under the listener's lock) holds, ctx
// ends, or the connection has closed.
func (l *Listener) wait(ctx context.Context, what string, cond func() bool) error {
	for {
		l.mu.Lock()
		ok, ch, closed := cond(), l.changed, l.closeErr
		l.mu.Unlock()
		switch {
		case ok:
			return nil
		case closed != nil:
			return fmt.Errorf("%s: closed before %s: %w", l.Name, what, closed)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s: %s: %w", l.Name, what, ctx.Err())
		}
	}
}

// WaitFirst returns once the first message (the backlog, or a resync) has
// been applied.
func (l *Listener) WaitFirst(ctx context.Context) error {
	return l.wait(ctx, "the first message", func() bool { return l.messages > 0 })
}

// WaitRevision returns once the listener has applied revision rev.
func (l *Listener) WaitRevision(ctx context.Context, rev int64) error {
	return l.wait(ctx, "revision "+strconv.FormatInt(rev, 10), func() bool { return l.revision >= rev })
}

// WaitOps returns once every operation in ids has arrived.
func (l *Listener) WaitOps(ctx context.Context, ids []string) error {
	return l.wait(ctx, fmt.Sprintf("%d operations", len(ids)), func() bool {
		for _, id := range ids {
			if _, ok := l.arrivals[id]; !ok {
				return false
			}
		}
		return true
	})
}

// Arrived returns when operation id arrived, if it has.
func (l *Listener) Arrived(id string) (Arrival, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.arrivals[id]
	return a, ok
}

// Items is the list as the stream built it.
func (l *Listener) Items() map[string]Item {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]Item, len(l.items))
	for k, v := range l.items {
		out[k] = v
	}
	return out
}

// Stats says how many messages and resyncs arrived, how many operations
// arrived twice, and the first problems found (nil: none).
func (l *Listener) Stats() (messages, resyncs, duplicated int, problems []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.messages, l.resyncs, l.dups, append([]string(nil), l.problems...)
}

// Open reports whether the connection is still open (the server has not
// closed it).
func (l *Listener) Open() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

// Close closes the connection (normal closure) and waits for its reader.
func (l *Listener) Close() {
	l.conn.Close(websocket.StatusNormalClosure, "")
	<-l.done
}

// Closed is why the connection ended (nil while it is open).
func (l *Listener) Closed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeErr
}
