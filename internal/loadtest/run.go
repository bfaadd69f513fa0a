package loadtest

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrAborted is returned (with the report) when the run stopped itself:
// the error ratio passed --max-errors.
var ErrAborted = errors.New("load test aborted")

// ErrInterrupted is returned (with a partial report) after Ctrl-C.
var ErrInterrupted = errors.New("load test interrupted")

// Tick is what the run knows at each second, for a progress line (see
// ProgressLine) or a test.
type Tick struct {
	Time      time.Time
	Phase     string // setup, ramp-up, steady, stopping
	Elapsed   time.Duration
	Users     int   // users running
	Completed int64 // requests completed in the ramp-up and steady phases
	Errors    int64
	Last      Window  // the newest closed window of the timeline
	Rate      float64 // its requests per second
}

// Hooks are optional callbacks of a run.
type Hooks struct {
	// OnTick is called about once a second from one goroutine, also during
	// the setup phase (with Phase "setup").
	OnTick func(Tick)
}

// engine is one run.
type engine struct {
	opts          Options
	base          string
	vocab         *Vocabulary
	mix           chooser
	rec           *recorder
	refreshMargin time.Duration
	srcs          []netip.Addr // users' client addresses; nil: the system's

	start, rampEnd, end time.Time // set when the ramp-up begins

	sent    atomic.Int64
	active  atomic.Int64
	overdue atomic.Int64

	stopOnce  sync.Once
	stopCh    chan struct{}
	stopAt    time.Time
	outcome   string
	detail    string
	reqCtx    context.Context    // requests' context: ends at an abort, not at Ctrl-C's first moment
	cancelReq context.CancelFunc // cancels requests in flight
}

// Run performs the load test: it checks the target, readies the accounts
// (signs up new ones, or signs in prepared ones), ramps the users up, runs
// the steady phase, and returns the report. It stops early on ctx's end
// (Ctrl-C: ErrInterrupted), when --max-requests were sent, or when the
// error ratio passes --max-errors (ErrAborted); the report is then partial
// but never nil once the target was accepted.
func Run(ctx context.Context, opts Options, hooks Hooks) (*Report, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	e, err := newEngine(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer e.cancelReq()
	reqCtx := e.reqCtx
	opts = e.opts // with the seed chosen
	rep := &Report{
		Target: e.base, Users: opts.Users, Seed: opts.Seed, Mix: opts.Mix.String(),
		ThinkMeanSeconds: opts.Think.Seconds(), RampUpSeconds: opts.RampUp.Seconds(),
		DurationSeconds: opts.Duration.Seconds(), SourceAddrs: describeSources(opts.SourceAddrs, e.srcs),
		Started: opts.Now(),
	}
	runtime.GC()
	baseRSS, baseGo := rss(), goMemory()
	users := e.newUsers()

	// Setup.
	setupStart := opts.Now()
	ticks := e.ticker(hooks, "setup")
	setupErr := e.setup(ctx, users, rep)
	ticks.stop()
	rep.Setup.Seconds = opts.Now().Sub(setupStart).Seconds()
	rep.Setup.Requests = e.rec.phaseReport(phaseSetup, rep.Setup.Seconds).ByRequest
	if setupErr != nil {
		rep.Ended = opts.Now()
		rep.Outcome, rep.Detail = OutcomeSetupFailed, setupErr.Error()
		if ctx.Err() != nil {
			rep.Outcome, rep.Detail = OutcomeInterrupted, "stopped during the setup phase"
			return rep, ErrInterrupted
		}
		return rep, setupErr
	}

	// Ramp-up and steady phases.
	e.start = opts.Now()
	e.rampEnd = e.start.Add(opts.RampUp)
	e.end = e.rampEnd.Add(opts.Duration)
	e.rec.begin(e.start)
	cpu0 := cpuTime()
	var peak resources
	var wg sync.WaitGroup
	for i, u := range users {
		begin := e.start.Add(time.Duration(int64(opts.RampUp) * int64(i) / int64(len(users))))
		wg.Go(func() { e.runUser(reqCtx, u, begin) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	interrupted := ctx.Done()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-interrupted:
			interrupted = nil
			e.halt(OutcomeInterrupted, "stopped by a signal: this report is partial", true)
		case <-tick.C:
			peak.sample()
			e.checkErrors()
			if hooks.OnTick != nil {
				hooks.OnTick(e.tick())
			}
		}
	}
	peak.sample()
	endGo := goMemory()
	cpu := cpuTime() - cpu0
	keepSessions(opts.Accounts, users)
	for _, u := range users {
		// Their connections are this run's: a next run in this process
		// opens its own, and would otherwise hold both sets of files.
		u.client.CloseIdleConnections()
	}

	// The report.
	rep.Ended = opts.Now()
	stopAt := e.end
	rep.Outcome = OutcomeCompleted
	if e.outcome != "" {
		rep.Outcome, rep.Detail, stopAt = e.outcome, e.detail, e.stopAt
	}
	rampEnd := e.rampEnd
	if stopAt.Before(rampEnd) {
		rampEnd = stopAt
	}
	rep.RampUp = e.rec.phaseReport(phaseRampUp, rampEnd.Sub(e.start).Seconds())
	rep.Steady = e.rec.phaseReport(phaseSteady, max(0, stopAt.Sub(e.rampEnd).Seconds()))
	rep.SendLag = e.rec.sendLag()
	rep.Overdue = e.overdue.Load()
	rep.Cancelled = e.rec.cancelled[phaseRampUp] + e.rec.cancelled[phaseSteady]
	rep.Timeline = e.rec.flush(opts.Now())
	reqs := rep.RampUp.Requests + rep.Steady.Requests
	wall := opts.Now().Sub(e.start).Seconds()
	rep.Generator = Generator{
		CPUSeconds: cpu, CPUPerRequestMicros: 1e6 * cpu / max(1, float64(reqs)), CPUCores: cpu / max(wall, 1e-9),
		RSSBaselineBytes: baseRSS, RSSPeakBytes: peak.rss, GoroutinesPeak: peak.goroutines,
		RSSPerUserBytes:      float64(max(0, peak.rss-baseRSS)) / float64(len(users)),
		GoMemoryPerUserBytes: float64(max(0, endGo-baseGo)) / float64(len(users)),
	}
	runtime.KeepAlive(users)
	switch rep.Outcome {
	case OutcomeInterrupted:
		return rep, ErrInterrupted
	case OutcomeMaxErrors:
		return rep, fmt.Errorf("%w: %s", ErrAborted, rep.Detail)
	}
	return rep, nil
}

// keepSessions leaves each signed-in user's latest session in its account,
// for the next run in this process (Account.Session).
func keepSessions(accts []Account, users []*user) {
	for i, u := range users {
		if i < len(accts) && u.id != "" && !u.failed {
			accts[i].Session = &Session{UserID: u.id, AccessToken: u.access, RefreshToken: u.renew, Issued: u.fresh}
		}
	}
}

// newEngine checks the target and readies what a run needs but its users.
func newEngine(ctx context.Context, opts Options) (*engine, error) {
	u, _ := parseTarget(opts.Target)
	addrs, err := CheckTarget(ctx, u, opts.AllowAnyTarget, nil)
	if err != nil {
		return nil, err
	}
	srcs, err := sourceAddrs(opts.SourceAddrs, addrs, opts.Users)
	if err != nil {
		return nil, err
	}
	if lim := openFilesLimit(); lim != 0 && uint64(opts.Users)+64 > lim {
		return nil, fmt.Errorf("%d users need %d open files, the limit is %d: raise it (ulimit -n) or run fewer users",
			opts.Users, opts.Users+64, lim)
	}
	vocab, err := NewVocabulary()
	if err != nil {
		return nil, err
	}
	if opts.Seed == 0 {
		var b [8]byte
		crand.Read(b[:])
		opts.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	// Requests outlive ctx (Ctrl-C) only until halt cancels them.
	reqCtx, cancelReq := context.WithCancel(context.WithoutCancel(ctx))
	e := &engine{
		opts: opts, base: u.String(), vocab: vocab, mix: newChooser(opts.Mix), srcs: srcs,
		refreshMargin: min(time.Minute, opts.TokenTTL/10), stopCh: make(chan struct{}),
		reqCtx: reqCtx, cancelReq: cancelReq,
	}
	e.rec = newRecorder(opts.Now(), opts.RampUp+opts.Duration, func() int { return int(e.active.Load()) })
	return e, nil
}

// newUsers makes the users, each with its connection and random stream.
func (e *engine) newUsers() []*user {
	users := make([]*user, e.opts.Users)
	for i := range users {
		var src netip.Addr
		if e.srcs != nil {
			src = e.srcs[i]
		}
		users[i] = &user{n: i, client: newUserClient(src), rng: rand.New(rand.NewPCG(e.opts.Seed, uint64(i)))}
		if e.opts.Accounts != nil {
			users[i].acct = e.opts.Accounts[i]
		}
	}
	return users
}

// runUser is one user's life: it starts at begin, then acts at the moments
// of a Poisson process (exponential think times) until the end. The
// schedule never waits for the server: an action whose moment came while
// the previous one was still waiting for an answer is sent at once, and its
// latency counts from its moment.
func (e *engine) runUser(ctx context.Context, u *user, begin time.Time) {
	if !e.sleepUntil(begin) {
		return
	}
	e.active.Add(1)
	defer e.active.Add(-1)
	next := begin.Add(think(u.rng, e.opts.Think))
	for !next.After(e.end) {
		if !e.sleepUntil(next) {
			return
		}
		intended := next
		next = next.Add(think(u.rng, e.opts.Think))
		e.act(ctx, u, intended)
		if e.stopped() {
			return
		}
		if now := e.opts.Now(); now.After(e.end) {
			for ; !next.After(e.end); next = next.Add(think(u.rng, e.opts.Think)) {
				e.overdue.Add(1)
			}
		}
	}
}

// sleepUntil waits for t; false when the run stopped first.
func (e *engine) sleepUntil(t time.Time) bool {
	d := t.Sub(e.opts.Now())
	if d <= 0 {
		return !e.stopped()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return !e.stopped()
	case <-e.stopCh:
		return false
	}
}

func (e *engine) phaseOf(t time.Time) phase {
	if t.Before(e.rampEnd) {
		return phaseRampUp
	}
	return phaseSteady
}

// takeRequest counts a request about to be sent; false when the run has
// stopped or --max-requests were sent (which stops it).
func (e *engine) takeRequest() bool {
	if e.stopped() {
		return false
	}
	if e.sent.Add(1) > e.opts.MaxRequests {
		e.halt(OutcomeMaxRequests, fmt.Sprintf("stopped after --max-requests %d", e.opts.MaxRequests), false)
		return false
	}
	return true
}

func (e *engine) stopped() bool {
	select {
	case <-e.stopCh:
		return true
	default:
		return false
	}
}

// halt stops the run (the first reason wins): no user starts anything new;
// with cancel, requests in flight are cancelled too.
func (e *engine) halt(outcome, detail string, cancel bool) {
	e.stopOnce.Do(func() {
		e.outcome, e.detail, e.stopAt = outcome, detail, e.opts.Now()
		close(e.stopCh)
	})
	if cancel {
		e.cancelReq()
	}
}

// checkErrors aborts the run when the error ratio passed --max-errors.
func (e *engine) checkErrors() {
	n, errs := e.rec.totals(phaseRampUp, phaseSteady)
	if n >= minErrorSample && ratio(errs, n) > e.opts.MaxErrors {
		e.halt(OutcomeMaxErrors, fmt.Sprintf("%d of %d requests failed (%.1f %%), above --max-errors %.1f %%",
			errs, n, 100*ratio(errs, n), 100*e.opts.MaxErrors), true)
	}
}

func (e *engine) tick() Tick {
	now := e.opts.Now()
	t := Tick{Time: now, Phase: "steady", Elapsed: now.Sub(e.start), Users: int(e.active.Load())}
	switch {
	case e.stopped():
		t.Phase = "stopping"
	case now.Before(e.rampEnd):
		t.Phase = "ramp-up"
	}
	t.Completed, t.Errors = e.rec.totals(phaseRampUp, phaseSteady)
	t.Last, _ = e.rec.lastWindow(now)
	t.Rate = float64(t.Last.Requests) / e.rec.window.Seconds()
	return t
}

// setupTicker calls OnTick during the setup phase.
type setupTicker struct {
	stopCh chan struct{}
	done   chan struct{}
}

func (e *engine) ticker(hooks Hooks, phaseName string) *setupTicker {
	t := &setupTicker{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		if hooks.OnTick == nil {
			return
		}
		start := e.opts.Now()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-t.stopCh:
				return
			case <-tk.C:
				n, errs := e.rec.totals(phaseSetup)
				hooks.OnTick(Tick{Time: e.opts.Now(), Phase: phaseName, Elapsed: e.opts.Now().Sub(start), Completed: n, Errors: errs})
			}
		}
	}()
	return t
}

func (t *setupTicker) stop() { close(t.stopCh); <-t.done }

// resources tracks the generator's peak memory and goroutines.
type resources struct {
	rss        int64
	goroutines int
}

func (r *resources) sample() {
	r.rss = max(r.rss, rss())
	r.goroutines = max(r.goroutines, runtime.NumGoroutine())
}

// goMemory is the Go runtime's heap in use plus goroutine stacks.
func goMemory() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

func describeSources(spec string, srcs []netip.Addr) string {
	if len(srcs) == 0 {
		return spec + ": the system's address"
	}
	return spec + ": one address per user, " + srcs[0].String() + " to " + srcs[len(srcs)-1].String()
}

// ProgressLine is the live line a terminal shows.
func ProgressLine(t Tick) string {
	if t.Phase == "setup" {
		return fmt.Sprintf("setup %s: %d sign-up and sign-in requests, %d errors", t.Elapsed.Truncate(time.Second), t.Completed, t.Errors)
	}
	return fmt.Sprintf("%s %s: %d users, %d requests, %d errors (%.2f %%); now %.1f req/s, p95 %s, p99 %s",
		t.Phase, t.Elapsed.Truncate(time.Second), t.Users, t.Completed, t.Errors, 100*ratio(t.Errors, t.Completed),
		t.Rate, ms(t.Last.Latency.P95), ms(t.Last.Latency.P99))
}

// runID names a run's accounts.
func runID() string {
	var b [4]byte
	crand.Read(b[:])
	return strconv.FormatInt(time.Now().Unix()%1e6, 36) + hex.EncodeToString(b[:])
}
