package api_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// fuzzRoutes are the shapes of the API's paths; the fuzzer picks one and
// fills its id with its own bytes, or sends its own path outright.
var fuzzRoutes = []string{
	"/api/v1/recipes", "/api/v1/recipes/{id}", "/api/v1/recipes/save", "/api/v1/recipes/saved",
	"/api/v1/recipes/recent", "/api/v1/recipes/recommended", "/api/v1/recipes/today-picks",
	"/api/v1/recipes/generate-recipes", "/api/v1/recipes/validate-ingredients", "/api/v1/recipes/{id}/image", "/api/v1/recipes/{id}/publish",
	"/api/v1/users", "/api/v1/users/register", "/api/v1/users/login", "/api/v1/users/refresh",
	"/api/v1/users/{id}", "/api/v1/users/{id}/preference", "/api/v1/users/{id}/logout-all",
	"/api/v1/users/{id}/role", "/api/v1/users/{id}/status",
	"/api/v1/meal-plans", "/api/v1/meal-plans/{id}", "/api/v1/meal-plans/{id}/shopping-list", "/images/{id}",
}

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH"}

// FuzzRouter drives the real router on PostgreSQL — the store that refuses
// what SQLite lets through — with arbitrary routes, ids, query strings,
// bodies and content types, as an anonymous caller, a user and an admin.
// Whatever arrives, the answer is never 5xx. `go test` runs the seeds (the
// audit's findings among them); `go test -fuzz FuzzRouter ./internal/api`
// searches further.
func FuzzRouter(f *testing.F) {
	seeds := []struct {
		route, method uint8
		id, query     string
		body          string
		json          bool
		caller        uint8
	}{
		{0, 0, "", "name=%00", "", false, 0},
		{0, 0, "", "cuisines=%00&tags=%00&ingredients=%00", "", false, 0},
		{0, 0, "", "name=%ff%fe", "", false, 0},
		{0, 0, "", "cuisines=%C0%80", "", false, 0},
		{0, 0, "", "maxTotalTime=99999999999999999999&offset=-1", "", false, 1},
		{0, 1, "", "", `{"name":"a\u0000","cuisine":"x","description":"d","ingredients":[{"name":"n","quantity":"1"}],"instructions":["s"],"difficulty":"EASY"}`, true, 1},
		{1, 2, "", "", `{"name":"a","cuisine":"x\u0000","description":"d","ingredients":[{"name":"n","quantity":"1"}],"instructions":["s"],"difficulty":"EASY"}`, true, 2},
		{19, 1, "", "", `{"startDate":"0000-01-01","numberOfDays":1,"mealsPerDay":1}`, true, 1},
		{19, 1, "", "", `{"startDate":"9999-12-31","numberOfDays":28,"mealsPerDay":3}`, true, 1},
		{1, 0, "%00", "", "", false, 1},
		{14, 0, "not-a-uuid", "", "", false, 2},
		{15, 2, "", "", `{"favoriteCuisines":["\u0000"]}`, true, 1},
		{11, 1, "", "", `{"email":"a\u0000@b.io","password":"abcdefghij1","name":"A"}`, true, 0},
		{12, 1, "", "", `{"email":"a@b.io","password":"\u0000"}`, true, 0},
		{7, 1, "", "", `{"ingredients":["\u0000"],"userPreference":{"dietaryRestrictions":"\u0000"}}`, true, 1},
		{2, 1, "", "", `{"userId":"\u0000","recipeId":"\u0000"}`, true, 1},
		{0, 0, "", "%zz", "", false, 0},
		{0, 1, "", "", strings.Repeat("[", 10000), true, 1},
		{17, 2, "", "", `{"role":"ADMIN\u0000"}`, true, 2},
		{22, 0, "..%2f..%2fetc%2fpasswd", "", "", false, 0},
	}
	for _, s := range seeds {
		f.Add(s.route, s.method, s.id, s.query, []byte(s.body), s.json, s.caller)
	}
	e := newEnv(f, testdb.Postgres(f))
	user, admin := e.newUser("fuzz@example.com"), e.newAdmin("fuzz-admin@example.com")
	client := &http.Client{Timeout: 20 * time.Second, Transport: e.srv.Client().Transport}
	f.Fuzz(func(t *testing.T, route, method uint8, id, query string, body []byte, json bool, caller uint8) {
		path := strings.ReplaceAll(fuzzRoutes[int(route)%len(fuzzRoutes)], "{id}", id)
		target := path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], e.srv.URL+target, strings.NewReader(string(body)))
		if err != nil {
			return // not a request a client can send
		}
		if json {
			req.Header.Set("Content-Type", "application/json")
		}
		switch caller % 3 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+user.token)
		case 2:
			req.Header.Set("Authorization", "Bearer "+admin.token)
		}
		resp, err := client.Do(req)
		if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
			t.Fatalf("%s %s (json %v, caller %d, body %q): no answer within %s", req.Method, target, json, caller%3, truncate(body), client.Timeout)
		}
		if err != nil {
			return // refused by the client library or the server's framing
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s (json %v, caller %d, body %q): %d", req.Method, target, json, caller%3, truncate(body), resp.StatusCode)
		}
	})
}
