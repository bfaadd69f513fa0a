// Package metrics holds Prometheus collectors for what the HTTP layer does
// not see: today, the free and total space of the data directory, so an
// alert can fire before SQLite, uploaded images or logs fill the disk.
//
// It imports only the Prometheus client and the standard library: no domain,
// storage or HTTP package, so any binary can register its collectors.
package metrics

import (
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
)

// DiskCollector reports the space of the file system holding one folder.
// It measures at scrape time, so the numbers are never older than the scrape.
type DiskCollector struct {
	path  string
	free  *prometheus.Desc
	total *prometheus.Desc
}

var _ prometheus.Collector = (*DiskCollector)(nil)

// NewDiskCollector measures the file system that holds dir. The path label
// is dir made absolute, as /actuator/health's diskSpace reports it.
func NewDiskCollector(dir string) *DiskCollector {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	labels := prometheus.Labels{"path": dir}
	return &DiskCollector{
		path: dir,
		free: prometheus.NewDesc("mealsync_disk_free_bytes",
			"Bytes free for the server's (unprivileged) use on the file system of the data directory.", nil, labels),
		total: prometheus.NewDesc("mealsync_disk_total_bytes",
			"Size in bytes of the file system of the data directory.", nil, labels),
	}
}

// Describe implements prometheus.Collector.
func (c *DiskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.free
	ch <- c.total
}

// Collect implements prometheus.Collector. When the folder cannot be
// measured (missing, or an unsupported platform) it reports nothing rather
// than an error: an error would fail the whole scrape and make a healthy
// instance look down. /actuator/health reports the missing folder instead.
func (c *DiskCollector) Collect(ch chan<- prometheus.Metric) {
	free, total, err := diskSpace(c.path)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.free, prometheus.GaugeValue, float64(free))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(total))
}
