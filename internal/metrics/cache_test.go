package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mealsync/mealsync/internal/metrics"
)

// Each cache's counts are read at scrape time, as hits and misses of one
// counter family.
func TestCacheCollectorReportsEachCachesLookups(t *testing.T) {
	var userHits uint64 = 7
	c := metrics.NewCacheCollector(
		metrics.CacheSource{Name: "user", Lookups: func() (uint64, uint64) { return userHits, 2 }},
		metrics.CacheSource{Name: "list_page", Lookups: func() (uint64, uint64) { return 0, 5 }},
	)
	reg := prometheus.NewPedanticRegistry() // also checks Describe against Collect
	reg.MustRegister(c)
	want := func(userHits string) string {
		return `
# HELP mealsync_cache_lookups_total Lookups in the instance's in-process caches, by cache (user, token, catalogue, list_page) and result: hit (answered from memory) or miss (read from the database, or computed).
# TYPE mealsync_cache_lookups_total counter
mealsync_cache_lookups_total{cache="list_page",result="hit"} 0
mealsync_cache_lookups_total{cache="list_page",result="miss"} 5
mealsync_cache_lookups_total{cache="user",result="hit"} ` + userHits + `
mealsync_cache_lookups_total{cache="user",result="miss"} 2
`
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want("7"))); err != nil {
		t.Fatal(err)
	}
	userHits = 9 // read again at the next scrape
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want("9"))); err != nil {
		t.Fatal(err)
	}
}
