package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Replica is one read replica as its prober last saw it.
type Replica struct {
	Name       string // host:port
	InRotation bool
	Lag        time.Duration
	Reads      uint64 // catalogue feed reads it answered
}

// ReplicaCollector reports the read replicas: their lag and rotation, and
// where the catalogue's feed reads went.
type ReplicaCollector struct {
	replicas  func() []Replica
	fallbacks func() uint64 // reads that went to the primary instead

	lag, inRotation, reads *prometheus.Desc
}

var _ prometheus.Collector = (*ReplicaCollector)(nil)

// NewReplicaCollector reports what replicas and fallbacks return.
func NewReplicaCollector(replicas func() []Replica, fallbacks func() uint64) *ReplicaCollector {
	return &ReplicaCollector{replicas: replicas, fallbacks: fallbacks,
		lag: prometheus.NewDesc("mealsync_db_replica_lag_seconds",
			"How far each read replica was behind the primary when last measured (every 250 ms).", []string{"replica"}, nil),
		inRotation: prometheus.NewDesc("mealsync_db_replica_in_rotation",
			"1 while a read replica answers and lags less than MEALSYNC_REPLICA_MAX_LAG, so it takes reads.", []string{"replica"}, nil),
		reads: prometheus.NewDesc("mealsync_db_catalogue_reads_total",
			"Reads of the catalogue's feed, by where they went: a replica (by name), or the primary (no replica in rotation had replayed what was needed).",
			[]string{"target"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *ReplicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lag
	ch <- c.inRotation
	ch <- c.reads
}

// Collect implements prometheus.Collector.
func (c *ReplicaCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.replicas() {
		up := 0.0
		if r.InRotation {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, r.Lag.Seconds(), r.Name)
		ch <- prometheus.MustNewConstMetric(c.inRotation, prometheus.GaugeValue, up, r.Name)
		ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(r.Reads), r.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.reads, prometheus.CounterValue, float64(c.fallbacks()), "primary")
}
