package loadtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeAPI answers the requests a virtual user sends with the shapes the
// real API uses, so the engine's scheduling, stopping and accounting can be
// tested against a server whose behaviour the test controls (the real
// server is driven in the end-to-end tests). hook, when set, runs first and
// may answer itself (returning true).
type fakeAPI struct {
	mu       sync.Mutex
	hook     func(w http.ResponseWriter, r *http.Request) bool
	requests atomic.Int64
	byPath   map[string]int
	missing  []string // POST, PUT or DELETE requests without an Idempotency-Key
	users    map[string]string
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{byPath: map[string]int{}, users: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func (f *fakeAPI) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for p, c := range f.byPath {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

const fakeRecipe = `{"id":"%s","name":"Tofu %d"}`

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	f.mu.Lock()
	hook := f.hook
	f.byPath[r.Method+" "+r.URL.Path]++
	if r.Method != http.MethodGet && r.Header.Get("Idempotency-Key") == "" {
		f.missing = append(f.missing, r.Method+" "+r.URL.Path)
	}
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	list := func() string {
		var items []string
		for i := range 3 {
			items = append(items, fmt.Sprintf(fakeRecipe, fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i), i))
		}
		return "[" + strings.Join(items, ",") + "]"
	}
	p := r.URL.Path
	switch {
	case p == "/api/v1/users/register":
		var b struct{ Email, Password string }
		json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.users[b.Email] = b.Password
		f.mu.Unlock()
		fmt.Fprintf(w, `{"data":{"id":"u-%s"},"errors":null}`, b.Email)
	case p == "/api/v1/users/login" || p == "/api/v1/users/refresh":
		fmt.Fprint(w, `{"data":{"id":"11111111-1111-4111-8111-111111111111","token":"t","refreshToken":{"token":"r","expiryDate":"2030-01-01T00:00:00Z"}},"errors":null}`)
	case p == "/api/v1/meal-plans" && r.Method == http.MethodPost:
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"data":{"id":"22222222-2222-4222-8222-222222222222"},"errors":null}`)
	case p == "/api/v1/recipes" || p == "/api/v1/meal-plans" || p == "/api/v1/recipes/recent":
		fmt.Fprintf(w, `{"data":%s,"offset":0,"limit":20,"totalElements":3,"hasNext":false}`, list())
	case p == "/api/v1/recipes/saved":
		fmt.Fprint(w, `{"data":[],"offset":0,"limit":20,"totalElements":0,"hasNext":false}`)
	case p == "/api/v1/recipes/recommended" || p == "/api/v1/recipes/today-picks" || p == "/api/v1/recipes/generate-recipes":
		fmt.Fprintf(w, `{"data":%s,"errors":null}`, list())
	case p == "/api/v1/recipes/save" && r.Method == http.MethodDelete,
		strings.HasPrefix(p, "/api/v1/meal-plans/") && r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		fmt.Fprint(w, `{"data":{"id":"33333333-3333-4333-8333-333333333333"},"errors":null}`)
	}
}
