package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/catalogindex"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
	"github.com/mealsync/mealsync/internal/usercache"
)

const (
	cacheUsers = 2_000 // users looked up at random
	cachePages = 500   // distinct list pages looked up at random
)

// BenchmarkSharedCache prices a shared cache (Redis) against what each
// instance does now, for the three things a request reads that a shared
// cache could hold — issue 11's "Redis, measured not assumed":
//
//	MEALSYNC_REQUIRE_SERVICES=1 go test -run '^$' -bench SharedCache -benchtime 2s ./test/bench
//
// For a user (what authenticating a request loads), a published recipe and
// an encoded page of the catalogue list (20 recipes), each of:
//
//	memory    the instance's own cache as it answers a hit: usercache,
//	          catalogindex, and an LRU of encoded pages as the list cache
//	          keeps them
//	redis     a GET from redis-server over loopback (go-redis, the
//	          field's client), and the decoding a shared copy needs before
//	          use (a page is sent as stored)
//	postgres  what a miss costs today: the primary-key read (user, recipe)
//	          over loopback; for a page, building it from the in-memory
//	          index and encoding it (pages never come from the database)
//
// "serial" is one goroutine: the latency a request pays. "parallel" is
// 8 goroutines per core: the reciprocal of the machine's throughput, so it
// includes what redis-server and PostgreSQL spend on the same two cores.
// Both report CPU time per operation too (cpu-µs/op: this process;
// redis-cpu-µs/op: redis-server's), which a busy machine does not inflate.
//
// It needs PostgreSQL (MEALSYNC_TEST_DATABASE_URL) and Debian's
// redis-server, which it starts itself on a free loopback port; without
// either it skips (fails with MEALSYNC_REQUIRE_SERVICES=1). Benchmarks do
// not run in `go test ./...`, so CI, which installs no redis-server, never
// runs it.
func BenchmarkSharedCache(b *testing.B) {
	ctx := context.Background()
	url := testdb.PostgresURL(b)
	rs := testenv.StartRedis(b)
	db, err := postgres.Open(url, postgres.Pool{MaxOpen: 20, MaxIdle: 20, MaxLifetime: time.Hour, MaxIdleTime: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, time.Now()); err != nil {
		b.Fatal(err)
	}
	recipeIDs := loadRecipes(b, url)
	userIDs := createUsers(b, db, cacheUsers)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, PoolSize: 32}) // a connection for each goroutine of the parallel runs
	b.Cleanup(func() { rdb.Close() })

	// The instance's caches, warmed with everything looked up below.
	users := usercache.New(db, db, cacheUsers, 500*time.Millisecond, time.Now)
	index := catalogindex.New(db, db, time.Second, time.Now)
	if err := index.Warm(ctx); err != nil {
		b.Fatal(err)
	}
	pages, _ := lru.New[string, []byte](cachePages)
	pageKeys := make([]string, cachePages)
	filters := make([]mealsync.RecipeFilter, cachePages)
	cuisines := []string{"Italian", "Indian", "Mexican", "Thai", "Japanese", "French", "Chinese", "Greek", "Korean", "Spanish"}
	for i := range pageKeys {
		filters[i] = mealsync.RecipeFilter{Cuisines: []string{cuisines[i%len(cuisines)]}, Offset: 20 * (i / len(cuisines)) % 200, Limit: 20}
		if i%3 == 0 {
			filters[i].MaxTotalTime = new(int)
			*filters[i].MaxTotalTime = 30 + i%60
		}
		body, err := encodePage(ctx, index, filters[i])
		if err != nil {
			b.Fatal(err)
		}
		pageKeys[i] = fmt.Sprint("page:", i)
		pages.Add(pageKeys[i], body)
		if err := rdb.Set(ctx, pageKeys[i], body, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	var userBytes, recipeBytes, pageBytes int
	for _, id := range userIDs {
		u, err := users.UserByID(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := json.Marshal(u)
		userBytes = len(v)
		if err := rdb.Set(ctx, "user:"+id, v, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	for _, id := range recipeIDs {
		r, err := index.RecipeByID(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		v, _ := json.Marshal(r)
		recipeBytes = len(v)
		if err := rdb.Set(ctx, "recipe:"+id, v, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
	for _, k := range pageKeys {
		v, _ := pages.Get(k)
		pageBytes += len(v)
	}
	pageBytes /= len(pageKeys)

	type read func(r *rand.Rand) error
	kinds := []struct {
		name  string
		bytes int
		ways  map[string]read
	}{
		{"user", userBytes, map[string]read{
			"memory": func(r *rand.Rand) error {
				_, err := users.UserByID(ctx, userIDs[r.IntN(len(userIDs))])
				return err
			},
			"redis": func(r *rand.Rand) error {
				v, err := rdb.Get(ctx, "user:"+userIDs[r.IntN(len(userIDs))]).Bytes()
				if err != nil {
					return err
				}
				var u mealsync.User
				return json.Unmarshal(v, &u)
			},
			"postgres": func(r *rand.Rand) error {
				_, err := db.UserByID(ctx, userIDs[r.IntN(len(userIDs))])
				return err
			},
		}},
		{"recipe", recipeBytes, map[string]read{
			"memory": func(r *rand.Rand) error {
				_, err := index.RecipeByID(ctx, recipeIDs[r.IntN(len(recipeIDs))])
				return err
			},
			"redis": func(r *rand.Rand) error {
				v, err := rdb.Get(ctx, "recipe:"+recipeIDs[r.IntN(len(recipeIDs))]).Bytes()
				if err != nil {
					return err
				}
				var rec mealsync.Recipe
				return json.Unmarshal(v, &rec)
			},
			"postgres": func(r *rand.Rand) error {
				_, err := db.RecipeByID(ctx, recipeIDs[r.IntN(len(recipeIDs))])
				return err
			},
		}},
		{"page", pageBytes, map[string]read{
			"memory": func(r *rand.Rand) error {
				if _, ok := pages.Get(pageKeys[r.IntN(len(pageKeys))]); !ok {
					return fmt.Errorf("page evicted")
				}
				return nil
			},
			"redis": func(r *rand.Rand) error {
				_, err := rdb.Get(ctx, pageKeys[r.IntN(len(pageKeys))]).Bytes()
				return err
			},
			"postgres": func(r *rand.Rand) error { // the index builds it: the list cache's miss
				_, err := encodePage(ctx, index, filters[r.IntN(len(filters))])
				return err
			},
		}},
	}
	for _, k := range kinds {
		for _, way := range []string{"memory", "redis", "postgres"} {
			do := k.ways[way]
			b.Run(k.name+"/"+way+"/serial", func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				cpu := startCPU(b, rs)
				for b.Loop() {
					if err := do(r); err != nil {
						b.Fatal(err)
					}
				}
				cpu.report(b)
				b.ReportMetric(float64(k.bytes), "B/value")
			})
			b.Run(k.name+"/"+way+"/parallel", func(b *testing.B) {
				b.SetParallelism(8)
				cpu := startCPU(b, rs)
				defer cpu.report(b)
				b.RunParallel(func(pb *testing.PB) {
					r := rand.New(rand.NewPCG(rand.Uint64(), 2))
					for pb.Next() {
						if err := do(r); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// cpuMeter counts the CPU time of this process (the instance's side: the
// cache, the client, the decoding) and of redis-server over a benchmark:
// on a machine shared with other jobs, wall time per operation mostly
// measures waiting for a core, CPU time does not. PostgreSQL's backends are
// not counted (the database is shared with other tests).
type cpuMeter struct {
	self, redis time.Duration
	pid         int
}

func startCPU(b *testing.B, rs *testenv.Redis) cpuMeter {
	return cpuMeter{self: selfCPU(b), redis: cpuTime(b, rs.Cmd.Process.Pid), pid: rs.Cmd.Process.Pid}
}

func (m cpuMeter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64((selfCPU(b)-m.self).Nanoseconds())/1e3/n, "cpu-µs/op")
	b.ReportMetric(float64((cpuTime(b, m.pid)-m.redis).Nanoseconds())/1e3/n, "redis-cpu-µs/op")
}

func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// encodePage lists f from the index and encodes it, as the list handler
// does on a miss of its page cache.
func encodePage(ctx context.Context, index *catalogindex.Index, f mealsync.RecipeFilter) ([]byte, error) {
	p, err := index.ListRecipes(ctx, mealsync.RecipeFilter{Cuisines: f.Cuisines, MaxTotalTime: f.MaxTotalTime,
		Offset: f.Offset, Limit: f.Limit, Published: &published})
	if err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

var published = true

// createUsers stores n users with preferences, as sign-ups leave them.
func createUsers(b *testing.B, db *sqldb.DB, n int) []string {
	b.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	run := uuid.NewString()[:8] // the database may hold an earlier run's users
	ids := make([]string, n)
	for i := range ids {
		u := &mealsync.User{ID: uuid.NewString(), Email: fmt.Sprintf("cache-%d-%s@example.com", i, run), Name: fmt.Sprintf("Cook %d", i),
			Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
			CreatedAt: now, UpdatedAt: now,
			Preferences: mealsync.Preferences{FavoriteCuisines: []string{"Italian", "Thai"}, DietaryRestrictions: []string{"vegetarian"},
				DislikedIngredients: []string{"olives"}}}
		if err := db.CreateUser(context.Background(), u); err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}
