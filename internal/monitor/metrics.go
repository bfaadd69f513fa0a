package monitor

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The series the monitor reads, as cmd/mealsync registers them.
const (
	requestsMetric  = "http_server_requests_seconds"
	dbInUseMetric   = "go_sql_in_use_connections"
	dbMaxMetric     = "go_sql_max_open_connections"
	startTimeMetric = "process_start_time_seconds"
	buildInfoMetric = "mealsync_build_info"
)

// exposition is what one /actuator/prometheus answer said.
type exposition struct {
	requests  map[string]series // by method, route and status; empty until the first request
	mealsync  bool              // mealsync_build_info or the request histogram was there
	startTime float64           // 0: not exposed
	dbInUse   *int
	dbMax     *int
	version   string // mealsync_build_info's labels, a fallback for /actuator/info
	commit    string
}

// series is one label set of the request histogram: cumulative counters.
type series struct {
	status  string
	count   float64
	buckets []bucket // ascending upper bounds, the last one +Inf
}

type bucket struct {
	le    float64 // upper bound
	count float64 // cumulative
}

// parseExposition reads the Prometheus text format.
func parseExposition(r io.Reader) (exposition, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return exposition{}, err
	}
	e := exposition{requests: map[string]series{}}
	if f := fams[requestsMetric]; f != nil {
		if f.GetType() != dto.MetricType_HISTOGRAM {
			return exposition{}, fmt.Errorf("%s is a %s, not a histogram", requestsMetric, strings.ToLower(f.GetType().String()))
		}
		e.mealsync = true
		for _, m := range f.GetMetric() {
			labels := labelMap(m)
			key := labels["method"] + "\x00" + labels["route"] + "\x00" + labels["status"]
			e.requests[key] = histogramSeries(labels["status"], m.GetHistogram())
		}
	}
	if v, ok := sumGauge(fams[startTimeMetric]); ok {
		e.startTime = v
	}
	if v, ok := sumGauge(fams[dbInUseMetric]); ok {
		n := int(v)
		e.dbInUse = &n
	}
	if v, ok := sumGauge(fams[dbMaxMetric]); ok {
		n := int(v)
		e.dbMax = &n
	}
	if f := fams[buildInfoMetric]; f != nil && len(f.GetMetric()) > 0 {
		labels := labelMap(f.GetMetric()[0])
		e.version, e.commit = labels["version"], labels["commit"]
		e.mealsync = true
	}
	return e, nil
}

func labelMap(m *dto.Metric) map[string]string {
	out := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// histogramSeries turns a parsed histogram into sorted cumulative buckets
// ending with +Inf (whose count is the sample count when the text omitted it).
func histogramSeries(status string, h *dto.Histogram) series {
	s := series{status: status, count: float64(h.GetSampleCount())}
	if h.SampleCountFloat != nil {
		s.count = h.GetSampleCountFloat()
	}
	hasInf := false
	for _, b := range h.GetBucket() {
		c := float64(b.GetCumulativeCount())
		if b.CumulativeCountFloat != nil {
			c = b.GetCumulativeCountFloat()
		}
		if math.IsInf(b.GetUpperBound(), +1) {
			hasInf = true
		}
		s.buckets = append(s.buckets, bucket{le: b.GetUpperBound(), count: c})
	}
	if !hasInf {
		s.buckets = append(s.buckets, bucket{le: math.Inf(+1), count: s.count})
	}
	sort.Slice(s.buckets, func(i, j int) bool { return s.buckets[i].le < s.buckets[j].le })
	return s
}

// sumGauge adds up a gauge (or untyped, or counter) family's series; ok is
// false when the family is missing.
func sumGauge(f *dto.MetricFamily) (float64, bool) {
	if f == nil || len(f.GetMetric()) == 0 {
		return 0, false
	}
	var sum float64
	for _, m := range f.GetMetric() {
		switch {
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum, true
}
