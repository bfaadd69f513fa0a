package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// An answer to a GET that the handler has whole in memory (every JSON
// answer: one Write of exactly its Content-Length) leaves in one write to
// the socket, headers and body together. Only GETs: they are what nginx
// resends to another instance when one dies before answering; a write's
// answer cut by a crash is a 502 either way (docs/API.md). Holding the
// answers of writes too upset live sync's devices across deploys in
// test/deploy (1 run in 3, not understood); so they are left as they were.
//
// Why: net/http writes through a 4 KB buffer, so a 15 KB recipe page left
// in two writes. An instance killed between them (SIGKILL, the OOM killer,
// a crash) left nginx with the headers and part of the body: too late to
// retry the request on another instance, too early to complete it, so the
// client got a cut body. In one write the kill comes either before it
// (nginx sees the connection close with no answer and retries an
// idempotent request elsewhere) or after it (the answer is whole in the
// kernel, which still delivers it). Streams, uploads served from disk and
// hijacked connections are not held: they write as they always did.

// wholeListener hands the server connections that can hold their writes.
type wholeListener struct{ net.Listener }

func (l wholeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &wholeConn{Conn: c}, nil
}

// wholeConn passes writes through, except between hold and release, when
// it gathers them and release sends them in one write.
type wholeConn struct {
	net.Conn

	mu      sync.Mutex
	holding bool
	pending []byte
	err     error // a failed release's error, for the server's next write
}

func (c *wholeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.holding {
		c.pending = append(c.pending, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// ReadFrom keeps the server's sendfile path (http.ServeContent on a file)
// for connections that are not holding.
func (c *wholeConn) ReadFrom(r io.Reader) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.holding {
		b := bytes.NewBuffer(c.pending)
		n, err := b.ReadFrom(r)
		c.pending = b.Bytes()
		return n, err
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// CloseWrite keeps the server's lingering close (it half-closes before
// discarding a request body it did not read).
func (c *wholeConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *wholeConn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// maxKeptPending is the largest gathering buffer a connection keeps for
// its next answer; a larger one is left to the garbage collector.
const maxKeptPending = 64 << 10

func (c *wholeConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	if len(c.pending) == 0 || c.err != nil {
		return c.err
	}
	_, c.err = c.Conn.Write(c.pending)
	if cap(c.pending) > maxKeptPending {
		c.pending = nil
	} else {
		c.pending = c.pending[:0]
	}
	return c.err
}

type wholeConnKey struct{}

// wholeConnContext is the server's ConnContext: it lets a request's
// writer find its connection.
func wholeConnContext(ctx context.Context, c net.Conn) context.Context {
	if wc, ok := c.(*wholeConn); ok {
		return context.WithValue(ctx, wholeConnKey{}, wc)
	}
	return ctx
}

// wholeAnswers gives h a writer that sends a whole answer in one write,
// once h has returned: as before, the client sees the answer only after the
// handler is done with it (its access log line written, its request
// counted), which tests and operators reading the counters rely on.
func wholeAnswers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := r.Context().Value(wholeConnKey{}).(*wholeConn)
		if !ok || r.Method != http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		ww := &wholeWriter{ResponseWriter: w, conn: c}
		defer ww.send()
		h.ServeHTTP(ww, r)
	})
}

type wholeWriter struct {
	http.ResponseWriter
	conn  *wholeConn
	wrote bool
	held  bool // the connection holds this answer until send
}

// Write holds the connection for a first write that is the whole body
// (as long as the Content-Length the handler set), and flushes it into the
// hold: the server's buffered headers and the body leave together, in send.
func (w *wholeWriter) Write(b []byte) (int, error) {
	if w.wrote || len(b) == 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(b)) {
		w.wrote = true
		return w.ResponseWriter.Write(b)
	}
	w.wrote, w.held = true, true
	w.conn.hold()
	n, err := w.ResponseWriter.Write(b)
	if err == nil {
		err = http.NewResponseController(w.ResponseWriter).Flush()
	}
	return n, err
}

// send writes a held answer to the socket. A failed write means the client
// went away; the connection keeps the error for the server's next write.
func (w *wholeWriter) send() {
	if w.held {
		w.held = false
		w.conn.release()
	}
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (w *wholeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
