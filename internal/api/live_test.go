package api_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/live"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// liveMsg is a message as a device reads it.
type liveMsg struct {
	Type        string `json:"type"`
	HouseholdID string `json:"householdId"`
	Revision    int64  `json:"revision"`
	Changes     []struct {
		Revision int64          `json:"revision"`
		Entity   string         `json:"entity"`
		ID       string         `json:"id"`
		Op       string         `json:"op"`
		Data     map[string]any `json:"data"`
		OpID     string         `json:"opId"`
	} `json:"changes"`
	Snapshot *struct {
		Items []map[string]any `json:"items"`
	} `json:"snapshot"`
}

// device is a live connection, WebSocket or event stream, read message by
// message with a deadline.
type device struct {
	t    *testing.T
	next func(ctx context.Context) (liveMsg, error)
	stop func()
	code func() int // the close code, once next failed
}

const liveWait = 10 * time.Second // a deadline, not a sleep: messages come in milliseconds

func (d *device) read() liveMsg {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	m, err := d.next(ctx)
	if err != nil {
		d.t.Fatalf("reading a live message: %v", err)
	}
	return m
}

// closed waits for the server to end the connection and returns its code.
func (d *device) closed() int {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), liveWait)
	defer cancel()
	for {
		if _, err := d.next(ctx); err != nil {
			if ctx.Err() != nil {
				d.t.Fatal("the connection was not closed")
			}
			return d.code()
		}
	}
}

func wsURL(e *env, query string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/sync/ws?" + query
}

// dialWS connects with a token (an app) or a ticket (a browser: token "").
func dialWS(t *testing.T, e *env, token, query string) (*device, *http.Response, error) {
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	conn, resp, err := websocket.Dial(context.Background(), wsURL(e, query), opts)
	if err != nil {
		return nil, resp, err
	}
	code := 0
	d := &device{t: t, stop: func() { conn.Close(websocket.StatusNormalClosure, "") }, code: func() int { return code }}
	d.next = func(ctx context.Context) (liveMsg, error) {
		var m liveMsg
		_, b, err := conn.Read(ctx)
		if err != nil {
			code = int(websocket.CloseStatus(err))
			return m, err
		}
		return m, json.Unmarshal(b, &m)
	}
	t.Cleanup(d.stop)
	return d, resp, nil
}

// dialSSE opens the event stream with a ticket; lastID is Last-Event-ID.
func dialSSE(t *testing.T, e *env, ticket, lastID string) *device {
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/sync/events?ticket="+ticket, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := e.srv.Client().Do(req.WithContext(ctx))
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %v %v", resp, err)
	}
	r := bufio.NewReader(resp.Body)
	code := 0
	d := &device{t: t, stop: cancel, code: func() int { return code }}
	events := make(chan struct {
		event, id, data string
		err             error
	}, 16)
	go func() {
		var event, id, data string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				events <- struct {
					event, id, data string
					err             error
				}{err: err}
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if event != "" {
					events <- struct {
						event, id, data string
						err             error
					}{event, id, data, nil}
				}
				event, id, data = "", "", ""
			case strings.HasPrefix(line, "event: "):
				event = line[7:]
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			}
		}
	}()
	d.next = func(ctx context.Context) (liveMsg, error) {
		var m liveMsg
		select {
		case ev := <-events:
			if ev.err != nil {
				return m, ev.err
			}
			if ev.event == "close" {
				var c struct{ Code int }
				json.Unmarshal([]byte(ev.data), &c)
				code = c.Code
				return m, errors.New("closed by the server")
			}
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
				return m, err
			}
			if strconv.FormatInt(m.Revision, 10) != ev.id {
				return m, errors.New("the event id is not the revision")
			}
			return m, nil
		case <-ctx.Done():
			return m, ctx.Err()
		}
	}
	t.Cleanup(d.stop)
	return d
}

func (e *env) ticket(token string) string {
	e.t.Helper()
	return e.expect(e.do("POST", "/api/v1/sync/ticket", token, nil), 201).data()["ticket"].(string)
}

// household makes ana's household, joined by bo; it returns its id and the
// shopping list's path.
func (e *env) household(ana, bo session) (string, string) {
	e.t.Helper()
	h := e.expect(e.do("POST", "/api/v1/households", ana.token, map[string]any{"name": "Home"}), 201).data()
	id := h["household"].(map[string]any)["id"].(string)
	code := e.expect(e.do("POST", "/api/v1/households/"+id+"/invites", ana.token, nil), 201).data()["code"].(string)
	e.expect(e.do("POST", "/api/v1/households/join", bo.token, map[string]any{"code": code}), 200)
	return id, "/api/v1/households/" + id + "/shopping-list"
}

func (e *env) revision(token string) int64 {
	e.t.Helper()
	return int64(e.expect(e.do("GET", "/api/v1/sync", token, nil), 200).data()["revision"].(float64))
}

// A device on a WebSocket gets each change as it commits, in order; one
// that was away resumes from its revision and misses nothing.
func TestLiveWebSocket(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana, bo := e.newUser("ana@example.com"), e.newUser("bo@example.com")
		_, list := e.household(ana, bo)
		since := e.revision(bo.token)
		phone, _, err := dialWS(t, e, bo.token, "since="+strconv.FormatInt(since, 10)) // an app: its token in a header
		if err != nil {
			t.Fatal(err)
		}
		browser, _, err := dialWS(t, e, "", "ticket="+e.ticket(bo.token)) // a browser: a ticket
		if err != nil {
			t.Fatal(err)
		}
		if m := browser.read(); m.Type != "changes" || len(m.Changes) == 0 { // from revision 0: everything
			t.Fatalf("browser's backlog: %+v", m)
		}
		milk := e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "milk", "opId": "op-1"}), 201).data()
		for _, d := range []*device{phone, browser} {
			m := d.read()
			if m.Type != "changes" || len(m.Changes) != 1 || m.Changes[0].Op != "upsert" || m.Changes[0].Data["name"] != "milk" ||
				m.Changes[0].OpID != "op-1" || m.Revision != since+1 {
				t.Fatalf("live change: %+v", m)
			}
		}
		phone.stop() // the phone goes into a tunnel
		eggs := e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "eggs"}), 201).data()
		e.expect(e.do("DELETE", list+"/items/"+milk["id"].(string), ana.token, nil), 204)
		e.expect(e.do("POST", list+"/items/"+eggs["id"].(string)+"/check", bo.token, nil), 200)
		again, _, err := dialWS(t, e, bo.token, "since="+strconv.FormatInt(since+1, 10))
		if err != nil {
			t.Fatal(err)
		}
		m := again.read()
		var got []string
		for _, c := range m.Changes {
			got = append(got, c.Op+" "+strconv.FormatInt(c.Revision, 10))
		}
		want := []string{"upsert " + strconv.FormatInt(since+2, 10), "delete " + strconv.FormatInt(since+3, 10), "upsert " + strconv.FormatInt(since+4, 10)}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("resumed backlog %v, want %v", got, want)
		}
		// The browser, connected all along, got the same three, in order.
		var streamed []string
		for len(streamed) < 3 {
			for _, c := range browser.read().Changes {
				streamed = append(streamed, c.Op+" "+strconv.FormatInt(c.Revision, 10))
			}
		}
		if strings.Join(streamed, ",") != strings.Join(want, ",") {
			t.Fatalf("live stream %v, want %v", streamed, want)
		}
		// Shutting down: every connection is closed with 1012, to resume
		// on another instance.
		e.hub.CloseAll(live.CloseRestart)
		for _, d := range []*device{again, browser} {
			if code := d.closed(); code != live.CloseRestart {
				t.Fatalf("close code %d, want %d", code, live.CloseRestart)
			}
		}
		testenv.WaitFor(t, liveWait, "the hub to let go of every connection", func() bool { return e.hub.Open()["ws"] == 0 })
	})
}

// The event stream says the same, with the revision as the event id, and
// resumes from Last-Event-ID as browsers reconnect by themselves.
func TestLiveEventStream(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana, bo := e.newUser("ana@example.com"), e.newUser("bo@example.com")
		_, list := e.household(ana, bo)
		since := e.revision(bo.token)
		d := dialSSE(t, e, e.ticket(bo.token), strconv.FormatInt(since, 10))
		e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "milk"}), 201)
		if m := d.read(); m.Type != "changes" || len(m.Changes) != 1 || m.Revision != since+1 {
			t.Fatalf("event: %+v", m)
		}
		d.stop()
		e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "eggs"}), 201)
		d = dialSSE(t, e, e.ticket(bo.token), strconv.FormatInt(since+1, 10))
		if m := d.read(); len(m.Changes) != 1 || m.Changes[0].Data["name"] != "eggs" {
			t.Fatalf("resumed: %+v", m)
		}
		// Shutting down: the stream ends with a close event saying 1012.
		e.hub.CloseAll(live.CloseRestart)
		if code := d.closed(); code != live.CloseRestart {
			t.Fatalf("close code %d, want %d", code, live.CloseRestart)
		}
	})
}

// Tickets are single-use and short-lived; no token ever goes in a URL.
func TestLiveTickets(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana, bo := e.newUser("ana@example.com"), e.newUser("bo@example.com")
		e.household(ana, bo)
		ticket := e.ticket(ana.token)
		if _, _, err := dialWS(t, e, "", "ticket="+ticket); err != nil {
			t.Fatal(err)
		}
		if _, resp, err := dialWS(t, e, "", "ticket="+ticket); err == nil || resp.StatusCode != 401 {
			t.Fatalf("a ticket used twice: %v %v", resp, err)
		}
		late := e.ticket(ana.token)
		e.clock.advance(31 * time.Second)
		if _, resp, err := dialWS(t, e, "", "ticket="+late); err == nil || resp.StatusCode != 401 {
			t.Fatalf("an expired ticket: %v %v", resp, err)
		}
		if _, resp, err := dialWS(t, e, "", "access_token="+ana.token); err == nil || resp.StatusCode != 401 {
			t.Fatalf("a token in the URL: %v %v", resp, err)
		}
		// Someone without a household has nothing to listen to.
		cy := e.newUser("cy@example.com")
		if _, resp, err := dialWS(t, e, cy.token, ""); err == nil || resp.StatusCode != 404 {
			t.Fatalf("no household: %v %v", resp, err)
		}
		// At most 10 connections per user; a draining instance takes none.
		for range live.DefaultMaxPerUser - 1 {
			if _, _, err := dialWS(t, e, ana.token, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, resp, err := dialWS(t, e, ana.token, ""); err == nil || resp.StatusCode != 429 {
			t.Fatalf("an eleventh connection: %v %v", resp, err)
		}
		e.hub.Drain()
		if _, resp, err := dialWS(t, e, bo.token, ""); err == nil || resp.StatusCode != 503 {
			t.Fatalf("a draining instance: %v %v", resp, err)
		}
	})
}

// A device whose changes are no longer kept gets a snapshot; a member who
// leaves, or whose sessions end, is disconnected with a code saying why.
func TestLiveResyncAndEndings(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		e = newEnvCaching(t, e.db, 0, func(d *api.Deps) { d.LiveHeartbeat = 50 * time.Millisecond })
		ana, bo := e.newUser("ana2@example.com"), e.newUser("bo2@example.com")
		id, list := e.household(ana, bo)
		e.expect(e.do("POST", list+"/items", ana.token, map[string]any{"name": "milk"}), 201)
		if err := e.db.PruneHouseholdFeeds(context.Background(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		d, _, err := dialWS(t, e, bo.token, "since=1")
		if err != nil {
			t.Fatal(err)
		}
		if m := d.read(); m.Type != "resync" || m.Snapshot == nil || len(m.Snapshot.Items) != 1 {
			t.Fatalf("a device behind the kept changes: %+v", m)
		}
		e.expect(e.do("POST", "/api/v1/households/"+id+"/leave", bo.token, nil), 204)
		if code := d.closed(); code != live.CloseNotMember {
			t.Fatalf("after leaving: close code %d, want %d", code, live.CloseNotMember)
		}
		a, _, err := dialWS(t, e, ana.token, "")
		if err != nil {
			t.Fatal(err)
		}
		a.read()
		e.expect(e.do("POST", "/api/v1/users/"+ana.id+"/logout-all", ana.token, nil), 204)
		if code := a.closed(); code != live.CloseSessionEnds {
			t.Fatalf("after a sign-out everywhere: close code %d, want %d", code, live.CloseSessionEnds)
		}
	})
}

// A device may send a frame in the same packet as its handshake, before
// the 101 comes back: the server has read it already with the request,
// and must not lose it when it gives the connection its own, smaller
// buffers. Here a ping sent that way must be answered.
func TestLiveWebSocketFrameWithHandshake(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t))
	ana, bo := e.newUser("ana@example.com"), e.newUser("bo@example.com")
	e.household(ana, bo)
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(liveWait))
	mask := [4]byte{1, 2, 3, 4}
	ping := []byte{0x89, 0x80 | 5, mask[0], mask[1], mask[2], mask[3]} // FIN, ping; masked, 5 bytes
	for i, c := range []byte("hello") {
		ping = append(ping, c^mask[i%4])
	}
	req := "GET /api/v1/sync/ws?since=0 HTTP/1.1\r\nHost: " + e.srv.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer " + bo.token + "\r\n\r\n"
	if _, err := conn.Write(append([]byte(req), ping...)); err != nil { // one write: one packet on loopback
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	// Frames from the server (unmasked): the backlog, and the pong.
	var got []string
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("after frames %v: %v", got, err)
		}
		n := int(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(br, l[:]); err != nil {
				t.Fatal(err)
			}
			n = int(binary.BigEndian.Uint16(l[:]))
		case 127:
			t.Fatalf("a message over 64 KB to a new device: %v", got)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		op := h[0] & 0x0f
		got = append(got, fmt.Sprintf("opcode %d", op))
		if op == 0xA { // pong
			if string(payload) != "hello" {
				t.Fatalf("pong %q, want the ping's %q", payload, "hello")
			}
			return
		}
	}
}
