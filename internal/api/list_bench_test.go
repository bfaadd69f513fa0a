package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/catalog"
	"github.com/mealsync/mealsync/internal/testdb"
)

// loadCatalogue fills the store with n recipes: the starter catalogue's
// real recipes, repeated under new names and ids until there are n.
func loadCatalogue(tb testing.TB, e *env, n int) {
	tb.Helper()
	base, err := catalog.Recipes(time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		tb.Fatal(err)
	}
	rs := make([]*mealsync.Recipe, 0, n)
	for i := 0; len(rs) < n; i++ {
		r := *base[i%len(base)]
		r.ID = uuid.NewString()
		if round := i / len(base); round > 0 {
			r.Name = fmt.Sprintf("%s No. %d", r.Name, round+1)
		}
		rs = append(rs, &r)
	}
	if err := e.db.CreateRecipes(context.Background(), rs...); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.db.SQL().Exec("ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}

// The list endpoint with three filters, as the app's search screen sends it.
const threeFilters = "/api/v1/recipes?cuisines=Italian,Greek&tags=vegetarian&maxTotalTime=45&limit=20"

// BenchmarkListRecipes10k measures GET /api/v1/recipes with three filters
// over 10,000 recipes on PostgreSQL: one client (latency, with p95) and
// many (throughput), with the production cache settings ("cached") and with
// the cache off, every request going to the database ("uncached").
// docs/BENCHMARKS.md has the figures.
func BenchmarkListRecipes10k(b *testing.B) {
	db := testdb.Postgres(b)
	for _, c := range []struct {
		name string
		size int
	}{{"cached", 1000}, {"uncached", 0}} {
		e := newEnv(b, db, func(d *api.Deps) { d.ListCacheSize, d.CatalogueVersionTTL = c.size, time.Second })
		if c.size > 0 {
			loadCatalogue(b, e, 10_000)
		}
		b.Run(c.name, func(b *testing.B) { benchList(b, e) })
	}
}

func benchList(b *testing.B, e *env) {
	first := e.expect(e.do("GET", threeFilters, "", nil), 200)
	if first.body["totalElements"].(float64) < 20 {
		b.Fatalf("the filters match too little to measure: %s", first.raw)
	}

	b.Run("serial", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			start := time.Now()
			e.expect(e.do("GET", threeFilters, "", nil), 200)
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	})
	b.Run("parallel", func(b *testing.B) {
		// A lean client: the body is read and dropped, not decoded, so the
		// load generator (on the same two cores) takes as little as it can.
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		url := e.srv.URL + threeFilters
		b.SetParallelism(8)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	})
}
