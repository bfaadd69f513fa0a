package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Outcomes: how a run ended.
const (
	OutcomeCompleted   = "completed"    // the steady phase ran its --duration
	OutcomeInterrupted = "interrupted"  // Ctrl-C: a partial report
	OutcomeMaxRequests = "max-requests" // --max-requests were sent
	OutcomeMaxErrors   = "max-errors"   // the error ratio passed --max-errors: aborted
	OutcomeSetupFailed = "setup-failed" // accounts could not be signed up or in
)

// Report is what a run measured; --json prints it as is. Latencies are in
// milliseconds from each request's intended start.
type Report struct {
	Target           string    `json:"target"`
	Users            int       `json:"users"`
	Seed             uint64    `json:"seed"`
	Mix              string    `json:"mix"`
	ThinkMeanSeconds float64   `json:"thinkMeanSeconds"`
	RampUpSeconds    float64   `json:"rampUpSeconds"`
	DurationSeconds  float64   `json:"durationSeconds"` // the steady phase, as asked
	SourceAddrs      string    `json:"sourceAddrs"`     // how users' client addresses were chosen
	Started          time.Time `json:"started"`
	Ended            time.Time `json:"ended"`
	Outcome          string    `json:"outcome"`
	Detail           string    `json:"detail,omitempty"` // why it stopped early

	Setup  Setup       `json:"setup"`
	RampUp PhaseReport `json:"rampUp"`
	Steady PhaseReport `json:"steady"`

	// SendLag is how late users sent their actions' first requests after the
	// intended moment (busy with the previous action, or the generator
	// short of CPU). A large one means the latency includes waiting that
	// the server caused, or that the generator is overloaded.
	SendLag Latency `json:"sendLag"`
	// Overdue counts actions that were due before the end but never sent,
	// their users still waiting for an earlier answer.
	Overdue int64 `json:"overdue"`
	// Cancelled counts requests stopped at Ctrl-C or an abort: not errors.
	Cancelled int64 `json:"cancelled"`

	Timeline  Timeline  `json:"timeline"`
	Generator Generator `json:"generator"`
}

// Setup is the phase that readied the accounts.
type Setup struct {
	Seconds    float64        `json:"seconds"`
	Registered int            `json:"registered"` // accounts signed up
	FromFile   int            `json:"fromFile"`   // prepared accounts used
	SignedIn   int            `json:"signedIn"`
	Resumed    int            `json:"resumed,omitempty"` // sessions of an earlier run resumed (Account.Session)
	Requests   []ActionReport `json:"requests"`
}

// PhaseReport sums up a phase of the run.
type PhaseReport struct {
	Seconds    float64        `json:"seconds"`
	Requests   int64          `json:"requests"`
	Errors     int64          `json:"errors"`
	Declined   int64          `json:"declined,omitempty"` // see ActionReport
	Throughput float64        `json:"throughput"`         // requests per second
	Latency    Latency        `json:"latency"`
	ErrorsBy   ErrorCounts    `json:"errorsBy"`
	ByRequest  []ActionReport `json:"byRequest"`
}

// ActionReport is one kind of request in one phase.
type ActionReport struct {
	Name     string `json:"name"`
	Requests int64  `json:"requests"`
	Errors   int64  `json:"errors"`
	// Declined are error statuses that are the app's correct answer to
	// what the user's own data asks (a meal plan for diets no recipe
	// fits): counted apart, not as errors.
	Declined   int64       `json:"declined,omitempty"`
	Throughput float64     `json:"throughput"`
	Latency    Latency     `json:"latency"`
	ErrorsBy   ErrorCounts `json:"errorsBy"`
}

// ErrorCounts are errors by HTTP status and by kind (KindStatus, KindConnect, …).
type ErrorCounts struct {
	Status map[string]int64 `json:"status,omitempty"`
	Kind   map[string]int64 `json:"kind,omitempty"`
}

// Latency is a distribution's summary, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Timeline is the run by fixed windows of completion time, from the ramp-up's
// start.
type Timeline struct {
	WindowSeconds float64  `json:"windowSeconds"`
	Windows       []Window `json:"windows"`
}

// Window is one slice of the timeline.
type Window struct {
	Start          float64                 `json:"start"` // seconds from the ramp-up's start
	Users          int                     `json:"users"`
	Requests       int64                   `json:"requests"`
	Errors         int64                   `json:"errors"`
	Latency        Latency                 `json:"latency"`
	ErrorsByKind   map[string]int64        `json:"errorsByKind,omitempty"`
	ErrorsByStatus map[string]int64        `json:"errorsByStatus,omitempty"`
	Actions        map[string]WindowAction `json:"byRequest"`
}

// WindowAction is one kind of request in one window.
type WindowAction struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Latency  Latency `json:"latency"`
}

// Generator is what the load generator itself cost, so a reader can tell a
// slow server from a starved generator.
type Generator struct {
	// CPUSeconds is the process's user+system CPU time over the ramp-up and
	// steady phases; CPUPerRequest divides it by their requests.
	CPUSeconds          float64 `json:"cpuSeconds"`
	CPUPerRequestMicros float64 `json:"cpuPerRequestMicros"`
	// CPUCores is CPUSeconds over the phases' wall time: cores kept busy.
	CPUCores float64 `json:"cpuCores"`
	// RSS before the users were made, and its peak after; PerUser divides
	// the growth by the users (connections, buffers, goroutines, tokens).
	RSSBaselineBytes int64   `json:"rssBaselineBytes"`
	RSSPeakBytes     int64   `json:"rssPeakBytes"`
	RSSPerUserBytes  float64 `json:"rssPerUserBytes"`
	// Go's own view: heap in use and goroutine stacks at the end of the
	// steady phase, per user, over the same baseline.
	GoMemoryPerUserBytes float64 `json:"goMemoryPerUserBytes"`
	GoroutinesPeak       int     `json:"goroutinesPeak"`
}

// Throughput is a rate, or 0 over no time.
func rate(n int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}

// phaseReport sums the recorder's counts of one phase over secs seconds.
func (r *recorder) phaseReport(ph phase, secs float64) PhaseReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := newCounts(histDigits)
	pr := PhaseReport{Seconds: secs}
	for _, name := range RequestNames {
		c := r.byName[name][ph]
		if c.requests == 0 {
			continue
		}
		all.hist.Merge(c.hist)
		all.requests += c.requests
		all.errors += c.errors
		all.declined += c.declined
		for k, n := range c.byKind {
			all.byKind[k] += n
		}
		for s, n := range c.byStatus {
			all.byStatus[s] += n
		}
		pr.ByRequest = append(pr.ByRequest, ActionReport{
			Name: name, Requests: c.requests, Errors: c.errors, Declined: c.declined, Throughput: rate(c.requests, secs),
			Latency: summarise(c), ErrorsBy: ErrorCounts{Status: statusMap(c), Kind: kindMap(c)},
		})
	}
	pr.Requests, pr.Errors, pr.Declined = all.requests, all.errors, all.declined
	pr.Throughput = rate(all.requests, secs)
	pr.Latency = summarise(all)
	pr.ErrorsBy = ErrorCounts{Status: statusMap(all), Kind: kindMap(all)}
	return pr
}

func (r *recorder) sendLag() Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	return histLatency(r.lag)
}

func histLatency(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	v := h.ValueAtPercentilesSlice([]float64{50, 95, 99})
	return Latency{P50: float64(v[0]) / 1000, P95: float64(v[1]) / 1000, P99: float64(v[2]) / 1000,
		Max: float64(h.Max()) / 1000, Mean: h.Mean() / 1000}
}

// WriteJSON writes the report as one indented JSON document.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the summary a person reads at the end of a run.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Load test of %s: %d users, think time %s (mean), ramp-up %s, steady %s, seed %d\n",
		rep.Target, rep.Users, secs(rep.ThinkMeanSeconds), secs(rep.RampUpSeconds), secs(rep.DurationSeconds), rep.Seed)
	fmt.Fprintf(&b, "Outcome: %s", rep.Outcome)
	if rep.Detail != "" {
		fmt.Fprintf(&b, " — %s", rep.Detail)
	}
	b.WriteString("\n")
	s := rep.Setup
	fmt.Fprintf(&b, "Setup: %d accounts signed up, %d from the accounts file, %d signed in, in %.1f s\n",
		s.Registered, s.FromFile, s.SignedIn, s.Seconds)
	writePhase(&b, "Steady phase", rep.Steady)
	if rep.RampUp.Requests > 0 {
		fmt.Fprintf(&b, "Ramp-up: %d requests in %.1f s (%.1f req/s), %d errors, p95 %s\n",
			rep.RampUp.Requests, rep.RampUp.Seconds, rep.RampUp.Throughput, rep.RampUp.Errors, ms(rep.RampUp.Latency.P95))
	}
	fmt.Fprintf(&b, "Send lag (actions sent after their intended time): p50 %s, p99 %s, max %s; %d actions overdue at the end; %d requests cancelled\n",
		ms(rep.SendLag.P50), ms(rep.SendLag.P99), ms(rep.SendLag.Max), rep.Overdue, rep.Cancelled)
	g := rep.Generator
	fmt.Fprintf(&b, "Generator: %.1f s CPU (%.2f cores, %.0f µs a request), RSS %.1f MB peak (%.1f KB a user), %d goroutines at peak\n",
		g.CPUSeconds, g.CPUCores, g.CPUPerRequestMicros, float64(g.RSSPeakBytes)/1e6, g.RSSPerUserBytes/1e3, g.GoroutinesPeak)
	_, err := io.WriteString(w, b.String())
	return err
}

func writePhase(b *strings.Builder, title string, p PhaseReport) {
	fmt.Fprintf(b, "%s: %d requests in %.1f s = %.1f req/s; %d errors (%.2f %%)\n",
		title, p.Requests, p.Seconds, p.Throughput, p.Errors, 100*ratio(p.Errors, p.Requests))
	if p.Requests == 0 {
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\trequests\treq/s\tp50\tp95\tp99\tmax\terrors\t")
	row := func(name string, n int64, thr float64, l Latency, errs int64) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t\n", name, n, thr, ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max), errs)
	}
	for _, a := range p.ByRequest {
		row(a.Name, a.Requests, a.Throughput, a.Latency, a.Errors)
	}
	row("all", p.Requests, p.Throughput, p.Latency, p.Errors)
	tw.Flush()
	if p.Declined > 0 {
		fmt.Fprintf(b, "Declined (not errors: the app's answer to what the user's own data asks, e.g. a plan for diets no recipe fits): %d\n", p.Declined)
	}
	if p.Errors > 0 {
		fmt.Fprintf(b, "Errors by kind: %s; by status: %s\n", countList(p.ErrorsBy.Kind), countList(p.ErrorsBy.Status))
		if p.ErrorsBy.Status["429"] > 0 {
			b.WriteString(hint429)
		}
	}
}

// hint429 explains the 429s a load test most often meets.
const hint429 = `429 Too Many Requests: nginx limits each client address (100 requests/s, 5 logins a minute)
and the app limits sign-ups per address (MEALSYNC_REGISTER_MAX_PER_ADDRESS). Spread users over
client addresses (--source-addrs; auto does on loopback) or lift the limits for the test. An
instance past its capacity also answers 429 "The server is busy" (MEALSYNC_MAX_IN_FLIGHT):
then the target is overloaded, and mealsync_http_requests_shed_total counts them.
`

func countList(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(v float64) string {
	switch {
	case v >= 10_000:
		return fmt.Sprintf("%.1fs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fms", v)
	}
}

func secs(s float64) string { return time.Duration(s * float64(time.Second)).String() }
