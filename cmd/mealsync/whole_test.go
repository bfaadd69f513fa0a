package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingListener's connections remember every write that reaches the
// socket.
type recordingListener struct {
	net.Listener
	mu     sync.Mutex
	writes [][]byte
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, l: l}, nil
}

func (l *recordingListener) taken() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.writes
	l.writes = nil
	return out
}

type recordingConn struct {
	net.Conn
	l *recordingListener
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, bytes.Clone(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// serveWhole serves h as serve does (wholeListener, wholeAnswers,
// wholeConnContext) and returns its address and the recorder under it.
func serveWhole(t *testing.T, h http.Handler) (string, *recordingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingListener{Listener: ln}
	srv := &http.Server{Handler: wholeAnswers(h), ConnContext: wholeConnContext}
	go srv.Serve(wholeListener{rec})
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), rec
}

// A JSON answer far larger than net/http's 4 KB write buffer reaches the
// socket in one write, headers and body together, on every request of a
// kept-alive connection: a process killed mid-answer cannot leave a
// proxy with half of it.
func TestWholeAnswerLeavesInOneWrite(t *testing.T) {
	body := []byte(`{"data":"` + strings.Repeat("r", 20<<10) + `"}` + "\n")
	addr, rec := serveWhole(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 3 {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("request %d: body of %d bytes (%v), want the %d written", i, len(got), err, len(body))
		}
		writes := rec.taken()
		if len(writes) != 1 {
			t.Fatalf("request %d: the answer reached the socket in %d writes (sizes %v), want 1", i, len(writes), sizes(writes))
		}
		if w := writes[0]; !bytes.HasPrefix(w, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(w, body) {
			t.Fatalf("request %d: the one write is not headers and body: %q…", i, w[:min(len(w), 80)])
		}
	}
}

// Answers that are not whole in one Write pass as before: a stream
// reaches the client as it is flushed (nothing held until it ends), and a
// body written in pieces arrives complete.
func TestWholeAnswersLeaveOtherAnswersAlone(t *testing.T) {
	release := make(chan struct{})
	var released sync.Once
	t.Cleanup(func() { released.Do(func() { close(release) }) })
	addr, _ := serveWhole(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: first\n\n")
			http.NewResponseController(w).Flush()
			<-release
			io.WriteString(w, "data: last\n\n")
		case "/pieces":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "01234")
			io.WriteString(w, "56789")
		}
	}))

	resp, err := http.Get("http://" + addr + "/pieces")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != "0123456789" {
		t.Fatalf("pieces: %q, %v", got, err)
	}

	resp, err = http.Get("http://" + addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(resp.Body).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "data: first\n" {
			t.Fatalf("stream's first line: %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the stream's flushed first event did not arrive while the handler ran: it was held")
	}
}

func sizes(writes [][]byte) []int {
	out := make([]int, len(writes))
	for i, w := range writes {
		out[i] = len(w)
	}
	return out
}

// A whole answer reaches the client only once the handler has returned —
// after the middleware counted and logged it — as when net/http alone
// buffered it: a client that reads the counters right after its answer
// finds its request counted.
func TestWholeAnswerLeavesAfterTheHandler(t *testing.T) {
	body := []byte(`{"data":"` + strings.Repeat("c", 8<<10) + `"}` + "\n")
	received := make(chan struct{})
	early := make(chan bool, 1)
	addr, _ := serveWhole(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
		select { // the client must not have the answer yet
		case <-received:
			early <- true
		case <-time.After(300 * time.Millisecond):
			early <- false
		}
	}))
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	close(received)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body of %d bytes (%v), want %d", len(got), err, len(body))
	}
	if <-early {
		t.Error("the client had the answer while the handler was still running")
	}
}
