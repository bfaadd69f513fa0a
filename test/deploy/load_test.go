package deploy_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// The load every deploy test runs under, paced by a ticker: per 100
// requests, 96 GET /api/v1/recipes (a catalogue page), 3 POST
// /api/v1/users/register (each a new account: a database write plus an
// argon2id hash, ~30-60 ms of CPU), and 1 slow register whose body the
// client trickles: half, then the rest 1 s later.
//
// The slow request is honest about where it is slow: nginx buffers request
// bodies (the repository's config keeps proxy_request_buffering on), so
// for that second nginx holds the request, and only then forwards it to
// whichever instance its worker's configuration names. When a reload lands
// in that second, the request is held by an old worker with the old
// upstream, and is forwarded, up to 1 s later, to an instance that may
// already have been removed and sent SIGTERM: the case the app's shutdown
// delay exists for. The app itself never takes a second to answer anything
// here; its longest work is the ~50 ms hash.
//
// Clients come from 12 loopback addresses (127.0.0.20-31), so no address
// exceeds nginx's 100 requests/s per-client limit. GETs share keep-alive
// connections through rawClient, which checks every body (length against
// Content-Length or the chunked framing, gzip, JSON) and never retries by
// itself: a GET that fails on a reused connection before any byte of the
// answer came back (the server closed it as the request was on its way) is
// recorded as stale and then sent once more on a new connection, as Go's
// transport, OkHttp and browsers do. So one run gives both figures: the
// failures a retrying client sees, and the residue for one that never
// retries. Each POST uses a new connection: a POST cannot be retried
// blindly, so the test measures the deploy, not that race.
const (
	loadRate     = 300 // requests per second
	slowTrickle  = time.Second
	clientAddrs  = 12
	maxInFlight  = 600
	regPassword  = "loadtest123"
	loadPageSize = 10
)

// sample is one request's outcome.
type sample struct {
	kind    string // get, register, slow
	start   time.Time
	latency time.Duration
	status  int
	err     string
	class   string // why it failed (fail* constants), after the usual retry
	stale   bool   // a GET whose first attempt was stale: a client that never retries failed here
	email   string
}

func (s sample) failed() bool { return s.err != "" || s.status < 200 || s.status > 299 }

// loadGen sends the mix at loadRate until stopped.
type loadGen struct {
	base    string
	run     string // unique per test: part of every email
	gets    []*rawClient
	posts   []*http.Client
	seq     atomic.Int64
	dropped atomic.Int64 // ticks skipped because maxInFlight requests were pending
	// mayFallBehind: the test slows the service down on purpose, so
	// dropped ticks are reported, not a failure.
	mayFallBehind bool

	mu      sync.Mutex
	samples []sample
	wg      sync.WaitGroup
	cancel  context.CancelFunc
	done    chan struct{}
}

func newLoad(base, run string) *loadGen {
	l := &loadGen{base: base, run: run, done: make(chan struct{})}
	for i := 0; i < clientAddrs; i++ {
		ip := net.ParseIP(fmt.Sprintf("127.0.0.%d", 20+i))
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
		l.gets = append(l.gets, newRawClient(base, ip))
		l.posts = append(l.posts, &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			DialContext: d.DialContext, DisableKeepAlives: true,
		}})
	}
	return l
}

// start begins sending; stop ends it and waits for every request. Pacing
// counts what is due since the start (rate × elapsed) rather than trusting
// one tick per request: a ticker drops ticks when the machine is busy, which
// would quietly lower the rate.
func (l *loadGen) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() {
		defer close(l.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		sem := make(chan struct{}, maxInFlight)
		began := time.Now()
		var sent int64
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			due := int64(time.Since(began).Seconds() * loadRate)
			for ; sent < due; sent++ {
				select {
				case sem <- struct{}{}:
				default:
					l.dropped.Add(1)
					continue
				}
				n := l.seq.Add(1)
				l.wg.Add(1)
				go func() {
					defer l.wg.Done()
					defer func() { <-sem }()
					l.record(l.one(n))
				}()
			}
		}
	}()
}

func (l *loadGen) stop() {
	l.cancel()
	<-l.done
	l.wg.Wait()
	for _, c := range l.gets {
		c.close()
	}
}

func (l *loadGen) record(s sample) {
	l.mu.Lock()
	l.samples = append(l.samples, s)
	l.mu.Unlock()
}

// snapshot returns the samples so far.
func (l *loadGen) snapshot() []sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.samples)
}

// one sends request number n of the mix.
func (l *loadGen) one(n int64) sample {
	c := int(n % int64(clientAddrs))
	switch n % 100 {
	case 17, 50, 83:
		return l.register(l.posts[c], n, false)
	case 33:
		return l.register(l.posts[c], n, true)
	}
	path := fmt.Sprintf("/api/v1/recipes?limit=%d&offset=%d", loadPageSize, (n%20)*loadPageSize)
	s := sample{kind: "get", start: time.Now()}
	gz := n%2 == 0 // half compressed (chunked from nginx), half with the app's own framing
	a := l.gets[c].do(http.MethodGet, path, nil, nil, gz)
	// Retried like Go's transport does: again while the failure is a
	// stale connection (each attempt drops one from the pool).
	for tries := 0; a.class == failStale && tries <= maxIdlePerClient; tries++ {
		s.stale = true
		a = l.gets[c].do(http.MethodGet, path, nil, nil, gz)
	}
	s.latency = time.Since(s.start)
	s.status, s.class, s.err = a.status, a.class, a.err
	return s
}

// register creates an account; slow trickles its body over slowTrickle.
func (l *loadGen) register(c *http.Client, n int64, slow bool) sample {
	s := sample{kind: "register", start: time.Now(), email: fmt.Sprintf("load-%s-%d@example.com", l.run, n)}
	body := fmt.Sprintf(`{"email":%q,"password":%q,"name":"Load %d"}`, s.email, regPassword, n)
	var r io.Reader = strings.NewReader(body)
	if slow {
		s.kind = "slow"
		pr, pw := io.Pipe()
		go func() {
			half := len(body) / 2
			pw.Write([]byte(body[:half]))
			t := time.NewTimer(slowTrickle) // the slow client itself, not synchronisation
			<-t.C
			pw.Write([]byte(body[half:]))
			pw.Close()
		}()
		r = pr
	}
	req, err := http.NewRequest(http.MethodPost, l.base+"/api/v1/users/register", r)
	if err != nil {
		s.err = err.Error()
		return s
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	return finish(s, resp, err)
}

func finish(s sample, resp *http.Response, err error) sample {
	if err != nil {
		s.latency = time.Since(s.start)
		s.err, s.class = err.Error(), failConn
		return s
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.latency = time.Since(s.start)
	s.status = resp.StatusCode
	if s.failed() {
		s.err, s.class = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b)), failStatus
		if resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(b, []byte("busy checking passwords")) {
			s.class = failBusy
		}
	}
	return s
}

// window is a span of the run: a deploy, or steady state, and what it may
// cost. Whatever happens, no GET may fail (nginx retries them on another
// instance) and no body may arrive cut.
type window struct {
	name     string
	from, to time.Time
	// writesMayFail is how many writes may fail, each answered with one of
	// failStatuses (0: no answer at all): a release that answers 500, or
	// an instance killed with POSTs in hand.
	writesMayFail int
	failStatuses  []int
	// noStale: nginx is not reloaded in this window, so a client that
	// never retries must lose nothing either.
	noStale bool
}

// holds says whether s was in flight at some moment of w: a request sent
// just before a deploy step and still waiting when it happens is affected
// by it as much as one sent after.
func (w window) holds(s sample) bool {
	return s.start.Before(w.to) && !s.start.Add(s.latency).Before(w.from)
}

// stats summarise the samples that started inside a window.
type stats struct {
	sent, failed int
	stale        int            // GETs a client that never retries would have lost
	busy         int            // 503 "busy checking passwords": the app's overload answer, not a deploy's
	byClass      map[string]int // failures by class (truncated, status, …), busy answers left out
	byKind       map[string]int
	failedByKind map[string]int // failures (busy answers left out) by kind
	// writeStatuses counts the failed writes by status (0: no answer);
	// firstWrite and lastWrite are when the first and the last of them were sent.
	writeStatuses         map[int]int
	firstWrite, lastWrite time.Time
	p50, p99              time.Duration // of the GETs and fast registers
	slowMax               time.Duration // the slowest of the 1 s requests (the trickle included)
	failures              []string
}

func summarise(samples []sample, in func(sample) bool) stats {
	st := stats{byKind: map[string]int{}, byClass: map[string]int{}, failedByKind: map[string]int{}, writeStatuses: map[int]int{}}
	var fast []time.Duration
	for _, s := range samples {
		if !in(s) {
			continue
		}
		st.sent++
		st.byKind[s.kind]++
		if s.kind != "slow" {
			fast = append(fast, s.latency)
		} else {
			st.slowMax = max(st.slowMax, s.latency)
		}
		if s.stale {
			st.stale++
		}
		if s.class == failBusy {
			st.busy++
			continue
		}
		if s.failed() {
			st.failed++
			st.byClass[s.class]++
			st.failedByKind[s.kind]++
			if s.kind != "get" {
				st.writeStatuses[s.status]++
				if st.firstWrite.IsZero() || s.start.Before(st.firstWrite) {
					st.firstWrite = s.start
				}
				if s.start.After(st.lastWrite) {
					st.lastWrite = s.start
				}
			}
			if len(st.failures) < 10 {
				st.failures = append(st.failures, fmt.Sprintf("%s %s at %s: %s", s.kind, s.email, s.start.Format("15:04:05.000"), s.err))
			}
		}
	}
	st.p50, st.p99 = quantile(fast, 0.50), quantile(fast, 0.99)
	return st
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[int(q*float64(len(d)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// checkWrites asserts every registration that got a 2xx is in the database.
func checkWrites(t *testing.T, dbURL string, samples []sample) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	rows, err := db.Query(`SELECT email FROM users WHERE email LIKE 'load-%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		stored[e] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	acked, missing := 0, 0
	for _, s := range samples {
		if s.email == "" || s.failed() {
			continue
		}
		acked++
		if !stored[s.email] {
			missing++
			if missing <= 5 {
				t.Errorf("registration of %s was answered %d but is not in the database", s.email, s.status)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged registrations are missing from the database", missing, acked)
	}
	t.Logf("all %d acknowledged registrations are in the database", acked-missing)
}
