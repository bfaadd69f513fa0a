package rollout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// requestCounters are what verification reads of an instance's own
// metrics: requests answered so far, and how many of them with a 5xx
// other than 503.
type requestCounters struct{ answered, failed float64 }

// The app's request counter (internal/api/metrics.go), labelled by
// method, route pattern and status.
const requestsMetric = "http_server_requests_seconds"

// scrapeCounters reads the request counters from an instance's
// /actuator/prometheus. Its own probes (routes under /actuator) are left
// out: a readiness answer of 503 is the probe working, not a failed request.
func scrapeCounters(ctx context.Context, c *http.Client, url string) (requestCounters, error) {
	var out requestCounters
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return out, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return out, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return out, err
	}
	fam, ok := families[requestsMetric]
	if !ok {
		return out, nil // no request answered yet: the app shows the family from its first one
	}
	for _, m := range fam.GetMetric() {
		var route, status string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "route":
				route = l.GetValue()
			case "status":
				status = l.GetValue()
			}
		}
		if strings.Contains(route, "/actuator") || m.GetHistogram() == nil {
			continue
		}
		n := float64(m.GetHistogram().GetSampleCount())
		out.answered += n
		// 503 is the app saying "not now" on purpose: shedding load
		// (password hashing busy), a feature not configured, a live
		// connection limit. An overloaded machine makes every instance
		// shed, old and new alike, and when the old ones are gone there
		// is no one to compare with; a release that cannot reach what it
		// needs shows in its readiness. Errors, 500 above all, are what
		// judge a release.
		if strings.HasPrefix(status, "5") && status != "503" {
			out.failed += n
		}
	}
	return out, nil
}
