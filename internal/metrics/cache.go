package metrics

import "github.com/prometheus/client_golang/prometheus"

// CacheSource is one in-process cache whose lookups are counted: Name is
// its cache label, Lookups its counts since the process started.
type CacheSource struct {
	Name    string
	Lookups func() (hits, misses uint64)
}

// CacheCollector reports every cache's lookups as one counter,
// mealsync_cache_lookups_total{cache, result="hit"|"miss"}, read at scrape
// time from the caches' own counts (the caches import no Prometheus). The
// hit ratio of a cache over a range is
// rate(…{result="hit"}) / rate(…) summed by cache.
type CacheCollector struct {
	sources []CacheSource
	lookups *prometheus.Desc
}

var _ prometheus.Collector = (*CacheCollector)(nil)

// NewCacheCollector reports the lookups of sources (a cache that is turned
// off is left out, so its series are absent rather than zero).
func NewCacheCollector(sources ...CacheSource) *CacheCollector {
	return &CacheCollector{sources: sources, lookups: prometheus.NewDesc("mealsync_cache_lookups_total",
		"Lookups in the instance's in-process caches, by cache (user, token, catalogue, list_page) and result: "+
			"hit (answered from memory) or miss (read from the database, or computed).",
		[]string{"cache", "result"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *CacheCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.lookups }

// Collect implements prometheus.Collector.
func (c *CacheCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.sources {
		hits, misses := s.Lookups()
		ch <- prometheus.MustNewConstMetric(c.lookups, prometheus.CounterValue, float64(hits), s.Name, "hit")
		ch <- prometheus.MustNewConstMetric(c.lookups, prometheus.CounterValue, float64(misses), s.Name, "miss")
	}
}
