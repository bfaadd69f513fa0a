package api_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// diverseQueries returns n different list queries drawn as people search:
// cuisines, tags, a time limit, free-text name terms from the catalogue's
// own words, offsets — so that a cache of pages sees what users make it see.
func diverseQueries(n int, seed uint64) []string {
	base, _ := catalog.Recipes(time.Now()) // embedded: cannot fail
	r := rand.New(rand.NewPCG(seed, 3))
	var words, cuisines, tags []string
	seen := map[string]bool{}
	for _, rec := range base {
		for _, w := range strings.Fields(strings.ToLower(rec.Name)) {
			if len(w) >= 3 && !seen[w] {
				seen[w] = true
				words = append(words, w)
			}
		}
		if !seen["c:"+rec.Cuisine] {
			seen["c:"+rec.Cuisine] = true
			cuisines = append(cuisines, rec.Cuisine)
		}
		for _, t := range rec.Tags {
			if !seen["t:"+t] {
				seen["t:"+t] = true
				tags = append(tags, t)
			}
		}
	}
	out := make([]string, 0, n)
	uniq := map[string]bool{}
	for len(out) < n {
		q := url.Values{}
		if r.IntN(2) == 0 {
			w := words[r.IntN(len(words))]
			q.Set("name", w[:3+r.IntN(len(w)-2)])
		}
		if r.IntN(2) == 0 {
			q.Set("cuisines", cuisines[r.IntN(len(cuisines))])
		}
		if r.IntN(3) == 0 {
			q.Set("tags", tags[r.IntN(len(tags))])
		}
		if r.IntN(3) == 0 {
			q.Set("maxTotalTime", strconv.Itoa(15*(1+r.IntN(8))))
		}
		q.Set("offset", strconv.Itoa(20*r.IntN(4)))
		q.Set("limit", "20")
		u := "/api/v1/recipes?" + q.Encode()
		if !uniq[u] {
			uniq[u] = true
			out = append(out, u)
		}
	}
	return out
}

// BenchmarkCatalogueDiverse measures the list under diverse queries (no
// query repeated within 5,000) over 10,000 recipes on PostgreSQL: SQL, the
// in-memory index, and the index behind the page cache (production). Many
// clients at once; req/s and p95 are the figures in docs/BENCHMARKS.md.
func BenchmarkCatalogueDiverse(b *testing.B) {
	queries := diverseQueries(5000, 1)
	for _, n := range []int{10_000, 100_000} {
		db := testdb.Postgres(b)
		for i, c := range []struct {
			name     string
			interval time.Duration // -1: no caches at all
			pages    int
		}{{"sql", -1, 0}, {"index", time.Second, 0}, {"index+pages", time.Second, 1000}} {
			e := newEnvCaching(b, db, c.interval, func(d *api.Deps) { d.ListCacheSize, d.CatalogueVersionTTL = c.pages, time.Second })
			if i == 0 {
				loadCatalogue(b, e, n)
			}
			b.Run(fmt.Sprintf("%d/%s", n, c.name), func(b *testing.B) {
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				var next atomic.Int64
				var mu sync.Mutex
				var lat []time.Duration
				b.SetParallelism(8)
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					var mine []time.Duration
					for pb.Next() {
						u := e.srv.URL + queries[int(next.Add(1))%len(queries)]
						t0 := time.Now()
						resp, err := client.Get(u)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						mine = append(mine, time.Since(t0))
						if resp.StatusCode != 200 {
							b.Errorf("%s: status %d", u, resp.StatusCode)
							return
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
				}
			})
		}
	}
}
