// Package syncsim simulates households' devices against a real server, to
// prove live sync keeps every device equal to the server whatever happens:
// devices of several households edit one shopping list at once, go offline
// and replay their queue when back, retry operations whose answer they lost,
// edit and delete the same items concurrently — while instances are killed
// and replaced. At the end every device's list must equal the server's, with
// no item lost, duplicated or brought back from the dead.
//
// It is a client of the public API (REST for writes, WebSocket for news),
// as a mobile app is; the load test can drive it too.
package syncsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// Item is an item as devices and the server show it.
type Item struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Note     string `json:"note"`
	Checked  bool   `json:"checked"`
	Position int64  `json:"position"`
}

// Config shapes a run.
type Config struct {
	BaseURL string        // the API's origin, e.g. http://127.0.0.1:8080 (nginx)
	Client  *http.Client  // for REST; nil: http.DefaultClient
	Ops     int           // operations per device (at least, with Until)
	Pause   time.Duration // between a device's operations (on average)
	Seed    uint64
	// OfflineEvery: roughly one operation in OfflineEvery starts an offline
	// burst of 3–8 operations queued and replayed on reconnection.
	OfflineEvery int
	// LoseAnswerEvery: roughly one write in LoseAnswerEvery has its answer
	// dropped, and is sent again with the same operation id.
	LoseAnswerEvery int
	// Until, when set, keeps devices operating past Ops until it is
	// closed: for as long as something else (a deploy) takes.
	Until <-chan struct{}
}

// Household is a household's devices, one user per device.
type Household struct {
	ID      string
	Devices []*Device
}

// Device is one app instance of one user.
type Device struct {
	Name  string
	token string
	hh    *Household
	cfg   Config
	rng   *rand.Rand

	dialing  sync.Mutex // one connection attempt at a time
	mu       sync.Mutex
	items    map[string]Item
	revision int64
	online   bool
	conn     *websocket.Conn
	done     chan struct{} // closed when the reader stops

	// What the device knows it did, acknowledged by the server.
	Added, Deleted map[string]bool
	Reconnects     int       // live connections the server or the network closed
	Sessions       []Session // every live connection, in the order opened
	Errors         []string
}

// Session is one live connection's life: when it opened and, once it has,
// when and how it closed (Code is -1 when no close frame came).
type Session struct {
	Opened, Closed time.Time
	Code           websocket.StatusCode
	ByServer       bool // closed by the server or the network, not by the device going offline
}

// Open reports whether s was still open at t.
func (s Session) Open(t time.Time) bool {
	return !s.Opened.After(t) && (s.Closed.IsZero() || s.Closed.After(t))
}

// Connected reports whether the device has a live connection now.
func (d *Device) Connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.conn != nil
}

// History returns a copy of the device's sessions.
func (d *Device) History() []Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.Sessions)
}

// NewHousehold makes a household of the users with the given tokens (the
// first creates it and invites the others).
func NewHousehold(ctx context.Context, cfg Config, name string, tokens []string) (*Household, error) {
	h := &Household{}
	var created struct {
		Household struct{ ID string } `json:"household"`
	}
	if err := call(ctx, cfg, tokens[0], "POST", "/api/v1/households", map[string]any{"name": name}, &created, ""); err != nil {
		return nil, fmt.Errorf("create household: %w", err)
	}
	h.ID = created.Household.ID
	for i, tok := range tokens {
		if i > 0 {
			var inv struct{ Code string }
			if err := call(ctx, cfg, tokens[0], "POST", "/api/v1/households/"+h.ID+"/invites", nil, &inv, ""); err != nil {
				return nil, fmt.Errorf("invite: %w", err)
			}
			if err := call(ctx, cfg, tok, "POST", "/api/v1/households/join", map[string]any{"code": inv.Code}, nil, ""); err != nil {
				return nil, fmt.Errorf("join: %w", err)
			}
		}
		h.Devices = append(h.Devices, &Device{Name: fmt.Sprintf("%s/%d", name, i), token: tok, hh: h, cfg: cfg,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+uint64(len(name))*1000)), items: map[string]Item{},
			Added: map[string]bool{}, Deleted: map[string]bool{}})
	}
	return h, nil
}

// Use points the household's devices at cfg (say, nginx, after the
// household was made on an instance directly).
func (h *Household) Use(cfg Config) {
	for _, d := range h.Devices {
		d.cfg = cfg
	}
}

// op is one queued operation, with its id: replaying it is safe.
type op struct {
	id     string
	method string
	path   string
	body   map[string]any
	add    string // the item it adds
	del    string // the item it deletes
}

// Run plays cfg.Ops operations on d (and more until cfg.Until is closed),
// then flushes its queue and catches up.
func (d *Device) Run(ctx context.Context) {
	if err := d.connect(ctx); err != nil {
		d.fail("connect: %v", err)
	}
	var queue []op
	offline := 0
	for n := 0; d.more(n) && ctx.Err() == nil; n++ {
		if offline == 0 && d.cfg.OfflineEvery > 0 && d.rng.IntN(d.cfg.OfflineEvery) == 0 {
			offline = 3 + d.rng.IntN(6)
			d.disconnect()
		}
		o := d.next()
		if offline > 0 {
			queue = append(queue, o)
			if offline--; offline == 0 {
				if err := d.connect(ctx); err != nil {
					d.fail("reconnect: %v", err)
				}
				for _, q := range queue {
					d.send(ctx, q)
				}
				queue = nil
			}
		} else {
			d.send(ctx, o)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(d.rng.Int64N(int64(2*d.cfg.Pause) + 1))): // the pacing of a person, not synchronisation
		}
	}
	if offline > 0 { // back online for good: replay, then catch up
		if err := d.connect(ctx); err != nil {
			d.fail("reconnect: %v", err)
		}
		for _, q := range queue {
			d.send(ctx, q)
		}
	}
}

// more reports whether the device plays an operation after n of them.
func (d *Device) more(n int) bool {
	if n < d.cfg.Ops {
		return true
	}
	if d.cfg.Until == nil {
		return false
	}
	select {
	case <-d.cfg.Until:
		return false
	default:
		return true
	}
}

// next draws an operation on the device's idea of the list.
func (d *Device) next() op {
	d.mu.Lock()
	ids := make([]string, 0, len(d.items))
	for id := range d.items {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	slices.Sort(ids)
	list := "/api/v1/households/" + d.hh.ID + "/shopping-list"
	o := op{id: uuid.NewString()}
	switch r := d.rng.IntN(10); {
	case r < 4 || len(ids) == 0:
		id := uuid.NewString() // chosen here, so the device can edit it before the add lands
		o.method, o.path, o.add = "POST", list+"/items", id
		o.body = map[string]any{"id": id, "name": fmt.Sprintf("%s item %d", d.Name, d.rng.IntN(1000)), "quantity": strconv.Itoa(1 + d.rng.IntN(5))}
	case r < 7:
		o.method, o.path = "PATCH", list+"/items/"+ids[d.rng.IntN(len(ids))]
		if d.rng.IntN(2) == 0 {
			o.body = map[string]any{"note": fmt.Sprintf("%s says %d", d.Name, d.rng.IntN(100))}
		} else {
			o.body = map[string]any{"quantity": strconv.Itoa(1 + d.rng.IntN(9))}
		}
	case r < 9:
		verb := "check"
		if d.rng.IntN(2) == 0 {
			verb = "uncheck"
		}
		o.method, o.path = "POST", list+"/items/"+ids[d.rng.IntN(len(ids))]+"/"+verb
	default:
		id := ids[d.rng.IntN(len(ids))]
		o.method, o.path, o.del = "DELETE", list+"/items/"+id, id
	}
	return o
}

// send sends o until the server answers it (retrying with the same id on
// network errors and 5xx, as an app does), sometimes dropping a first answer
// on purpose to retry it.
func (d *Device) send(ctx context.Context, o op) {
	lose := d.cfg.LoseAnswerEvery > 0 && d.rng.IntN(d.cfg.LoseAnswerEvery) == 0
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := call(ctx, d.cfg, d.token, o.method, o.path, o.body, nil, o.id)
		var status *statusError
		switch {
		case err == nil && lose:
			lose = false // the answer "was lost": send it again, same id
			continue
		case err == nil:
			if o.add != "" {
				d.mu.Lock()
				d.Added[o.add] = true
				d.mu.Unlock()
			}
			if o.del != "" {
				d.mu.Lock()
				d.Deleted[o.del] = true
				d.mu.Unlock()
			}
			return
		case errors.As(err, &status) && status.code == http.StatusNotFound && o.add == "":
			return // deleted meanwhile: delete beats edit, the edit is dropped
		case errors.As(err, &status) && status.retryAfter > 0:
			// 429, 503, or 409: the same key's attempt on an instance
			// that just died still holds it (until its lease ends).
		case errors.As(err, &status) && status.code < 500 && status.code != http.StatusTooManyRequests:
			d.fail("%s %s: %v", o.method, o.path, err)
			return
		}
		if attempt > 200 {
			d.fail("%s %s: gave up: %v", o.method, o.path, err)
			return
		}
		wait := 50 * time.Millisecond // a failed attempt: an instance died or is being replaced
		if status != nil && status.retryAfter > 0 {
			wait = status.retryAfter
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait): // retry backoff, not synchronisation
		}
	}
}

// connect opens the live connection from the device's revision and starts
// reading it; on a close it reconnects by itself, as an app does. One
// connection at a time: connections are opened one after another, and one
// is only opened while the device wants to be online and has none.
func (d *Device) connect(ctx context.Context) error {
	d.dialing.Lock()
	defer d.dialing.Unlock()
	d.mu.Lock()
	d.online = true
	if d.conn != nil {
		d.mu.Unlock()
		return nil
	}
	d.mu.Unlock()
	var conn *websocket.Conn
	var err error
	// Backing off as an app does: from 50 ms, doubling to 1 s, with
	// jitter, for up to a minute. A fixed fast retry only feeds an edge's
	// rate limit while the fleet is being replaced.
	giveUp := time.Now().Add(time.Minute)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		d.mu.Lock()
		since, online := d.revision, d.online
		d.mu.Unlock()
		if !online {
			return nil // went offline meanwhile
		}
		u := "ws" + strings.TrimPrefix(d.cfg.BaseURL, "http") + "/api/v1/sync/ws?since=" + strconv.FormatInt(since, 10)
		conn, _, err = websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + d.token}}})
		if err == nil || ctx.Err() != nil || time.Now().After(giveUp) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait/2 + time.Duration(rand.Int64N(int64(wait)))): // reconnect backoff, not synchronisation
		}
	}
	if err != nil {
		return err
	}
	conn.SetReadLimit(16 << 20)
	done := make(chan struct{})
	d.mu.Lock()
	if !d.online { // went offline while dialling
		d.mu.Unlock()
		conn.Close(websocket.StatusNormalClosure, "offline")
		return nil
	}
	d.conn, d.done = conn, done
	d.Sessions = append(d.Sessions, Session{Opened: time.Now()})
	session := len(d.Sessions) - 1
	d.mu.Unlock()
	go d.read(ctx, conn, done, session)
	return nil
}

// disconnect goes offline: it closes the live connection and waits for its
// reader.
func (d *Device) disconnect() {
	d.mu.Lock()
	conn, done := d.conn, d.done
	d.conn, d.online = nil, false
	d.mu.Unlock()
	if conn != nil {
		conn.Close(websocket.StatusNormalClosure, "offline")
		<-done
	}
}

type message struct {
	Type        string `json:"type"`
	HouseholdID string `json:"householdId"`
	Revision    int64  `json:"revision"`
	Changes     []struct {
		Revision int64           `json:"revision"`
		Entity   string          `json:"entity"`
		ID       string          `json:"id"`
		Op       string          `json:"op"`
		Data     json.RawMessage `json:"data"`
		OpID     string          `json:"opId"`
	} `json:"changes"`
	Snapshot *struct {
		Items []Item `json:"items"`
	} `json:"snapshot"`
}

func (d *Device) read(ctx context.Context, conn *websocket.Conn, done chan struct{}, session int) {
	defer close(done)
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			d.mu.Lock()
			current := d.conn == conn
			if current {
				d.conn = nil
			}
			online := d.online
			byServer := current && online && ctx.Err() == nil // the server or the network closed it
			d.Sessions[session].Closed = time.Now()
			d.Sessions[session].Code = websocket.CloseStatus(err)
			d.Sessions[session].ByServer = byServer
			if byServer {
				d.Reconnects++
			}
			d.mu.Unlock()
			if byServer {
				go func() {
					if err := d.connect(ctx); err != nil {
						d.fail("reconnect after close %d: %v", websocket.CloseStatus(err), err)
					}
				}()
			}
			return
		}
		var m message
		if err := json.Unmarshal(b, &m); err != nil {
			d.fail("message: %v", err)
			continue
		}
		d.apply(conn, m)
	}
}

// apply brings the device's copy to the message's revision.
func (d *Device) apply(conn *websocket.Conn, m message) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn != conn {
		return // a connection the device has left
	}
	switch m.Type {
	case "resync":
		d.items = map[string]Item{}
		for _, it := range m.Snapshot.Items {
			d.items[it.ID] = it
		}
	case "changes":
		prev := int64(-1) // one revision may change several entities
		for _, c := range m.Changes {
			if c.Revision <= d.revision && c.Revision != prev {
				d.Errors = append(d.Errors, fmt.Sprintf("change at revision %d after %d: sent twice or out of order", c.Revision, d.revision))
			}
			prev = c.Revision
			if c.Entity != "item" {
				continue
			}
			if c.Op == "delete" {
				delete(d.items, c.ID)
				continue
			}
			var it Item
			if err := json.Unmarshal(c.Data, &it); err == nil {
				d.items[c.ID] = it
			}
		}
	}
	d.revision = m.Revision
}

func (d *Device) fail(format string, args ...any) {
	d.mu.Lock()
	d.Errors = append(d.Errors, fmt.Sprintf(format, args...))
	d.mu.Unlock()
}

// Revision is the last revision the device applied.
func (d *Device) Revision() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.revision
}

// Items is the device's copy of the list.
func (d *Device) Items() map[string]Item {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]Item, len(d.items))
	for k, v := range d.items {
		out[k] = v
	}
	return out
}

// Close ends the device's live connection.
func (d *Device) Close() { d.disconnect() }

// Server reads the household's list as the server has it.
func (h *Household) Server(ctx context.Context, cfg Config) (int64, map[string]Item, error) {
	var list struct {
		Revision int64
		Items    []Item
	}
	if err := call(ctx, cfg, h.Devices[0].token, "GET", "/api/v1/households/"+h.ID+"/shopping-list", nil, &list, ""); err != nil {
		return 0, nil, err
	}
	out := make(map[string]Item, len(list.Items))
	for _, it := range list.Items {
		out[it.ID] = it
	}
	return list.Revision, out, nil
}

// Check waits (until ctx ends) for every device to reach the server's
// revision, then compares: each device's copy equals the server's list; no
// acknowledged add that nobody deleted is missing (lost); nothing anybody
// deleted is there (resurrected); no two items share an id (duplicated).
func (h *Household) Check(ctx context.Context, cfg Config) []string {
	var problems []string
	rev, server, err := h.Server(ctx, cfg)
	if err != nil {
		return []string{err.Error()}
	}
	for _, d := range h.Devices {
		for d.Revision() < rev && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond) // polling a condition with ctx's deadline
		}
		if d.Revision() != rev {
			problems = append(problems, fmt.Sprintf("%s stopped at revision %d of %d", d.Name, d.Revision(), rev))
		}
		if got := d.Items(); !sameItems(got, server) {
			problems = append(problems, fmt.Sprintf("%s has %d items, the server %d, or they differ", d.Name, len(got), len(server)))
		}
		for _, e := range d.Errors {
			problems = append(problems, d.Name+": "+e)
		}
	}
	added, deleted := map[string]bool{}, map[string]bool{}
	for _, d := range h.Devices {
		for id := range d.Added {
			added[id] = true
		}
		for id := range d.Deleted {
			deleted[id] = true
		}
	}
	for id := range added {
		if _, ok := server[id]; !ok && !deleted[id] {
			problems = append(problems, "lost: "+id)
		}
	}
	for id := range deleted {
		if _, ok := server[id]; ok {
			problems = append(problems, "resurrected: "+id)
		}
	}
	for id := range server {
		if !added[id] {
			problems = append(problems, "an item no device added: "+id)
		}
	}
	return problems
}

func sameItems(a, b map[string]Item) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

type statusError struct {
	code       int
	body       string
	retryAfter time.Duration // the answer's Retry-After, if any
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %s", e.code, e.body) }

// call does one JSON request; out, when given, gets the envelope's data.
func call(ctx context.Context, cfg Config, token, method, path string, body, out any, opID string) error {
	_, err := do(ctx, cfg, token, method, path, body, out, opID)
	return err
}

// callCounting is a call without a body that also says how many bytes the
// answer's body held.
func callCounting(ctx context.Context, cfg Config, token, method, path string, out any) (int64, error) {
	return do(ctx, cfg, token, method, path, nil, out, "")
}

func do(ctx context.Context, cfg Config, token, method, path string, body, out any, opID string) (int64, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, cfg.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if opID != "" {
		req.Header.Set("Idempotency-Key", opID)
	}
	client := cfg.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return int64(len(b)), fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		}
		return int64(len(b)), e
	}
	if out == nil || len(b) == 0 {
		return int64(len(b)), nil
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(b, &env); err != nil {
		return int64(len(b)), err
	}
	return int64(len(b)), json.Unmarshal(env.Data, out)
}

// Account signs a new user up and in, and returns the access token.
func Account(ctx context.Context, cfg Config, email string) (string, error) {
	creds := map[string]any{"email": email, "password": "sync sim password 1", "name": strings.Split(email, "@")[0]}
	if err := call(ctx, cfg, "", "POST", "/api/v1/users/register", creds, nil, ""); err != nil {
		return "", fmt.Errorf("register %s: %w", email, err)
	}
	var s struct{ Token string }
	if err := call(ctx, cfg, "", "POST", "/api/v1/users/login", creds, &s, ""); err != nil {
		return "", fmt.Errorf("login %s: %w", email, err)
	}
	return s.Token, nil
}
