package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// drainer lets the API's connections end without a race. An idle
// keep-alive connection closed by the server can cross a request the client
// (nginx) was already writing to it: the client gets a reset instead of an
// answer, and may not retry (nginx never retries a POST it has sent). Only
// the client knows when it is about to use a connection, so during shutdown
// the server answers every request with "Connection: close" (the client
// closes that connection after reading the answer) and leaves idle
// connections to the client for the shutdown delay (nginx's upstream
// keepalive_timeout, 4 s, is shorter, so nginx closes its own first); it
// counts the open connections and stops as soon as none is left, instead
// of sleeping a fixed time.
type drainer struct {
	draining atomic.Bool

	mu      sync.Mutex
	open    int           // accepted, not yet closed or hijacked
	changed chan struct{} // closed and replaced whenever open changes
}

func newDrainer() *drainer { return &drainer{changed: make(chan struct{})} }

// wrap marks every answer "Connection: close" once draining has begun,
// including the answers of requests that were running when it began: the
// header is decided when the answer starts.
func (d *drainer) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&drainWriter{ResponseWriter: w, d: d}, r)
	})
}

// drainWriter adds "Connection: close" to an answer that starts while the
// server drains.
type drainWriter struct {
	http.ResponseWriter
	d       *drainer
	started bool
}

func (w *drainWriter) WriteHeader(code int) {
	if !w.started {
		w.started = true
		if w.d.draining.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *drainWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (w *drainWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// connState is the server's ConnState hook: it counts open connections.
func (d *drainer) connState(_ net.Conn, s http.ConnState) {
	var delta int
	switch s {
	case http.StateNew:
		delta = 1
	case http.StateClosed, http.StateHijacked:
		delta = -1 // a hijacked connection is its handler's to end
	default:
		return
	}
	d.mu.Lock()
	d.open += delta
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// start begins draining: from now on every answer asks the client to close.
func (d *drainer) start() { d.draining.Store(true) }

// openConns is how many connections are open now.
func (d *drainer) openConns() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.open
}

// wait returns once no connection is open, or when ctx ends; it returns how
// many are still open.
func (d *drainer) wait(ctx context.Context) int {
	for {
		d.mu.Lock()
		open, changed := d.open, d.changed
		d.mu.Unlock()
		if open <= 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return open
		case <-changed:
		}
	}
}

// onceCloseListener lets shutdown close the listener early (to stop
// accepting while connections drain) and http.Server.Shutdown close it
// again without an error.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
