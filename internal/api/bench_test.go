package api_test

import (
	"testing"

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
