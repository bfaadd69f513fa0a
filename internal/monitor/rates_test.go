package monitor

import (
	"math"
	"testing"
)

func TestQuantileInterpolatesLikeHistogramQuantile(t *testing.T) {
	inf := math.Inf(+1)
	for _, tc := range []struct {
		name    string
		buckets []bucket
		q       float64
		want    float64
		ok      bool
	}{
		// rank 0.95*20 = 19; 10 ≤ 0.1, 20 ≤ 0.5: 0.1 + 0.4 * 9/10.
		{"inside a bucket", []bucket{{0.1, 10}, {0.5, 20}, {inf, 20}}, 0.95, 0.1 + 0.4*9/10, true},
		// The first bucket starts at 0: rank 0.5*4 = 2 of 4 ≤ 0.2 → 0.1.
		{"first bucket from zero", []bucket{{0.2, 4}, {1, 4}, {inf, 4}}, 0.5, 0.1, true},
		// Beyond the highest finite bound: that bound (PromQL's answer).
		{"in the +Inf bucket", []bucket{{0.1, 1}, {10, 2}, {inf, 100}}, 0.95, 10, true},
		// Rank exactly on a bucket's top: that bound.
		{"on a boundary", []bucket{{0.1, 95}, {0.5, 100}, {inf, 100}}, 0.95, 0.1, true},
		// Scrape skew can make a count smaller than the one below it.
		{"non-monotonic counts", []bucket{{0.1, 10}, {0.5, 8}, {1, 20}, {inf, 20}}, 0.75, 0.5 + 0.5*5/10, true},
		{"no observations", []bucket{{0.1, 0}, {inf, 0}}, 0.95, 0, false},
		{"no +Inf bucket", []bucket{{0.1, 3}, {0.5, 4}}, 0.95, 0, false},
		{"a single bucket", []bucket{{inf, 3}}, 0.95, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := quantile(tc.q, tc.buckets)
			if ok != tc.ok || !near(got, tc.want) {
				t.Errorf("quantile(%v) = %v, %v; want %v, %v", tc.q, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestIncreaseSumsEverySeriesAndCounts5xx(t *testing.T) {
	inf := math.Inf(+1)
	s := func(status string, fast, all float64) series {
		return series{status: status, count: all, buckets: []bucket{{0.1, fast}, {inf, all}}}
	}
	prev := exposition{startTime: 100, requests: map[string]series{
		"a": s("200", 10, 10), "b": s("500", 1, 2),
	}}
	cur := exposition{startTime: 100, requests: map[string]series{
		"a": s("200", 14, 16), "b": s("500", 1, 3), "c": s("503", 0, 1), // c is new
	}}
	iv := increase(prev, cur)
	if iv.requests != 6+1+1 || iv.errors != 1+1 || iv.reset {
		t.Fatalf("increase = %+v, want 8 requests, 2 errors, no reset", iv)
	}
	if len(iv.buckets) != 2 || iv.buckets[0] != (bucket{0.1, 4}) || iv.buckets[1] != (bucket{inf, 8}) {
		t.Fatalf("buckets = %v, want [{0.1 4} {+Inf 8}]", iv.buckets)
	}
}
