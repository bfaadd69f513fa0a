package deploy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rawClient is an HTTP/1.1 client over plain keep-alive connections that
// never retries anything by itself and checks every body it reads: the
// length against Content-Length (or the chunked framing's end), gzip when
// the body is compressed, and that it parses as JSON. It is the client the
// issue asks about: what does a deploy cost a client that does not retry?
//
// Go's own transport, OkHttp and browsers retry an idempotent request that
// fails on a reused keep-alive connection before any byte of the answer came
// back (the server closed the connection as the request was on its way);
// rawClient reports that case as "stale" and leaves the retry to its caller,
// so both views come out of one run.
//
// Before it reuses an idle connection it checks whether the server has
// closed it meanwhile, as a careful client does (Go's transport learns it
// from its read loop): those are counted in idleClosed, not as failures.
type rawClient struct {
	host   string // Host header
	addr   string // where to connect
	dialer *net.Dialer

	mu   sync.Mutex
	idle []*rawConn

	dials      atomic.Int64 // connections opened
	idleClosed atomic.Int64 // idle connections found closed by the server
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	n  *countingReader
}

// countingReader counts the bytes read from the connection, so a failure
// can tell "nothing came back" (stale) from "the answer was cut" (truncated).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

const maxIdlePerClient = 64

func newRawClient(baseURL string, local net.IP) *rawClient {
	hostport := strings.TrimPrefix(baseURL, "http://")
	return &rawClient{
		host: hostport, addr: hostport,
		dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: 5 * time.Second},
	}
}

// Failure classes of one attempt.
const (
	failStale     = "stale"     // reused connection closed under the request, no answer
	failTruncated = "truncated" // headers came, the body was cut or mis-framed
	failInvalid   = "invalid"   // the body was complete but not JSON
	failStatus    = "status"    // a non-2xx answer
	failConn      = "conn"      // could not connect, or a fresh connection failed
	failBusy      = "busy"      // 503 "busy checking passwords": the app shedding load on a starved machine
)

// attempt is one request on one connection.
type attempt struct {
	status int
	class  string // "" when it succeeded
	err    string
	reused bool
	body   []byte
}

// get takes a connection (an idle one or a new one), sends the request,
// reads and checks the answer.
func (c *rawClient) do(method, path string, header http.Header, body []byte, gzipOK bool) attempt {
	conn, reused, err := c.conn()
	if err != nil {
		return attempt{class: failConn, err: err.Error()}
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, c.host)
	if gzipOK {
		req.WriteString("Accept-Encoding: gzip\r\n")
	}
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	if body != nil {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(body))
	}
	req.WriteString("\r\n")
	req.Write(body)

	conn.c.SetDeadline(time.Now().Add(30 * time.Second))
	before := conn.n.n.Load()
	a := attempt{reused: reused}
	fail := func(class string, err error) attempt {
		conn.c.Close()
		a.class, a.err = class, err.Error()
		return a
	}
	if _, err := conn.c.Write(req.Bytes()); err != nil {
		if reused {
			return fail(failStale, err)
		}
		return fail(failConn, err)
	}
	resp, err := http.ReadResponse(conn.br, &http.Request{Method: method})
	if err != nil {
		if conn.n.n.Load() == before {
			if reused {
				return fail(failStale, err)
			}
			return fail(failConn, err)
		}
		return fail(failTruncated, fmt.Errorf("reading the header: %w", err))
	}
	a.status = resp.StatusCode
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fail(failTruncated, fmt.Errorf("%d bytes of the body, then %w (Content-Length %d)", len(raw), err, resp.ContentLength))
	}
	if resp.ContentLength >= 0 && int64(len(raw)) != resp.ContentLength {
		return fail(failTruncated, fmt.Errorf("%d bytes of a %d-byte body", len(raw), resp.ContentLength))
	}
	if resp.Close {
		conn.c.Close()
	} else {
		conn.c.SetDeadline(time.Time{})
		c.put(conn)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			raw, err = io.ReadAll(zr)
		}
		if err != nil {
			a.class, a.err = failTruncated, "gzip: "+err.Error()
			return a
		}
	}
	a.body = raw
	if !json.Valid(raw) {
		a.class, a.err = failInvalid, fmt.Sprintf("%d %q", resp.StatusCode, clipBytes(raw, 120))
		return a
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.class, a.err = failStatus, fmt.Sprintf("%d %s", resp.StatusCode, clipBytes(bytes.TrimSpace(raw), 200))
	}
	return a
}

// conn returns an idle connection the server has not closed, or a new one.
func (c *rawClient) conn() (*rawConn, bool, error) {
	for {
		c.mu.Lock()
		n := len(c.idle)
		if n == 0 {
			c.mu.Unlock()
			break
		}
		conn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		// A closed connection reads EOF at once; a live idle one times out.
		conn.c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := conn.br.Peek(1)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			conn.c.SetReadDeadline(time.Time{})
			return conn, true, nil
		}
		c.idleClosed.Add(1)
		conn.c.Close()
	}
	nc, err := c.dialer.Dial("tcp", c.addr)
	if err != nil {
		return nil, false, err
	}
	c.dials.Add(1)
	cr := &countingReader{r: nc}
	return &rawConn{c: nc, br: bufio.NewReader(cr), n: cr}, false, nil
}

func (c *rawClient) put(conn *rawConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.idle) >= maxIdlePerClient {
		conn.c.Close()
		return
	}
	c.idle = append(c.idle, conn)
}

// close drops every idle connection.
func (c *rawClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.idle {
		conn.c.Close()
	}
	c.idle = nil
}

func clipBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
