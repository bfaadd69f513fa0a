package loadtest

import (
	"strconv"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The requests the report counts, in its order: what each action sends.
const (
	reqBrowse       = "browse"        // GET /recipes with filters
	reqSearch       = "search"        // GET /recipes?name=
	reqRecipe       = "recipe"        // GET /recipes/{id}
	reqRecommended  = "recommended"   // GET /recipes/recommended
	reqTodayPicks   = "today-picks"   // GET /recipes/today-picks
	reqSave         = "save"          // POST /recipes/save
	reqUnsave       = "unsave"        // DELETE /recipes/save
	reqSaved        = "saved"         // GET /recipes/saved
	reqRecent       = "recent"        // GET /recipes/recent
	reqPlanCreate   = "plan-create"   // POST /meal-plans
	reqShoppingList = "shopping-list" // GET /meal-plans/{id}/shopping-list
	reqPlanDelete   = "plan-delete"   // DELETE /meal-plans/{id}
	reqPlans        = "plans"         // GET /meal-plans
	reqPlanView     = "plan-view"     // GET /meal-plans/{id}
	reqGenerate     = "generate"      // POST /recipes/generate-recipes
	reqLogin        = "login"         // POST /users/login
	reqRefresh      = "refresh"       // POST /users/refresh
	reqRegister     = "register"      // POST /users/register (setup only)
	reqPreference   = "preference"    // PUT /users/{id}/preference (setup only)
)

// RequestNames lists every request the report may name, in its order.
var RequestNames = []string{reqBrowse, reqSearch, reqRecipe, reqRecommended, reqTodayPicks, reqSave,
	reqUnsave, reqSaved, reqRecent, reqPlanCreate, reqShoppingList, reqPlanDelete, reqPlans, reqPlanView,
	reqGenerate, reqLogin, reqRefresh, reqRegister, reqPreference}

// phase is the part of the run a request belongs to, by its intended start.
type phase int

const (
	phaseSetup  phase = iota // accounts signed up and in, before the clock starts
	phaseRampUp              // users starting
	phaseSteady              // every user running: what the summary is about
	numPhases
)

// Error kinds, besides an HTTP status outside 2xx.
const (
	KindStatus    = "status"    // the server answered with an error status
	KindConnect   = "connect"   // no connection: refused, unreachable, dial timeout
	KindTimeout   = "timeout"   // no (full) answer within --timeout
	KindReset     = "reset"     // the connection was reset (ECONNRESET, EPIPE)
	KindClosed    = "closed"    // the server closed the connection before answering in full
	KindBody      = "body"      // a 2xx answer whose JSON the client could not read
	KindOther     = "other"     // anything else
	kindCancelled = "cancelled" // stopped by the operator: not an error of the server
)

// Histogram bounds, in microseconds: 1 µs to one hour, 3 significant
// digits for the summaries, 2 for each timeline window (a tenth of the size).
const (
	histMin        = 1
	histMax        = int64(time.Hour / time.Microsecond)
	histDigits     = 3
	windowDigits   = 2
	maxTimelinePts = 240 // windows in a timeline, at most
)

// sample is one request's outcome.
type sample struct {
	name     string
	phase    phase
	intended time.Time // when the user's schedule meant to send it
	sent     time.Time
	done     time.Time // the whole answer read, or the failure
	status   int
	kind     string // "" when it succeeded
	declined bool   // succeeded as a refusal the user's own data called for (call.declined)
	first    bool   // the first request of an action: sent - intended is the send lag
}

// counts are the requests and errors of one name in one phase.
type counts struct {
	hist     *hdrhistogram.Histogram // latency from the intended start, µs
	requests int64
	errors   int64
	declined int64
	byStatus map[int]int64
	byKind   map[string]int64
}

func newCounts(digits int) *counts {
	return &counts{hist: hdrhistogram.New(histMin, histMax, digits), byStatus: map[int]int64{}, byKind: map[string]int64{}}
}

func (c *counts) add(s *sample) {
	if s.kind == kindCancelled {
		return
	}
	c.requests++
	us := s.done.Sub(s.intended).Microseconds()
	c.hist.RecordValue(min(max(us, histMin), histMax))
	if s.declined {
		c.declined++
	}
	if s.kind != "" {
		c.errors++
		c.byKind[s.kind]++
		if s.kind == KindStatus {
			c.byStatus[s.status]++
		}
	}
}

// recorder collects every sample: per name and phase, and on a timeline of
// fixed windows by completion time (what a server's own counters see).
// Windows are summarised as they close, so memory does not grow with the
// run's length.
type recorder struct {
	mu     sync.Mutex
	start  time.Time // the timeline's zero: the ramp-up's start
	window time.Duration
	byName map[string]*[numPhases]*counts
	lag    *hdrhistogram.Histogram // sent - intended of actions' first requests, µs
	// cancelled counts requests stopped by the operator, by phase.
	cancelled [numPhases]int64

	cur      int // the open window's index
	curAll   *counts
	curNames map[string]*counts
	windows  []Window
	// users reports the users running, for each window.
	users func() int
}

func newRecorder(start time.Time, total time.Duration, users func() int) *recorder {
	r := &recorder{
		start: start, window: windowFor(total), byName: map[string]*[numPhases]*counts{},
		lag: hdrhistogram.New(histMin, histMax, histDigits), users: users,
		curAll: newCounts(windowDigits), curNames: map[string]*counts{},
	}
	for _, n := range RequestNames {
		var p [numPhases]*counts
		for i := range p {
			p[i] = newCounts(histDigits)
		}
		r.byName[n] = &p
	}
	return r
}

// windowFor is the timeline's window for a run of the given length: 1 s,
// or longer so a long run has at most maxTimelinePts windows.
func windowFor(total time.Duration) time.Duration {
	w := time.Second
	for total/w > maxTimelinePts {
		w *= 2
	}
	return w
}

// begin sets the timeline's zero: the ramp-up's start.
func (r *recorder) begin(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start = t
}

func (r *recorder) record(s sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.kind == kindCancelled {
		r.cancelled[s.phase]++
		return
	}
	r.byName[s.name][s.phase].add(&s)
	if s.first {
		us := s.sent.Sub(s.intended).Microseconds()
		r.lag.RecordValue(min(max(us, histMin), histMax))
	}
	if s.phase == phaseSetup {
		return
	}
	r.advance(s.done)
	r.curAll.add(&s)
	c := r.curNames[s.name]
	if c == nil {
		c = newCounts(windowDigits)
		r.curNames[s.name] = c
	}
	c.add(&s)
}

// advance closes every window that ended before t.
func (r *recorder) advance(t time.Time) {
	idx := int(t.Sub(r.start) / r.window)
	for r.cur < idx {
		r.closeWindow()
	}
}

// closeWindow summarises the open window and opens the next one.
func (r *recorder) closeWindow() {
	w := Window{
		Start: (time.Duration(r.cur) * r.window).Seconds(), Users: r.users(),
		Requests: r.curAll.requests, Errors: r.curAll.errors, Latency: summarise(r.curAll),
		ErrorsByKind: kindMap(r.curAll), ErrorsByStatus: statusMap(r.curAll),
		Actions: map[string]WindowAction{},
	}
	for name, c := range r.curNames {
		if c.requests == 0 {
			continue
		}
		w.Actions[name] = WindowAction{Requests: c.requests, Errors: c.errors, Latency: summarise(c)}
		c.reset()
	}
	r.windows = append(r.windows, w)
	r.curAll.reset()
	r.cur++
}

func (c *counts) reset() {
	c.hist.Reset()
	c.requests, c.errors = 0, 0
	clear(c.byStatus)
	clear(c.byKind)
}

// flush closes the windows up to t (the run's end) and returns the timeline.
func (r *recorder) flush(t time.Time) Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(t)
	if r.curAll.requests > 0 || len(r.windows) == 0 {
		r.closeWindow()
	}
	return Timeline{WindowSeconds: r.window.Seconds(), Windows: append([]Window(nil), r.windows...)}
}

// lastWindow is the newest closed window, for the progress line.
func (r *recorder) lastWindow(now time.Time) (Window, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(now)
	if len(r.windows) == 0 {
		return Window{}, false
	}
	return r.windows[len(r.windows)-1], true
}

// totals returns the requests and errors of the given phases so far.
func (r *recorder) totals(phases ...phase) (requests, errors int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.byName {
		for _, ph := range phases {
			requests += p[ph].requests
			errors += p[ph].errors
		}
	}
	return requests, errors
}

func summarise(c *counts) Latency {
	if c.requests == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	h := c.hist
	v := h.ValueAtPercentilesSlice([]float64{50, 95, 99})
	return Latency{P50: ms(v[0]), P95: ms(v[1]), P99: ms(v[2]), Max: ms(h.Max()), Mean: h.Mean() / 1000}
}

func kindMap(c *counts) map[string]int64 {
	if len(c.byKind) == 0 {
		return nil
	}
	out := make(map[string]int64, len(c.byKind))
	for k, n := range c.byKind {
		out[k] = n
	}
	return out
}

func statusMap(c *counts) map[string]int64 {
	if len(c.byStatus) == 0 {
		return nil
	}
	out := make(map[string]int64, len(c.byStatus))
	for s, n := range c.byStatus {
		out[strconv.Itoa(s)] = n
	}
	return out
}
