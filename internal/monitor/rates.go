package monitor

import (
	"math"
	"sort"
	"strings"
)

// interval is what happened to the request histogram between two scrapes,
// summed over every method, route and status.
type interval struct {
	requests float64
	errors   float64  // 5xx
	buckets  []bucket // cumulative increases by upper bound, ascending
	reset    bool     // some counter went back: the process restarted
}

// increase computes the histogram's increase from prev to cur. Like PromQL's
// increase(), a counter that went down was reset (a restarted process), and
// its whole current value is the increase. A process start time that changed
// means every counter was reset, even those that have already climbed past
// their old value. A series prev did not have appeared during the interval
// (client_golang creates a series on its first observation).
func increase(prev, cur exposition) interval {
	var iv interval
	restarted := prev.startTime != 0 && cur.startTime != 0 && cur.startTime != prev.startTime
	iv.reset = restarted
	byLE := map[float64]float64{}
	for key, c := range cur.requests {
		p, seen := prev.requests[key]
		d, reset := seriesIncrease(p, c, !seen || restarted)
		if reset && seen {
			iv.reset = true
		}
		iv.requests += d.count
		if strings.HasPrefix(c.status, "5") {
			iv.errors += d.count
		}
		for _, b := range d.buckets {
			byLE[b.le] += b.count
		}
	}
	for le, n := range byLE {
		iv.buckets = append(iv.buckets, bucket{le: le, count: n})
	}
	sort.Slice(iv.buckets, func(i, j int) bool { return iv.buckets[i].le < iv.buckets[j].le })
	return iv
}

// seriesIncrease returns c - p bucket by bucket, or c itself when the series
// is new (fromZero) or any of its counters went down (reset is then true).
func seriesIncrease(p, c series, fromZero bool) (series, bool) {
	if !fromZero {
		if d, ok := subtract(p, c); ok {
			return d, false
		}
	}
	return c, !fromZero
}

func subtract(p, c series) (series, bool) {
	if c.count < p.count {
		return series{}, false
	}
	old := make(map[float64]float64, len(p.buckets))
	for _, b := range p.buckets {
		old[b.le] = b.count
	}
	d := series{status: c.status, count: c.count - p.count, buckets: make([]bucket, len(c.buckets))}
	for i, b := range c.buckets {
		o := old[b.le]
		if b.count < o {
			return series{}, false
		}
		d.buckets[i] = bucket{le: b.le, count: b.count - o}
	}
	return d, true
}

// quantile is PromQL's histogram_quantile over cumulative buckets sorted by
// upper bound, the last +Inf: find the bucket the q-th observation falls in
// and interpolate linearly inside it, assuming observations spread evenly
// (the first bucket starts at 0). A quantile in the +Inf bucket is the
// highest finite bound. ok is false without observations.
func quantile(q float64, buckets []bucket) (float64, bool) {
	if len(buckets) < 2 || !math.IsInf(buckets[len(buckets)-1].le, +1) {
		return 0, false
	}
	// Counts scraped at slightly different moments can be non-monotonic;
	// Prometheus evens them out the same way.
	bs := make([]bucket, len(buckets))
	copy(bs, buckets)
	for i := 1; i < len(bs); i++ {
		if bs[i].count < bs[i-1].count {
			bs[i].count = bs[i-1].count
		}
	}
	total := bs[len(bs)-1].count
	if total == 0 {
		return 0, false
	}
	rank := q * total
	b := sort.Search(len(bs)-1, func(i int) bool { return bs[i].count >= rank })
	if b == len(bs)-1 {
		return bs[len(bs)-2].le, true
	}
	if b == 0 && bs[0].le <= 0 {
		return bs[0].le, true
	}
	start, end, count := 0.0, bs[b].le, bs[b].count
	if b > 0 {
		start = bs[b-1].le
		count -= bs[b-1].count
		rank -= bs[b-1].count
	}
	return start + (end-start)*(rank/count), true
}
