package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/live"
)

// Live sync: a device opens GET /api/v1/sync/ws (WebSocket) or
// GET /api/v1/sync/events (server-sent events) with the revision it knows,
// gets every change after it (or a snapshot, when they are no longer kept),
// then each new revision of its household as it commits. docs/SYNC.md is
// the protocol.
const (
	liveHeartbeat    = 25 * time.Second // under every proxy's idle timeout
	liveWriteTimeout = 10 * time.Second // a device slower than this is dropped, to resume
	liveBatch        = 500              // changes per message at most
)

// liveMessage is what the server sends on a live connection.
type liveMessage struct {
	Type        string       `json:"type"` // changes or resync
	HouseholdID string       `json:"householdId"`
	Revision    int64        `json:"revision"`
	Changes     []changeDTO  `json:"changes,omitempty"`
	Snapshot    *snapshotDTO `json:"snapshot,omitempty"`
}

type liveMetrics struct {
	messages  *prometheus.CounterVec
	resumes   prometheus.Counter
	resyncs   prometheus.Counter
	slow      prometheus.Counter
	ended     *prometheus.CounterVec
	delivered prometheus.Histogram
}

func newLiveMetrics(reg prometheus.Registerer, hub *live.Hub) *liveMetrics {
	m := &liveMetrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mealsync_live_messages_total", Help: "Messages sent on live sync connections, by kind of connection.",
		}, []string{"kind"}),
		resumes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mealsync_live_resumes_total", Help: "Live connections opened from a revision the device knew.",
		}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mealsync_live_resyncs_total", Help: "Snapshots sent because the changes a device needed were no longer kept.",
		}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mealsync_live_slow_disconnects_total", Help: "Live connections dropped for not keeping up.",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mealsync_live_closed_total", Help: "Live connections the server closed, by close code.",
		}, []string{"code"}),
		delivered: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mealsync_live_delivery_seconds",
			Help:    "From a change's commit to its sending on a live connection.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, kind := range []string{"ws", "sse"} {
		m.messages.WithLabelValues(kind) // present from the start, at 0
	}
	open := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mealsync_live_connections", Help: "Open live sync connections, by kind."}, []string{"kind"})
	reg.MustRegister(m.messages, m.resumes, m.resyncs, m.slow, m.ended, m.delivered, prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		counts := hub.Open()
		for _, kind := range []string{"ws", "sse"} {
			open.WithLabelValues(kind).Set(float64(counts[kind]))
		}
		open.Collect(ch)
	}))
	return m
}

// POST /api/v1/sync/ticket — a single-use ticket, valid 30 s, to open a
// live connection from a browser (?ticket=…).
func (s *Server) handleLiveTicket(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	ticket, expires, err := s.tickets.Issue(r.Context(), me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusCreated, map[string]any{"ticket": ticket, "expiresAt": Instant(expires)})
}

// liveUser authenticates a live connection: by its Authorization header
// (apps), or by a ticket in the query (browsers).
func (s *Server) liveUser(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ticket := r.URL.Query().Get("ticket")
		if ticket == "" || r.Header.Get("Authorization") != "" {
			s.user(h).ServeHTTP(w, r)
			return
		}
		if len(ticket) > 64 {
			s.fail(w, r, mealsync.Errorf(mealsync.EUNAUTHORIZED, "Invalid or expired ticket"))
			return
		}
		me, err := s.tickets.Redeem(r.Context(), ticket)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		info(r.Context()).userID = me.ID
		h(w, r, me)
	})
}

// liveStart finds the caller's household and subscribes to it: the
// connection's household, the revision to resume from, and its Sub.
func (s *Server) liveStart(r *http.Request, me *mealsync.User, kind string, since int64) (*live.Sub, error) {
	h, err := s.households.Mine(r.Context(), me)
	if err != nil {
		return nil, err
	}
	sub, err := s.hub.Subscribe(h.Household.ID, me.ID, kind)
	switch {
	case errors.Is(err, live.ErrDraining):
		return nil, &mealsync.Error{Code: mealsync.EUNAVAILABLE, Message: err.Error(), RetryAfter: time.Second}
	case errors.Is(err, live.ErrTooMany):
		return nil, &mealsync.Error{Code: mealsync.ETOOMANY, Message: fmt.Sprintf("At most %d live connections per user", live.DefaultMaxPerUser), RetryAfter: 5 * time.Second}
	case err != nil:
		return nil, err
	}
	if since > 0 {
		s.live.resumes.Inc()
	}
	return sub, nil
}

// liveSince reads the revision a device knows: ?since=, or for an event
// stream that reconnects by itself, Last-Event-ID.
func liveSince(r *http.Request) (int64, error) {
	raw := r.URL.Query().Get("since")
	if raw == "" {
		raw = r.Header.Get("Last-Event-ID")
	}
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, fieldError("since", "Must be a revision: a whole number, 0 or more")
	}
	return n, nil
}

// pump sends the household's changes after since, then each new revision,
// until the hub ends the connection, the session ends, the device goes, or
// a write fails; it returns the close code to send.
func (s *Server) pump(ctx context.Context, me *mealsync.User, sub *live.Sub, since int64,
	send func(ctx context.Context, m liveMessage) error, ping func(ctx context.Context) error) int {
	last := since
	catchUp := func() int {
		f, err := s.households.Feed(ctx, me, sub.HouseholdID, last)
		if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
			return live.CloseNotMember
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.WarnContext(ctx, "live feed", "err", err)
			}
			return int(websocket.StatusInternalError)
		}
		var msgs []liveMessage
		switch {
		case f.Resync:
			s.live.resyncs.Inc()
			msgs = append(msgs, liveMessage{Type: "resync", HouseholdID: sub.HouseholdID, Revision: f.Revision, Snapshot: toSnapshotDTO(f.Snapshot)})
		case len(f.Changes) > 0:
			feed := toFeedDTO(sub.HouseholdID, f)
			for start := 0; start < len(feed.Changes); start += liveBatch {
				batch := feed.Changes[start:min(start+liveBatch, len(feed.Changes))]
				msgs = append(msgs, liveMessage{Type: "changes", HouseholdID: sub.HouseholdID, Revision: batch[len(batch)-1].Revision, Changes: batch})
			}
			s.live.delivered.Observe(time.Since(f.Changes[len(f.Changes)-1].At).Seconds())
		}
		for _, m := range msgs {
			wctx, cancel := context.WithTimeout(ctx, liveWriteTimeout)
			err := send(wctx, m)
			cancel()
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					s.live.slow.Inc()
					return live.CloseTooSlow
				}
				return int(websocket.StatusGoingAway) // the device went
			}
			s.live.messages.WithLabelValues(sub.Kind).Inc()
		}
		last = f.Revision
		return 0
	}
	if code := catchUp(); code != 0 {
		return code
	}
	beat := time.NewTicker(s.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-sub.Wake():
			if code := catchUp(); code != 0 {
				return code
			}
		case <-beat.C:
			if err := s.auth.Still(ctx, me.ID, me.SessionEpoch); err != nil {
				return live.CloseSessionEnds
			}
			pctx, cancel := context.WithTimeout(ctx, liveWriteTimeout)
			err := ping(pctx)
			cancel()
			if err != nil {
				return int(websocket.StatusGoingAway)
			}
		case <-sub.Done():
			return sub.Code()
		case <-ctx.Done():
			return int(websocket.StatusGoingAway)
		}
	}
}

// GET /api/v1/sync/ws?since=REV
//
// The handler returns once the connection is upgraded: the connection then
// lives on two goroutines of its own (coder/websocket's reader of control
// frames, and pump), without net/http's goroutine, request and buffers.
// The access log and the request metrics see the handshake (status 101);
// mealsync_live_connections counts the open connections.
func (s *Server) handleLiveWS(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	since, err := liveSince(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.liveStart(r, me, "ws", since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	conn, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{OriginPatterns: s.wsOrigins})
	if err != nil {
		s.hub.Unsubscribe(sub)
		return // Accept answered the client
	}
	conn.SetReadLimit(4 << 10) // devices send nothing but control frames
	// The request's context ends with the handler; the connection's own
	// ends when the device goes (CloseRead reads and answers its frames).
	ctx := conn.CloseRead(context.WithoutCancel(r.Context()))
	go func() {
		defer s.hub.Unsubscribe(sub)
		code := s.pump(ctx, me, sub, since,
			func(ctx context.Context, m liveMessage) error {
				b, err := json.Marshal(m)
				if err != nil {
					return err
				}
				return conn.Write(ctx, websocket.MessageText, b)
			},
			conn.Ping)
		s.live.ended.WithLabelValues(strconv.Itoa(code)).Inc()
		conn.Close(websocket.StatusCode(code), closeReason(code))
	}()
}

// Buffers of a live WebSocket connection. A device sends nothing but
// control frames (131 bytes at most) and the server writes a message now
// and then, mostly under a kilobyte; larger ones go past the buffer.
const (
	liveReadBuffer  = 256
	liveWriteBuffer = 1 << 10
)

// smallBuffers is a ResponseWriter whose Hijack gives the connection
// buffers sized for a live connection instead of net/http's 4 KB reader and
// 4 KB writer, which a connection would otherwise keep for hours: 8 KB of
// an idle connection's memory, twice over once the garbage collector's
// headroom counts (docs/BENCHMARKS.md, "Live sync").
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// The server's read and write timeouts are for requests, not for a
	// connection that lives for hours: lift them (the heartbeat and each
	// write's own timeout take their place).
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, nil, err
	}
	// Bytes the device sent after its handshake, already read ahead, stay
	// in net/http's reader: keep that one then.
	rd := brw.Reader
	if rd.Buffered() == 0 {
		rd = bufio.NewReaderSize(conn, liveReadBuffer)
	}
	// net/http has flushed the 101 answer: its writer holds nothing.
	return conn, bufio.NewReadWriter(rd, bufio.NewWriterSize(conn, liveWriteBuffer)), nil
}

func closeReason(code int) string {
	switch code {
	case live.CloseRestart:
		return "server restarting: reconnect and resume"
	case live.CloseSessionEnds:
		return "session ended: sign in again"
	case live.CloseTooSlow:
		return "too slow: reconnect and resume"
	case live.CloseNotMember:
		return "not in the household"
	}
	return ""
}

// GET /api/v1/sync/events?since=REV (or Last-Event-ID) — server-sent
// events: "changes" and "resync" events whose id is the revision, and a
// comment every 25 s. When the server closes the stream it sends a "close"
// event with the code first.
func (s *Server) handleLiveEvents(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	since, err := liveSince(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.liveStart(r, me, "sse", since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer s.hub.Unsubscribe(sub)
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // a stream outlives the request's read timeout
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil { // the device knows it is connected, even with nothing to catch up on
		return
	}
	write := func(ctx context.Context, text string) error {
		deadline, _ := ctx.Deadline()
		rc.SetWriteDeadline(deadline)
		if _, err := fmt.Fprint(w, text); err != nil {
			return context.DeadlineExceeded
		}
		if err := rc.Flush(); err != nil {
			return context.DeadlineExceeded
		}
		return nil
	}
	ctx := context.WithoutCancel(r.Context())
	done := r.Context().Done() // the device went (or the server closes)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	code := s.pump(ctx, me, sub, since,
		func(ctx context.Context, m liveMessage) error {
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			return write(ctx, "event: "+m.Type+"\nid: "+strconv.FormatInt(m.Revision, 10)+"\ndata: "+string(b)+"\n\n")
		},
		func(ctx context.Context) error { return write(ctx, ": ping\n\n") })
	s.live.ended.WithLabelValues(strconv.Itoa(code)).Inc()
	if code != int(websocket.StatusGoingAway) {
		wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
		write(wctx, "event: close\ndata: {\"code\":"+strconv.Itoa(code)+",\"reason\":"+strconv.Quote(closeReason(code))+"}\n\n")
		wcancel()
	}
}
