package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds each instance's scrape: an instance that has not
// answered by then is shown as unreachable, and the refresh goes on.
const DefaultTimeout = 1500 * time.Millisecond

const (
	maxMetricsBytes = 16 << 20
	maxJSONBytes    = 64 << 10
)

// Scraper reads instances' actuator endpoints.
type Scraper struct {
	// Client sends the requests; nil means a client of its own that never
	// goes through an HTTP proxy (instances are always reached directly).
	Client *http.Client
	// Timeout bounds each instance's three requests together; 0 means
	// DefaultTimeout.
	Timeout time.Duration
}

// Counters are the raw counters of the last scrape of each instance, keyed by
// URL: the baseline the next Collect computes its rates from. The zero value
// is an empty baseline.
type Counters struct {
	byURL map[string]scraped
}

type scraped struct {
	at  time.Time
	exp exposition
}

// Collect scrapes every target concurrently at time now and returns one
// Snapshot per target, in targets' order, and the counters to pass to the
// next call. An instance that cannot be read is a Snapshot with Error set,
// never an error. Rates are computed against prev; an instance prev lacks
// (its first scrape) has none. When an instance's metrics cannot be read,
// its old baseline is kept, so the next rates cover both intervals.
func (s *Scraper) Collect(ctx context.Context, now time.Time, targets []Target, prev Counters) ([]Snapshot, Counters) {
	snaps := make([]Snapshot, len(targets))
	exps := make([]*exposition, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			snaps[i], exps[i] = s.scrape(ctx, t)
		})
	}
	wg.Wait()

	next := Counters{byURL: map[string]scraped{}}
	for i := range snaps {
		e := exps[i]
		if e == nil {
			// Keep the old baseline: the next rates span both intervals.
			if p, ok := prev.byURL[targets[i].URL]; ok {
				next.byURL[targets[i].URL] = p
			}
			continue
		}
		snap := &snaps[i]
		if e.startTime > 0 {
			up := now.Sub(time.Unix(0, int64(e.startTime*float64(time.Second)))).Round(time.Second)
			snap.Uptime = &up
		}
		snap.DBInUse, snap.DBMax = e.dbInUse, e.dbMax
		if p, ok := prev.byURL[targets[i].URL]; ok && now.After(p.at) && e.mealsync {
			fillRates(snap, increase(p.exp, *e), now.Sub(p.at))
		}
		next.byURL[targets[i].URL] = scraped{at: now, exp: *e}
	}
	return snaps, next
}

func fillRates(snap *Snapshot, iv interval, over time.Duration) {
	snap.Interval = over
	snap.Restarted = iv.reset
	rate := iv.requests / over.Seconds()
	snap.RequestRate = &rate
	if iv.requests > 0 {
		ratio := iv.errors / iv.requests
		snap.ErrorRatio = &ratio
	}
	if p95, ok := quantile(0.95, iv.buckets); ok {
		snap.P95 = &p95
	}
}

// scrape reads one instance's readiness, info and metrics in parallel. The
// exposition is nil when the metrics could not be read.
func (s *Scraper) scrape(ctx context.Context, t Target) (Snapshot, *exposition) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base := strings.TrimRight(t.URL, "/")
	snap := Snapshot{Name: t.Name, URL: t.URL}

	var (
		wg                   sync.WaitGroup
		ready                bool
		info                 buildInfo
		exp                  exposition
		readyErr, infoErr    error
		metricsErr, parseErr error
	)
	wg.Go(func() { ready, readyErr = s.readiness(ctx, base+"/actuator/health/readiness") })
	wg.Go(func() { info, infoErr = s.info(ctx, base+"/actuator/info") })
	wg.Go(func() {
		var body io.ReadCloser
		body, metricsErr = s.get(ctx, base+"/actuator/prometheus", "text/plain;version=0.0.4")
		if metricsErr != nil {
			return
		}
		defer body.Close()
		exp, parseErr = parseExposition(io.LimitReader(body, maxMetricsBytes))
	})
	wg.Wait()

	if readyErr != nil {
		var se *statusError
		if errors.As(readyErr, &se) {
			snap.Error = "readiness: " + se.Error()
		} else {
			snap.Error = "unreachable: " + shortReason(readyErr, timeout)
			return snap, nil
		}
	}
	snap.Ready = ready
	snap.Version, snap.Commit = info.Build.Version, info.Build.Commit
	var notes []string
	if snap.Error != "" {
		notes = append(notes, snap.Error)
	}
	if infoErr != nil {
		notes = append(notes, "info: "+shortReason(infoErr, timeout))
	}
	switch {
	case metricsErr != nil:
		notes = append(notes, "metrics: "+shortReason(metricsErr, timeout))
	case parseErr != nil:
		notes = append(notes, "metrics: "+shortReason(parseErr, timeout))
	case !exp.mealsync:
		notes = append(notes, "metrics: no "+buildInfoMetric+" (not a MealSync instance?)")
	}
	snap.Error = strings.Join(notes, "; ")
	if metricsErr != nil || parseErr != nil {
		return snap, nil
	}
	if snap.Version == "" {
		snap.Version, snap.Commit = exp.version, exp.commit
	}
	return snap, &exp
}

// statusError is an endpoint answering, but not as a MealSync one would.
type statusError struct {
	code   int
	detail string
}

func (e *statusError) Error() string {
	if e.detail != "" {
		return fmt.Sprintf("HTTP %d, %s", e.code, e.detail)
	}
	return fmt.Sprintf("HTTP %d", e.code)
}

// readiness is true for 200 {"status":"UP"}, false for 503 {"status":"DOWN"}
// (an instance starting or shutting down); anything else is an error.
func (s *Scraper) readiness(ctx context.Context, endpoint string) (bool, error) {
	body, code, err := s.do(ctx, endpoint, "application/json")
	if err != nil {
		return false, err
	}
	defer body.Close()
	if code != http.StatusOK && code != http.StatusServiceUnavailable {
		return false, &statusError{code: code}
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(io.LimitReader(body, maxJSONBytes)).Decode(&h); err != nil || h.Status == "" {
		return false, &statusError{code: code, detail: "not an actuator health answer"}
	}
	return code == http.StatusOK && h.Status == "UP", nil
}

type buildInfo struct {
	Build struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	} `json:"build"`
}

func (s *Scraper) info(ctx context.Context, endpoint string) (buildInfo, error) {
	var bi buildInfo
	body, err := s.get(ctx, endpoint, "application/json")
	if err != nil {
		return bi, err
	}
	defer body.Close()
	if err := json.NewDecoder(io.LimitReader(body, maxJSONBytes)).Decode(&bi); err != nil {
		return bi, fmt.Errorf("not JSON: %w", err)
	}
	return bi, nil
}

// get returns the body of a 200 answer.
func (s *Scraper) get(ctx context.Context, endpoint, accept string) (io.ReadCloser, error) {
	body, code, err := s.do(ctx, endpoint, accept)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		body.Close()
		return nil, &statusError{code: code}
	}
	return body, nil
}

func (s *Scraper) do(ctx context.Context, endpoint, accept string) (io.ReadCloser, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "mealsyncctl-monitor")
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, 0, err
	}
	return resp.Body, resp.StatusCode, nil
}

var directTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return t
}()

func (s *Scraper) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Transport: directTransport}
}

// shortReason says in a few words why a request failed, for a table cell.
func shortReason(err error, timeout time.Duration) string {
	var (
		ne  net.Error
		dns *net.DNSError
		se  *statusError
	)
	switch {
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout after " + timeout.String()
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "no such host " + dns.Name
		}
		return "DNS lookup failed for " + dns.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	}
	// Without the method and URL a *url.Error adds: the row names the
	// instance already. Cap it so the table stays readable.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	msg := err.Error()
	if len(msg) > 80 {
		msg = msg[:77] + "..."
	}
	return msg
}
