package api

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP layer's own series. Names follow Spring's Micrometer
// ones where the old dashboards had them (http_server_requests_seconds).
type metrics struct {
	requests       *prometheus.HistogramVec
	inFlight       prometheus.Gauge
	internalErrors prometheus.Counter
	idempotent     *prometheus.CounterVec
	shed           prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_server_requests_seconds",
			Help: "HTTP requests by route pattern, method and status: count and latency.",
			// 0.2 is the latency SLO's threshold (deploy/prometheus/slo.yml):
			// the share of requests within it is read off that bucket, exactly.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .2, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_server_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
		internalErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mealsync_internal_errors_total",
			Help: "Requests that failed with an unexpected (500) error.",
		}),
		idempotent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mealsync_idempotent_requests_total",
			Help: "Writes sent with an Idempotency-Key, by outcome: executed, replayed (an earlier attempt's answer), in_progress (409), key_reused (422), invalid, failed.",
		}, []string{"outcome"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mealsync_http_requests_shed_total",
			Help: "API requests answered 429 at once because MEALSYNC_MAX_IN_FLIGHT were being served and no slot came free within MEALSYNC_ADMISSION_WAIT.",
		}),
	}
	reg.MustRegister(m.requests, m.inFlight, m.internalErrors, m.idempotent, m.shed)
	return m
}
