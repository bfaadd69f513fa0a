package edge_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// capacityUsers is the edge's sizing target (issue 11): 10,000 users with the
// app open, each with a kept-alive API connection and a live-sync WebSocket.
const capacityUsers = 10_000

// directive returns the integer argument of a main- or events-level
// directive of conf (comments ignored), or fails.
func directive(t *testing.T, conf, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^[ \t]*`+name+`[ \t]+(\d+)[ \t]*;`).FindAllStringSubmatch(conf, -1)
	if len(m) != 1 {
		t.Fatalf("%s appears %d times, want once", name, len(m))
	}
	n, err := strconv.Atoi(m[0][1])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listenSockets counts the distinct ports nginx listens on once HTTPS is
// enabled: nginx.conf's servers and conf.d/https.conf.disabled's. Servers
// that listen on the same port share one socket.
func listenSockets(t *testing.T, files ...string) int {
	t.Helper()
	ports := map[string]bool{}
	re := regexp.MustCompile(`(?m)^[ \t]*listen[ \t]+(\S+?)[ \t;]`)
	for _, f := range files {
		for _, m := range re.FindAllStringSubmatch(readRepo(t, f), -1) {
			ports[m[1]] = true
		}
	}
	return len(ports)
}

func readRepo(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEdgeConnectionBudget checks nginx.conf's limits against what
// capacityUsers need, counted per worker: the kernel gives a new connection
// to whichever worker wakes first, so one worker may hold nearly all of them.
// Each user: its API connection, an upstream connection while a request is
// in flight (all at once when the instances stall), and a WebSocket (client
// side and upstream side); plus the idle upstream connections upstream.conf
// keeps and the listening sockets. Each connection is a file, and each
// proxied request may hold a temporary file (an upload or an image larger
// than its buffers) besides: worker_rlimit_nofile must cover both. nginx -t
// must not find worker_connections above the open-file limit.
func TestEdgeConnectionBudget(t *testing.T) {
	conf := readRepo(t, "nginx/nginx.conf")
	conns := directive(t, conf, "worker_connections")
	files := directive(t, conf, "worker_rlimit_nofile")
	idleUpstream := directive(t, readRepo(t, "nginx/upstream.conf"), "keepalive")
	listeners := listenSockets(t, "nginx/nginx.conf", "nginx/conf.d/https.conf.disabled")

	need := capacityUsers*(1+1+2) + idleUpstream + listeners
	t.Logf("worker_connections %d for %d users: %d needed (%d x 4 + %d idle upstream + %d listeners)",
		conns, capacityUsers, need, capacityUsers, idleUpstream, listeners)
	if conns < need {
		t.Errorf("worker_connections %d < %d: one worker cannot hold %d users' API, upstream and WebSocket connections",
			conns, need, capacityUsers)
	}
	const logsAndSpare = 16
	if wantFiles := conns + capacityUsers + logsAndSpare; files < wantFiles {
		t.Errorf("worker_rlimit_nofile %d < %d: worker_connections %d + a temporary file for each of %d requests + logs",
			files, wantFiles, conns, capacityUsers)
	}

	n := testenv.StartNginx(t, "", []string{"127.0.0.1:1"})
	out, err := n.Command("-t").CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "exceed open file resource limit") {
		t.Errorf("nginx -t: worker_connections exceed the open-file limit:\n%s", out)
	}
}

// TestEdgeHoldsManyClients holds capacityUsers kept-alive client connections
// open through nginx at once, each from its own address (as phones are),
// while some of them wait on requests the instance holds and others open
// WebSockets, so nginx holds upstream connections beside the client ones —
// more than nginx's old limits allowed (4,096 per worker, 2 workers). Every
// client connection must stay open and answer again afterwards, and nginx
// must not run out of connections or files.
func TestEdgeHoldsManyClients(t *testing.T) {
	testenv.RequireNginx(t)
	const (
		held    = 1000 // requests the instance holds at once: upstream connections
		sockets = 500  // WebSockets: a client and an upstream connection each
	)
	// This process holds every client connection, plus the stand-in
	// instance's side of the held requests and WebSockets.
	needFiles := capacityUsers + held + 2*sockets + 256
	raiseOpenFiles(t, needFiles)

	release := make(chan struct{})
	var holding sync.WaitGroup
	holding.Add(held)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Upgrade") != "":
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
		case r.URL.Path == "/api/v1/hold":
			holding.Done()
			<-release
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(app.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	n := testenv.StartNginx(t, "", []string{app.Listener.Addr().String()})
	addr := strings.TrimPrefix(n.URL, "http://")
	// Whatever step fails, say whether nginx ran out: out of connections it
	// closes idle kept-alive ones to make room ("worker_connections are not
	// enough, reusing connections"), which their clients see as a reset.
	defer func() {
		errlog, _ := os.ReadFile(n.ErrorLog)
		for _, bad := range []string{"worker_connections are not enough", "Too many open files"} {
			if strings.Contains(string(errlog), bad) {
				t.Errorf("nginx logged %q", bad)
			}
		}
	}()

	// Open every client connection, each sending one request, a few at a
	// time (nginx's listen backlog is 511).
	clients := make([]*rawConn, capacityUsers)
	if err := parallel(64, capacityUsers, func(i int) error {
		c, err := dialFrom(addr, manyClientsIP(i))
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		clients[i] = c
		return c.get("/api/v1/recipes")
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				c.conn.Close()
			}
		}
	})

	// Requests the instance holds, on the first clients' connections.
	holdDone := make(chan error, held)
	for i := range held {
		go func() { holdDone <- clients[i].get("/api/v1/hold") }()
	}
	// Until the instance holds every one; a held request that ends before
	// the release failed (its connection was closed under it).
	allHeld := make(chan struct{})
	go func() { holding.Wait(); close(allHeld) }()
	select {
	case <-allHeld:
	case err := <-holdDone:
		t.Fatalf("a held request ended before the instance answered it: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("timed out after 60 s waiting for the instance to hold every request")
	}

	// WebSockets, from addresses of their own, while the requests are held.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wss := make([]*websocket.Conn, sockets)
	if err := parallel(32, sockets, func(i int) error {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: manyClientsIP(capacityUsers + i)}, Timeout: 10 * time.Second}
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/v1/sync", &websocket.DialOptions{
			HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}},
		})
		if err != nil {
			return fmt.Errorf("WebSocket %d: %w", i, err)
		}
		wss[i] = c
		msg := []byte("ping " + strconv.Itoa(i))
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
		_, got, err := c.Read(ctx)
		if err == nil && string(got) != string(msg) {
			err = fmt.Errorf("echoed %q", got)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	for _, c := range wss {
		if c != nil {
			defer c.CloseNow()
		}
	}
	t.Logf("nginx holds %d client connections, %d requests waiting upstream and %d WebSockets: %d connections",
		capacityUsers, held, sockets, capacityUsers+held+2*sockets)

	close(release)
	for range held {
		if err := <-holdDone; err != nil {
			t.Errorf("held request: %v", err)
		}
	}
	// Every client connection is still open, and answers again.
	if err := parallel(64, capacityUsers, func(i int) error {
		if err := clients[i].get("/api/v1/recipes"); err != nil {
			return fmt.Errorf("client %d, second request on its connection: %w", i, err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// manyClientsIP is the i-th client address of TestEdgeHoldsManyClients, in
// 127.77.0.0/16: apart from the 127.0.0.x of the other tests.
func manyClientsIP(i int) net.IP {
	i++ // skip 127.77.0.0
	return net.IPv4(127, 77, byte(i>>8), byte(i))
}

// rawConn is one client's kept-alive HTTP/1.1 connection.
type rawConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialFrom(addr string, ip net.IP) (*rawConn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{conn: c, r: bufio.NewReader(c)}, nil
}

// get sends a GET on the connection and reads a 200 "ok" answer, leaving the
// connection open.
func (c *rawConn) get(path string) error {
	c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := fmt.Fprintf(c.conn, "GET %s HTTP/1.1\r\nHost: mealsync.test\r\n\r\n", path); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != "ok" || resp.Close {
		return fmt.Errorf("%s: %d %q (close %v)", path, resp.StatusCode, body, resp.Close)
	}
	return nil
}

// parallel calls fn(0..n-1), at most k at once, and returns the first error.
func parallel(k, n int, fn func(int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range k {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// raiseOpenFiles lifts this process's open-file limit to at least n (the
// soft limit up to the hard one; the hard one too where the process may),
// or skips (fails with MEALSYNC_REQUIRE_SERVICES=1) when it cannot.
func raiseOpenFiles(t *testing.T, n int) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= uint64(n) {
		return
	}
	want := lim
	want.Cur = uint64(n)
	want.Max = max(lim.Max, want.Cur)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		testdb.SkipOrFail(t, "the test needs %d open files; the limit is %d (hard %d) and raising it failed: %v",
			n, lim.Cur, lim.Max, err)
		return
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
}
