// Package monitor is `mealsyncctl monitor`: a live view of every MealSync
// instance (version, readiness, uptime, request rate, p95 latency, 5xx ratio,
// database connections) and the last deploy, read from the instances' own
// /actuator endpoints like Prometheus would, so it works over SSH with
// nothing else installed. It replaces the old scripts/monitor.sh.
//
// A target is an instance's ops listener (MEALSYNC_OPS_ADDR), which serves
// the readiness probe, build info and metrics together; the API port
// answers only the probes.
//
// Rates need two scrapes: every figure over an interval (requests per second,
// p95, error ratio) comes from the difference between the counters of this
// scrape and the previous one, computed the way PromQL's rate() and
// histogram_quantile() would, restarts included.
//
// This package must not import the server's packages (api, sqldb, config)
// nor internal/rollout: it talks to instances only over HTTP, and the caller
// (cmd/mealsyncctl) tells it which instances exist and what was last deployed.
package monitor

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Target is one instance to watch.
type Target struct {
	Name string // how the table names it: an instance id, or host:port
	URL  string // the ops listener's base URL, e.g. http://127.0.0.1:9081; /actuator/... is appended
}

// Snapshot is what one refresh knows about one instance. Figures that cannot
// be known are nil: every rate on the first scrape of an instance, p95 and the
// error ratio when it served no request in the interval, anything an
// unreachable instance would have said.
type Snapshot struct {
	Name    string
	URL     string
	Version string // from /actuator/info, else mealsync_build_info
	Commit  string

	// Ready is true when /actuator/health/readiness answered UP.
	Ready bool
	// Error says why the instance could not be read (fully): "unreachable:
	// connection refused", "readiness: HTTP 404", "metrics: ...". Empty
	// when everything answered.
	Error string

	Uptime *time.Duration // now - process_start_time_seconds

	RequestRate *float64 // requests per second over the interval
	P95         *float64 // seconds, 95th percentile of the interval's requests
	ErrorRatio  *float64 // 5xx responses / all responses in the interval, 0..1

	DBInUse *int // go_sql_in_use_connections, summed over db_name
	DBMax   *int // go_sql_max_open_connections; 0 means unlimited

	// Restarted is true when the instance's counters went back since the
	// previous scrape (a new process behind the same URL); the interval's
	// figures then count from zero.
	Restarted bool
	// Interval is the time the rates are computed over (0 on a first scrape).
	Interval time.Duration
}

// Deploy is the last deploy or rollback, as the deploy tool recorded it.
type Deploy struct {
	Kind    string    // deploy, rollback
	Version string    // the release it put into service (or tried to)
	Outcome string    // succeeded, rolled_back, interrupted, failed
	Time    time.Time // when it ended
	Detail  string    // why it did not succeed, if it did not
}

// Frame is one refresh: what the table or the JSON object shows.
type Frame struct {
	Time      time.Time
	Interval  time.Duration // the refresh interval
	Instances []Snapshot
	// LastDeploy is nil when nothing was ever deployed (or it could not be
	// read: DeployError says why).
	LastDeploy  *Deploy
	DeployError string
	// TargetsError says why the instance list could not be (re)read; the
	// previous list is still shown.
	TargetsError string
}

// Ready counts the instances whose readiness said UP.
func (f Frame) Ready() int {
	n := 0
	for _, s := range f.Instances {
		if s.Ready {
			n++
		}
	}
	return n
}

// ErrNoTargets is returned by a one-shot Run when there is nothing to watch.
var ErrNoTargets = errors.New("no instances to monitor: deploy first, or name them with --targets")

// ParseTargets reads a comma-separated list of instances: base URLs
// (http://10.0.0.5:9081) or host:port pairs, which mean http://host:port.
// Each is named by its host:port.
func ParseTargets(list string) ([]Target, error) {
	var out []Target
	seen := map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		t, err := parseTarget(item)
		if err != nil {
			return nil, err
		}
		if seen[t.URL] {
			return nil, fmt.Errorf("target %q: listed twice", item)
		}
		seen[t.URL] = true
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no targets in %q: expected URLs or host:port pairs separated by commas", list)
	}
	return out, nil
}

func parseTarget(item string) (Target, error) {
	raw := item
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: not a URL or host:port", item)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Target{}, fmt.Errorf("target %q: scheme must be http or https", item)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Target{}, fmt.Errorf("target %q: no host", item)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Target{}, fmt.Errorf("target %q: expected a base URL without user, query or fragment", item)
	}
	if p := u.Port(); p == "" && !strings.Contains(item, "://") {
		return Target{}, fmt.Errorf("target %q: host:port needs a port (an instance's ops listener is on 127.0.0.1:9081 by default)", item)
	}
	name := u.Host
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		name = u.Hostname()
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return Target{Name: name, URL: u.String()}, nil
}
