package api_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// The benchmarks go through the whole stack: HTTP client → router →
// middleware → service → database, on loopback. Results and the machine are
// in docs/BENCHMARKS.md.

func benchStores(b *testing.B, f func(b *testing.B, e *env)) {
	for _, st := range testdb.Stores {
		b.Run(st.Name, func(b *testing.B) { f(b, newEnv(b, st.Open(b))) })
	}
}

// BenchmarkLogin is dominated by argon2id, on purpose: it is what makes
// guessing passwords expensive.
func BenchmarkLogin(b *testing.B) {
	benchStores(b, func(b *testing.B, e *env) {
		e.register("bench@example.com")
		body := map[string]any{"email": "bench@example.com", "password": "correct horse 1"}
		for b.Loop() {
			e.expect(e.do("POST", "/api/v1/users/login", "", body), 200)
		}
	})
}

func BenchmarkRefresh(b *testing.B) {
	benchStores(b, func(b *testing.B, e *env) {
		s := e.newUser("bench@example.com")
		token := s.refresh
		for b.Loop() {
			r := e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": token}), 200)
			token = r.data()["refreshToken"].(map[string]any)["token"].(string)
		}
	})
}

func BenchmarkAuthenticatedGet(b *testing.B) {
	benchStores(b, func(b *testing.B, e *env) {
		s := e.newUser("bench@example.com")
		path := "/api/v1/users/" + s.id
		for b.Loop() {
			e.expect(e.do("GET", path, s.token, nil), 200)
		}
	})
}

// BenchmarkAuthenticatedGetParallel measures throughput with concurrent
// clients, the number that matters for capacity.
func BenchmarkAuthenticatedGetParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, e *env) {
		s := e.newUser("bench@example.com")
		path := "/api/v1/users/" + s.id
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.expect(e.do("GET", path, s.token, nil), 200)
			}
		})
	})
}

// BenchmarkAuthenticatedGetUserCache compares an authenticated GET whose
// user comes from the database on every request (no cache), from the cache
// after asking the change feed on every request (interval 0, as the other
// tests run), and from the cache with production's interval (0.5 s): the
// last costs no database round trip for the user at all.
func BenchmarkAuthenticatedGetUserCache(b *testing.B) {
	for _, st := range testdb.Stores {
		for _, c := range []struct {
			name     string
			interval time.Duration
			cache    bool
		}{{"no-cache", 0, false}, {"feed-every-request", 0, true}, {"interval-500ms", 500 * time.Millisecond, true}} {
			b.Run(st.Name+"/"+c.name, func(b *testing.B) {
				db := st.Open(b)
				var e *env
				if c.cache {
					e = newEnvCaching(b, db, c.interval)
				} else {
					e = newEnvUncached(b, db)
				}
				s := e.newUser("bench@example.com")
				path := "/api/v1/users/" + s.id
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						e.expect(e.do("GET", path, s.token, nil), 200)
					}
				})
			})
		}
	}
}

// BenchmarkRecipeGet is the authenticated GET /api/v1/recipes/{id} of a
// catalogue recipe, as production serves it (users and the catalogue from
// memory). Profile it with:
//
//	MEALSYNC_REQUIRE_SERVICES=1 go test -run '^$' -bench RecipeGet -benchtime 20000x -cpuprofile cpu.out ./internal/api
//	go tool pprof -top -cum -focus 'conn..serve' -nodecount 40 internal/api.test cpu.out
func BenchmarkRecipeGet(b *testing.B) {
	e := newEnvCaching(b, testdb.Postgres(b), time.Second)
	s := e.newUser("bench@example.com")
	admin := e.newAdmin("admin@example.com")
	id := e.expect(e.do("POST", "/api/v1/recipes", admin.token, recipeBody("Bench Stew")), 201).data()["id"].(string)
	url := e.srv.URL + "/api/v1/recipes/" + id
	// A lean client (the body is read and dropped) so that the profile is
	// the server's: focus on it with -focus 'conn..serve'.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+s.token)
			resp, err := client.Do(req)
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
}
