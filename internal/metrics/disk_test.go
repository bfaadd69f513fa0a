//go:build unix

package metrics_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mealsync/mealsync/internal/metrics"
)

func gather(t *testing.T, c prometheus.Collector) map[string]*dto.Metric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry() // also checks Describe matches Collect
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]*dto.Metric{}
	for _, f := range families {
		if len(f.GetMetric()) != 1 {
			t.Fatalf("%s: %d series, want 1", f.GetName(), len(f.GetMetric()))
		}
		if f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %v, want a gauge", f.GetName(), f.GetType())
		}
		got[f.GetName()] = f.GetMetric()[0]
	}
	return got
}

func TestDiskCollectorReportsTheDataDirectorysFileSystem(t *testing.T) {
	dir := t.TempDir()
	got := gather(t, metrics.NewDiskCollector(dir))

	free, total := got["mealsync_disk_free_bytes"], got["mealsync_disk_total_bytes"]
	if free == nil || total == nil {
		t.Fatalf("want mealsync_disk_free_bytes and mealsync_disk_total_bytes, got %v", got)
	}
	for name, m := range got {
		if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "path" || l[0].GetValue() != dir {
			t.Errorf("%s labels = %v, want path=%q", name, l, dir)
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if want := float64(uint64(st.Blocks) * uint64(st.Bsize)); total.GetGauge().GetValue() != want {
		t.Errorf("total = %v, want %v", total.GetGauge().GetValue(), want)
	}
	if f := free.GetGauge().GetValue(); f <= 0 || f > total.GetGauge().GetValue() {
		t.Errorf("free = %v, want within (0, total=%v]", f, total.GetGauge().GetValue())
	}
}

func TestDiskCollectorLabelsTheAbsolutePath(t *testing.T) {
	t.Chdir(t.TempDir())
	got := gather(t, metrics.NewDiskCollector("."))
	want, _ := filepath.Abs(".")
	if l := got["mealsync_disk_free_bytes"].GetLabel(); len(l) != 1 || l[0].GetValue() != want {
		t.Errorf("path label = %v, want %q", l, want)
	}
}

// A missing folder must not fail the scrape: that would mark a serving
// instance down. It reports no disk series instead.
func TestDiskCollectorReportsNothingForAMissingFolder(t *testing.T) {
	got := gather(t, metrics.NewDiskCollector(filepath.Join(t.TempDir(), "missing")))
	if len(got) != 0 {
		t.Errorf("got %d families for a missing folder, want none", len(got))
	}
}
