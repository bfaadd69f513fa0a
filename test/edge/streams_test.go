package edge_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mealsync/mealsync/internal/testenv"
)

// The app has no WebSocket endpoint yet, so an echo server stands in as the
// only upstream. Upgrades pass through the streaming location and the
// general one alike; plain requests reuse upstream connections (the
// Connection header is empty, not "close").
func TestWebSocket(t *testing.T) {
	var mu sync.Mutex
	var plain []*http.Request
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			mu.Lock()
			plain = append(plain, r)
			mu.Unlock()
			fmt.Fprint(w, "plain")
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(echo.Close)
	n := testenv.StartNginx(t, "", []string{echo.Listener.Addr().String()})

	for _, path := range []string{"/api/v1/sync", "/api/v1/recipes/live"} {
		ctx := withTimeout(t, 10*time.Second)
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.URL, "http")+path, nil)
		if err != nil {
			t.Fatalf("WebSocket %s via nginx: %v", path, err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("%s: %d, want 101 Switching Protocols", path, resp.StatusCode)
		}
		for i := range 3 {
			msg := fmt.Sprintf("hello %d via %s", i, path)
			if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("%s: reading the echo: %v", path, err)
			}
			if string(got) != msg {
				t.Errorf("%s: echoed %q, want %q", path, got, msg)
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}

	client := clientFrom(newClientIP(), 1)
	for range 2 {
		if resp, body := do(t, client, "GET", n.URL+"/api/v1/recipes", nil, nil); string(body) != "plain" {
			t.Fatalf("plain GET: %d %q", resp.StatusCode, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range plain {
		if r.Close || r.Header.Get("Connection") != "" || r.Proto != "HTTP/1.1" {
			t.Errorf("plain request reached the upstream as %s with Connection %q: not reusable", r.Proto, r.Header.Get("Connection"))
		}
	}
	if plain[0].RemoteAddr != plain[1].RemoteAddr {
		t.Errorf("two requests in a row came over %s and %s: upstream keepalive unused", plain[0].RemoteAddr, plain[1].RemoteAddr)
	}
}

// Server-sent events reach the client as the app writes them. The stand-in
// server writes an event, then waits until the test has received it before
// writing the next, and ends the stream only after the last: an event held
// back by nginx (proxy buffers, gzip) never arrives, and the test times out.
func TestServerSentEvents(t *testing.T) {
	const events = 3
	var mu sync.Mutex
	ack := map[string]chan struct{}{}
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		received := ack[r.URL.Path]
		mu.Unlock()
		if r.URL.Query().Get("accel") == "no" {
			w.Header().Set("X-Accel-Buffering", "no")
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-store")
		for i := 1; i <= events; i++ {
			fmt.Fprintf(w, "id: %d\ndata: event %d\n\n", i, i)
			w.(http.Flusher).Flush()
			select {
			case <-received:
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(sse.Close)
	n := testenv.StartNginx(t, "", []string{sse.Listener.Addr().String()})
	client := clientFrom(newClientIP(), 1)
	client.Timeout = 0 // the context bounds each stream

	for _, path := range []string{
		"/api/v1/events",                   // the streaming location
		"/api/v1/sync/stream",              // the streaming location
		"/api/v1/recipes/changes?accel=no", // elsewhere, when the app asks
	} {
		received := make(chan struct{})
		mu.Lock()
		ack[strings.SplitN(path, "?", 2)[0]] = received
		mu.Unlock()

		req := must(http.NewRequestWithContext(withTimeout(t, 10*time.Second), "GET", n.URL+path, nil))
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s: Content-Encoding %q: compressing a stream buffers it", path, ce)
		}
		stream := bufio.NewReader(resp.Body)
		for i := 1; i <= events; i++ {
			want := fmt.Sprintf("id: %d\ndata: event %d", i, i)
			if got, err := readEvent(stream); err != nil || got != want {
				resp.Body.Close()
				t.Fatalf("%s: event %d: %q, %v: nginx held it back while the stream was open", path, i, got, err)
			}
			received <- struct{}{}
		}
		resp.Body.Close()
	}
}

// A client that stops reading holds the app's stream back (backpressure),
// instead of nginx reading ahead and spooling an endless stream to disk, as
// it does with proxy buffering (up to 1 GB per connection by default).
func TestSlowStreamReaderHoldsBackTheApp(t *testing.T) {
	const flood = 64 << 20
	written := make(chan int, 1)
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		// The deadline ends the writes the reader never takes.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(3 * time.Second))
		event := []byte("data: " + strings.Repeat("x", 64<<10-8) + "\n\n")
		total := 0
		for total < flood {
			n, err := w.Write(event)
			total += n
			if err != nil {
				break
			}
		}
		written <- total
	}))
	t.Cleanup(sse.Close)
	n := testenv.StartNginx(t, "", []string{sse.Listener.Addr().String()})
	client := clientFrom(newClientIP(), 1)
	client.Timeout = 0

	req := must(http.NewRequestWithContext(withTimeout(t, 20*time.Second), "GET", n.URL+"/api/v1/events", nil))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // never read
	select {
	case total := <-written:
		t.Logf("the app wrote %d MB before the unread stream held it back", total>>20)
		if total >= flood {
			t.Errorf("the app wrote all %d MB to a client that reads nothing: nginx buffered the stream", flood>>20)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the stand-in server never finished writing")
	}
}

// readEvent reads one server-sent event (up to its blank line).
func readEvent(r *bufio.Reader) (string, error) {
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return strings.Join(lines, "\n"), err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
}
