package api

import (
	"context"
	"net/http"
	"time"

	"github.com/mealsync/mealsync"
)

// admission bounds the API requests an instance works on at once
// (MEALSYNC_MAX_IN_FLIGHT). Past the bound a request waits for a slot, first
// come first served, at most MEALSYNC_ADMISSION_WAIT; then it is answered
// 429 with Retry-After without having been started, so a client may send it
// again. 429, as Kubernetes' API server answers past its max-requests-inflight,
// not 503: nginx resends a 503'd GET and counts the instance as failed, and
// resending what an overloaded instance shed doubled its work (measured in
// docs/BENCHMARKS.md, "Shedding past the knee"). Without the bound an
// instance past its CPU's capacity takes every request anyway: they share
// the CPU, each takes longer, the queue and its memory grow, and the
// latency of all of them climbs to the clients' timeouts (the overloaded
// runs of docs/BENCHMARKS.md, "Capacity through the stack"). With it,
// overload costs some requests a fast 429, not everyone a timeout.
//
// Live connections (the WebSocket and the event stream) stay open for hours
// and take no slot; the health probes are outside the API and never wait.
type admission struct {
	slots chan struct{}
	wait  time.Duration
}

// newAdmission returns nil (no bound) when max is 0.
func newAdmission(max int, wait time.Duration) *admission {
	if max <= 0 {
		return nil
	}
	return &admission{slots: make(chan struct{}, max), wait: wait}
}

var errBusy = &mealsync.Error{Code: mealsync.ETOOMANY, RetryAfter: time.Second,
	Message: "The server is busy; try again in a moment"}

// enter takes a slot, waiting at most a.wait; it reports errBusy when none
// came free, or the context's error when the client went away.
func (a *admission) enter(ctx context.Context) error {
	select {
	case a.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *admission) leave() { <-a.slots }

// longLived are the routes whose requests last as long as a device stays
// connected: they are bounded per user by the live hub, not here.
var longLived = map[string]bool{
	"GET /api/v1/sync/ws":     true,
	"GET /api/v1/sync/events": true,
}

// admit serves r through next once admitted; shed counts the requests
// answered 429 for want of a slot.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, pattern string, next http.Handler) {
	if s.admission == nil || longLived[pattern] {
		next.ServeHTTP(w, r)
		return
	}
	if err := s.admission.enter(r.Context()); err != nil {
		if err == errBusy {
			s.metrics.shed.Inc()
		}
		s.fail(w, r, err)
		return
	}
	defer s.admission.leave()
	next.ServeHTTP(w, r)
}
