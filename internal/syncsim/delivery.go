package syncsim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Watched is a household whose live connections a delivery measurement
// watches: its first device writes (on the instance the measurement writes
// to); Others are the other devices' connections, on another instance, so
// that what they hear has crossed between instances; Own, if any, is the
// writer's own connection, on the writer's instance.
type Watched struct {
	Household *Household
	Others    []*Listener
	Own       *Listener
}

// DeliveryConfig shapes MeasureDelivery.
type DeliveryConfig struct {
	Client   *http.Client // for the writes; nil: http.DefaultClient
	WriteURL string       // the origin of the instance the writers send to
	// Rate is how many writes a second all households make together, on a
	// fixed schedule (an open model): household i's j-th write is due at
	// start + (j·households + i)/Rate, whenever the one before it was
	// answered. A write that falls due while its household's previous one
	// is still waiting goes as soon as that is answered, and is timed from
	// when it was due, so a stall is charged to every write it delayed.
	Rate     float64
	Duration time.Duration // how long the schedule runs
	Warmup   time.Duration // writes due in the first Warmup are checked, not timed
	Drain    time.Duration // after the last answer, how long deliveries may still take; default 30 s
	// Committed, if set, says when a household's revision was seen to
	// commit (the harness LISTENs to the database's notifications, which
	// are sent at commit): a second starting point for the latency.
	Committed func(householdID string, revision int64) (time.Time, bool)
}

// Latency summarises a histogram of durations.
type Latency struct {
	Count                    int64
	P50, P90, P99, P999, Max time.Duration
}

func (l Latency) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("p50 %s ms, p90 %s ms, p99 %s ms, p99.9 %s ms, max %s ms (%d samples)",
		ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max), l.Count)
}

// DeliveryReport is what MeasureDelivery measured and found.
type DeliveryReport struct {
	Households, Listeners int
	Offered               float64 // writes a second asked for
	Achieved              float64 // writes answered a second, over the schedule's run
	Writes                int     // writes the schedule held
	Acknowledged          int     // answered with a 2xx
	Failures              []string

	// Every acknowledged write must reach every device of its household
	// that listens (Others and Own), once, in revision order.
	Expected, Delivered, Lost, Duplicated int
	ListsDiffer                           int      // listeners whose list differs from the server's at the end
	Problems                              []string // the first few of all the above, in words

	// The timed writes are those due after the warm-up.
	Timed int
	// FromSchedule is the headline: from when a write was due (the
	// generator sent it then, or as soon as it could) to when its change
	// was read on another device, on the other instance. It holds the
	// write's own time to commit, so it bounds commit-to-device from above.
	FromSchedule Latency
	// FromCommit starts when the harness's own LISTEN connection heard the
	// revision's notification, which PostgreSQL sends at commit to every
	// listener at once, the other instance's included.
	FromCommit Latency
	// FromAnswer starts when the writer had its answer; the commit came
	// before that, and the change may reach the other device first:
	// BeforeAnswer counts those (timed as 0).
	FromAnswer   Latency
	BeforeAnswer int64
	// SameInstance is FromSchedule for the writer's own connection.
	SameInstance Latency
	Write        Latency // from when a write was due to its answer
	SendLag      Latency // how late writes left: the generator's health
}

// write is one scheduled write and what became of it.
type write struct {
	household       int
	opID            string
	due, sent, done time.Time
	err             error
}

// MeasureDelivery writes to hs's households on cfg's schedule and times
// each write's arrival on every listening device, then checks that every
// acknowledged write reached every device once and in order, and that each
// device's list equals the server's. The listeners must be connected and
// caught up (WaitFirst) before it starts.
func MeasureDelivery(ctx context.Context, cfg DeliveryConfig, hs []*Watched) (*DeliveryReport, error) {
	if cfg.Rate <= 0 || cfg.Duration <= 0 || len(hs) == 0 {
		return nil, fmt.Errorf("syncsim: a delivery measurement needs a rate, a duration and households")
	}
	if cfg.Drain == 0 {
		cfg.Drain = 30 * time.Second
	}
	n := int(cfg.Rate * cfg.Duration.Seconds())
	writes := make([]write, n)
	start := time.Now().Add(100 * time.Millisecond)
	due := func(k int) time.Time { return start.Add(time.Duration(float64(k) / cfg.Rate * float64(time.Second))) }
	wcfg := Config{BaseURL: cfg.WriteURL, Client: cfg.Client}

	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := newLane(h.Household.ID, "bench")
			token := h.Household.Devices[0].token
			timer := time.NewTimer(0)
			defer timer.Stop()
			for k := i; k < n && ctx.Err() == nil; k += len(hs) {
				w := &writes[k]
				w.household, w.due = i, due(k)
				if wait := time.Until(w.due); wait > 0 {
					timer.Reset(wait)
					select { // the schedule's pacing, not synchronisation
					case <-timer.C:
					case <-ctx.Done():
						w.err = ctx.Err()
						return
					}
				}
				o := l.next()
				w.opID, w.sent = o.id, time.Now()
				w.err = call(ctx, wcfg, token, o.method, o.path, o.body, nil, o.id)
				w.done = time.Now()
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	r := &DeliveryReport{Households: len(hs), Offered: cfg.Rate, Writes: n}
	var last time.Time
	acked := make([][]string, len(hs)) // operation ids, by household
	for k := range writes {
		w := &writes[k]
		if w.err != nil {
			if len(r.Failures) < maxProblems {
				r.Failures = append(r.Failures, fmt.Sprintf("write %d (%s): %v", k, w.opID, w.err))
			}
			continue
		}
		r.Acknowledged++
		acked[w.household] = append(acked[w.household], w.opID)
		if w.done.After(last) {
			last = w.done
		}
	}
	if !last.IsZero() {
		r.Achieved = float64(r.Acknowledged) / last.Sub(start).Seconds()
	}

	// Every device must hear every acknowledged write of its household;
	// whatever has not arrived by the end of the drain is lost.
	drain, cancel := context.WithTimeout(ctx, cfg.Drain)
	defer cancel()
	var waits sync.WaitGroup
	for i, h := range hs {
		for _, l := range h.listeners() {
			r.Listeners++
			waits.Add(1)
			go func() {
				defer waits.Done()
				l.WaitOps(drain, acked[i]) // what is missing is counted below
			}()
		}
	}
	waits.Wait()

	hist := func() *hdrhistogram.Histogram { return hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3) }
	fromSchedule, fromCommit, fromAnswer, sameInstance, writeLat, sendLag := hist(), hist(), hist(), hist(), hist(), hist()
	record := func(h *hdrhistogram.Histogram, d time.Duration) { h.RecordValue(max(d.Microseconds(), 0)) }
	timedFrom := start.Add(cfg.Warmup)
	for k := range writes {
		w := &writes[k]
		if w.err != nil {
			continue
		}
		timed := !w.due.Before(timedFrom)
		if timed {
			r.Timed++
			record(writeLat, w.done.Sub(w.due))
			record(sendLag, w.sent.Sub(w.due))
		}
		h := hs[w.household]
		for _, l := range h.listeners() {
			r.Expected++
			a, ok := l.Arrived(w.opID)
			if !ok {
				r.Lost++
				r.problem("lost: %s never heard operation %s (write %d)", l.Name, w.opID, k)
				continue
			}
			r.Delivered++
			if !timed {
				continue
			}
			if l == h.Own {
				record(sameInstance, a.At.Sub(w.due))
				continue
			}
			record(fromSchedule, a.At.Sub(w.due))
			if a.At.Before(w.done) {
				r.BeforeAnswer++
			}
			record(fromAnswer, a.At.Sub(w.done))
			if cfg.Committed != nil {
				if c, ok := cfg.Committed(h.Household.ID, a.Revision); ok {
					record(fromCommit, a.At.Sub(c))
				}
			}
		}
	}
	r.FromSchedule, r.FromCommit, r.FromAnswer = summary(fromSchedule), summary(fromCommit), summary(fromAnswer)
	r.SameInstance, r.Write, r.SendLag = summary(sameInstance), summary(writeLat), summary(sendLag)

	// Order, duplicates, and the lists: each device's equals the server's.
	for _, h := range hs {
		_, server, err := h.Household.Server(ctx, wcfg)
		if err != nil {
			return nil, fmt.Errorf("the server's list of %s: %w", h.Household.ID, err)
		}
		for _, l := range h.listeners() {
			_, _, dups, problems := l.Stats()
			r.Duplicated += dups
			for _, p := range problems {
				r.problem("%s: %s", l.Name, p)
			}
			if !sameItems(l.Items(), server) {
				r.ListsDiffer++
				r.problem("%s's list differs from the server's", l.Name)
			}
		}
	}
	return r, nil
}

func (h *Watched) listeners() []*Listener {
	if h.Own == nil {
		return h.Others
	}
	return append(append([]*Listener(nil), h.Others...), h.Own)
}

func (r *DeliveryReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

func summary(h *hdrhistogram.Histogram) Latency {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	return Latency{Count: h.TotalCount(), P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)),
		P99: us(h.ValueAtQuantile(99)), P999: us(h.ValueAtQuantile(99.9)), Max: us(h.Max())}
}

// WriteText writes the report for a person.
func (r *DeliveryReport) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%d households, %d listening connections; %d writes offered at %.0f/s, %d acknowledged (%.1f/s achieved), %d timed\n",
		r.Households, r.Listeners, r.Writes, r.Offered, r.Acknowledged, r.Achieved, r.Timed)
	fmt.Fprintf(w, "deliveries: %d expected, %d delivered, %d lost, %d duplicated; %d lists differ from the server's\n",
		r.Expected, r.Delivered, r.Lost, r.Duplicated, r.ListsDiffer)
	fmt.Fprintf(w, "other instance, from the write's scheduled start: %s\n", r.FromSchedule)
	fmt.Fprintf(w, "other instance, from the commit's notification:   %s\n", r.FromCommit)
	fmt.Fprintf(w, "other instance, from the writer's answer:         %s; %d arrived before the answer\n", r.FromAnswer, r.BeforeAnswer)
	fmt.Fprintf(w, "the writer's own instance, from the schedule:     %s\n", r.SameInstance)
	fmt.Fprintf(w, "the write, from its scheduled start to its answer: %s\n", r.Write)
	fmt.Fprintf(w, "send lag (how late writes left):                  %s\n", r.SendLag)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
}
