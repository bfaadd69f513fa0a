package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
)

func TestRegisterShapeAndNeverAdmin(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		r := e.expect(e.do("POST", "/api/v1/users/register", "", map[string]any{
			"email": "Ada@Example.com", "password": "analytical1", "name": "Ada", "role": "ADMIN",
		}), 200)
		// Key order and nulls as the old server's UserReadDto.
		var ordered struct {
			Data   json.RawMessage `json:"data"`
			Errors any             `json:"errors"`
		}
		json.Unmarshal(r.raw, &ordered)
		if ordered.Errors != nil || !strings.Contains(string(r.raw), `"errors":null`) {
			t.Fatalf("errors must be null on success: %s", r.raw)
		}
		keys := objectKeys(t, ordered.Data)
		want := []string{"id", "email", "name", "role", "status", "userPreference", "refreshToken"}
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		d := r.data()
		if d["role"] != "USER" || d["status"] != "ACTIVE" || d["refreshToken"] != nil {
			t.Fatalf("registered user: %s", r.raw)
		}
		pref := d["userPreference"].(map[string]any)
		for _, k := range []string{"dietaryRestrictions", "favoriteCuisines", "dislikedIngredients"} {
			if l, ok := pref[k].([]any); !ok || len(l) != 0 {
				t.Fatalf("%s = %v, want []", k, pref[k])
			}
		}
		// Same address, other case: taken.
		dup := e.expect(e.do("POST", "/api/v1/users/register", "", map[string]any{
			"email": "ada@EXAMPLE.com", "password": "analytical1", "name": "Ada2",
		}), 400)
		if got := dup.errors(); !slices.Equal(got, []string{"Bad Request: Email already exists"}) {
			t.Fatalf("duplicate: %v", got)
		}
	})
}

func objectKeys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.Token() // {
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return keys
}

func TestRegisterValidation(t *testing.T) {
	e := sqliteEnv(t)
	cases := []struct {
		name   string
		body   any
		status int
		errors []string
	}{
		{"all fields wrong at once", map[string]any{"email": "nope", "password": "short", "name": ""}, 400, []string{
			"email: Email must be valid",
			"password: Password must be at least 10 characters",
			"password: Password must contain at least one letter and one number",
			"name: Name is required",
		}},
		{"password without digit", map[string]any{"email": "a@b.io", "password": "abcdefghijkl", "name": "A"}, 400,
			[]string{"password: Password must contain at least one letter and one number"}},
		{"name too long", map[string]any{"email": "a@b.io", "password": "abcdefghij1", "name": strings.Repeat("n", 101)}, 400,
			[]string{"name: Name cannot exceed 100 characters"}},
		{"email with display name", map[string]any{"email": "Ada <a@b.io>", "password": "abcdefghij1", "name": "A"}, 400,
			[]string{"email: Email must be valid"}},
		{"malformed JSON", `{"email": "a@b.io",`, 400, []string{"body: Request body is not complete JSON"}},
		{"syntax error", `{"email" "a@b.io"}`, 400, []string{"body: Malformed JSON at byte 10"}},
		{"wrong type", `{"email": 42, "password": "abcdefghij1", "name": "A"}`, 400, []string{"email: Must be a string"}},
		{"array body", `[1,2]`, 400, []string{"body: Request body must be a JSON object"}},
		{"empty body", ``, 400, []string{"body: Request body is required"}},
		{"two values", `{"email":"a@b.io"} {}`, 400, []string{"body: Request body must hold a single JSON value"}},
		{"oversized", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 413, []string{"body: Request body exceeds 1048576 bytes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.expect(e.do("POST", "/api/v1/users/register", "", c.body), c.status)
			if got := r.errors(); !slices.Equal(got, c.errors) {
				t.Fatalf("errors %q, want %q", got, c.errors)
			}
			if r.body["data"] != nil {
				t.Fatalf("data must be null on error: %s", r.raw)
			}
		})
	}
	users, _ := e.db.ListUsers(context.Background(), mealsyncFilter())
	if len(users) != 0 {
		t.Fatalf("a rejected registration was stored: %d users", len(users))
	}
	r := e.expect(e.do("POST", "/api/v1/users/register", "", `{}`, "Content-Type", "text/plain"), 415)
	if got := r.errors(); len(got) != 1 || !strings.HasPrefix(got[0], "Content-Type:") {
		t.Fatalf("415 errors: %v", got)
	}
}

func TestLoginShapeAndFailures(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		e.register("bo@example.com")
		r := e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": "BO@example.com", "password": "correct horse 1"}), 200)
		var wire struct{ Data json.RawMessage }
		json.Unmarshal(r.raw, &wire)
		want := []string{"id", "email", "name", "role", "status", "userPreference", "token", "refreshToken"}
		if got := objectKeys(t, wire.Data); !reflect.DeepEqual(got, want) {
			t.Fatalf("keys %v, want %v", got, want)
		}
		rt := r.data()["refreshToken"].(map[string]any)
		exp, err := time.Parse(time.RFC3339Nano, rt["expiryDate"].(string))
		if err != nil || !strings.HasSuffix(rt["expiryDate"].(string), "Z") {
			t.Fatalf("expiryDate %v: %v", rt["expiryDate"], err)
		}
		if d := exp.Sub(e.clock.now()); d != 7*24*time.Hour {
			t.Fatalf("refresh token lives %v, want 7 days", d)
		}
		// The refresh token never appears in user objects.
		s := session{id: r.data()["id"].(string), token: r.data()["token"].(string)}
		u := e.expect(e.do("GET", "/api/v1/users/"+s.id, s.token, nil), 200)
		if u.data()["refreshToken"] != nil || strings.Contains(string(u.raw), rt["token"].(string)) {
			t.Fatalf("user object leaks the refresh token: %s", u.raw)
		}

		bad := e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": "bo@example.com", "password": "wrong pass 1"}), 401)
		if got := bad.errors(); !slices.Equal(got, []string{"Unauthorized: Invalid email or password"}) {
			t.Fatalf("bad password: %v", got)
		}
		if bad.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
		unknown := e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": "nobody@example.com", "password": "wrong pass 1"}), 401)
		if !slices.Equal(unknown.errors(), bad.errors()) {
			t.Fatal("unknown email and wrong password must look the same")
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	e := sqliteEnv(t)
	e.register("cy@example.com")
	wrong := map[string]any{"email": "cy@example.com", "password": "wrong pass 1"}
	for i := 0; i < 5; i++ {
		e.expect(e.do("POST", "/api/v1/users/login", "", wrong), 401)
		e.clock.advance(time.Minute)
	}
	// The right password is refused too while throttled.
	r := e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": "cy@example.com", "password": "correct horse 1"}), 429)
	// The first failure was 5 minutes ago: free again in 10.
	if got := r.header.Get("Retry-After"); got != "600" {
		t.Fatalf("Retry-After %q, want 600", got)
	}
	if len(r.errors()) != 1 {
		t.Fatalf("429 body: %s", r.raw)
	}
	e.clock.advance(10*time.Minute + time.Second)
	e.login("cy@example.com")
}

func TestRefreshRotationAndReuse(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := e.newUser("di@example.com")
		r1 := e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": s.refresh}), 200)
		next := r1.data()["refreshToken"].(map[string]any)["token"].(string)
		if next == s.refresh || r1.data()["token"] == "" {
			t.Fatal("refresh did not rotate")
		}
		e.expect(e.do("GET", "/api/v1/users/"+s.id, r1.data()["token"].(string), nil), 200)
		// Reusing the rotated token revokes the family: the new one dies too.
		reuse := e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": s.refresh}), 400)
		if got := reuse.errors(); !slices.Equal(got, []string{"Bad Request: Refresh token has been revoked"}) {
			t.Fatalf("reuse: %v", got)
		}
		e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": next}), 400)
		unknown := e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": "not-a-token"}), 400)
		if got := unknown.errors(); !slices.Equal(got, []string{"Bad Request: Refresh token is not valid"}) {
			t.Fatalf("unknown: %v", got)
		}
		missing := e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{}), 400)
		if got := missing.errors(); !slices.Equal(got, []string{"refreshToken: Refresh token is required"}) {
			t.Fatalf("missing: %v", got)
		}
	})
}

func TestSelfOrAdminRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		alice := e.newUser("alice@example.com")
		bob := e.newUser("bob@example.com")
		admin := e.newAdmin("root@example.com")
		missing := "3fa85f64-5717-4562-b3fc-2c963f66afa6"

		cases := []struct {
			method, path string
			who          session
			body         any
			status       int
		}{
			{"GET", "/api/v1/users/" + alice.id, alice, nil, 200},
			{"GET", "/api/v1/users/" + bob.id, alice, nil, 403},
			{"GET", "/api/v1/users/" + missing, alice, nil, 403}, // the rule runs before the lookup
			{"GET", "/api/v1/users/" + bob.id, admin, nil, 200},
			{"GET", "/api/v1/users/" + missing, admin, nil, 404},
			{"GET", "/api/v1/users/not-a-uuid", admin, nil, 400},
			{"PUT", "/api/v1/users/" + bob.id, alice, map[string]any{"name": "Mallory"}, 403},
			{"PUT", "/api/v1/users/" + bob.id + "/preference", alice, map[string]any{"favoriteCuisines": []string{"x"}}, 403},
			{"GET", "/api/v1/users", alice, nil, 403},
			{"GET", "/api/v1/users", admin, nil, 200},
			{"DELETE", "/api/v1/users/" + bob.id, alice, nil, 403},
			{"DELETE", "/api/v1/users/" + missing, admin, nil, 404},
		}
		for _, c := range cases {
			r := e.do(c.method, c.path, c.who.token, c.body)
			if r.status != c.status || len(r.errors()) == 0 && c.status >= 400 {
				t.Errorf("%s %s as %s: %d %s, want %d", c.method, c.path, c.who.email, r.status, r.raw, c.status)
			}
		}
		bobNow := e.expect(e.do("GET", "/api/v1/users/"+bob.id, bob.token, nil), 200)
		if bobNow.data()["name"] != "Test bob@example.com" {
			t.Fatalf("a forbidden update changed bob: %s", bobNow.raw)
		}
		e.expect(e.do("DELETE", "/api/v1/users/"+bob.id, admin.token, nil), 204)
		// A deleted user's token stops working at once.
		e.expect(e.do("GET", "/api/v1/users/"+bob.id, bob.token, nil), 401)
	})
}

func TestListUsersFilters(t *testing.T) {
	e := sqliteEnv(t)
	admin := e.newAdmin("root@example.com")
	e.register("u1@example.com")
	e.register("u2@example.com")
	count := func(q string) int {
		r := e.expect(e.do("GET", "/api/v1/users"+q, admin.token, nil), 200)
		return len(r.body["data"].([]any))
	}
	if n := count(""); n != 3 {
		t.Fatalf("all: %d", n)
	}
	if n := count("?role=USER"); n != 2 {
		t.Fatalf("role=USER: %d", n)
	}
	if n := count("?role=ADMIN&status=ACTIVE"); n != 1 {
		t.Fatalf("ADMIN ACTIVE: %d", n)
	}
	if n := count("?status=BANNED"); n != 0 {
		t.Fatalf("BANNED: %d", n)
	}
	r := e.expect(e.do("GET", "/api/v1/users?role=ROOT&status=x", admin.token, nil), 400)
	if got := r.errors(); !slices.Equal(got, []string{"role: Must be USER or ADMIN", "status: Must be ACTIVE, INACTIVE or BANNED"}) {
		t.Fatalf("bad filters: %v", got)
	}
}

func TestUpdateUserAndPassword(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := e.newUser("eve@example.com")
		other := e.login("eve@example.com") // a second device
		path := "/api/v1/users/" + s.id
		// Changing one's own password takes the current one.
		r := e.expect(e.do("PUT", path, s.token, map[string]any{"name": "Eve", "password": "new password 2"}), 400)
		if got := r.errors(); !slices.Equal(got, []string{"currentPassword: Current password is required to change the password"}) {
			t.Fatalf("without the current password: %v", got)
		}
		r = e.expect(e.do("PUT", path, s.token, map[string]any{"name": "Eve", "password": "new password 2", "currentPassword": "wrong guess 12"}), 400)
		if got := r.errors(); !slices.Equal(got, []string{"currentPassword: Current password is incorrect"}) {
			t.Fatalf("with a wrong current password: %v", got)
		}
		e.expect(e.do("GET", path, s.token, nil), 200) // refused changes end nothing

		r = e.expect(e.do("PUT", path, s.token, map[string]any{"name": "  Eve  ", "password": "new password 2",
			"currentPassword": "correct horse 1"}), 200)
		if r.data()["name"] != "Eve" {
			t.Fatalf("name: %v", r.data()["name"])
		}
		// A password change ends every session at once: access tokens on
		// every device, and the refresh tokens.
		for _, tok := range []string{s.token, other.token} {
			e.expect(e.do("GET", path, tok, nil), 401)
		}
		e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": s.refresh}), 400)
		e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": s.email, "password": "correct horse 1"}), 401)
		d := e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": s.email, "password": "new password 2"}), 200).data()
		s.token = d["token"].(string)

		bad := e.expect(e.do("PUT", path, s.token, map[string]any{"name": "", "password": "short"}), 400)
		if len(bad.errors()) != 3 {
			t.Fatalf("want every problem at once: %v", bad.errors())
		}
		after := e.expect(e.do("GET", path, s.token, nil), 200)
		if after.data()["name"] != "Eve" {
			t.Fatal("a rejected update changed the user")
		}
		// A name change alone ends no session.
		e.expect(e.do("PUT", path, s.token, map[string]any{"name": "Eve B"}), 200)
		e.expect(e.do("GET", path, s.token, nil), 200)

		// An admin resets another user's password without knowing it.
		admin := e.newAdmin("root@example.com")
		e.expect(e.do("PUT", path, admin.token, map[string]any{"name": "Eve", "password": "reset password 3"}), 200)
		e.expect(e.do("GET", path, s.token, nil), 401)
		e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": s.email, "password": "reset password 3"}), 200)
	})
}

func TestLogoutEverywhere(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana, bob := e.newUser("ana@example.com"), e.newUser("bob@example.com")
		anaLaptop := e.login("ana@example.com")
		admin := e.newAdmin("root@example.com")

		// Another user may not sign Ana out; an unknown id is not probed.
		e.expect(e.do("POST", "/api/v1/users/"+ana.id+"/logout-all", bob.token, nil), 403)
		e.expect(e.do("POST", "/api/v1/users/not-a-uuid/logout-all", bob.token, nil), 400)
		e.expect(e.do("POST", "/api/v1/users/"+ana.id+"/logout-all", "", nil), 401)
		e.expect(e.do("GET", "/api/v1/users/"+ana.id, ana.token, nil), 200)

		e.expect(e.do("POST", "/api/v1/users/"+ana.id+"/logout-all", ana.token, nil), 204)
		for _, s := range []session{ana, anaLaptop} {
			e.expect(e.do("GET", "/api/v1/users/"+ana.id, s.token, nil), 401)
			e.expect(e.do("POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": s.refresh}), 400)
		}
		e.expect(e.do("GET", "/api/v1/users/"+bob.id, bob.token, nil), 200) // nobody else

		// An admin signs Bob out; an unknown user is 404 for an admin.
		e.expect(e.do("POST", "/api/v1/users/"+bob.id+"/logout-all", admin.token, nil), 204)
		e.expect(e.do("GET", "/api/v1/users/"+bob.id, bob.token, nil), 401)
		e.expect(e.do("POST", "/api/v1/users/"+uuid.NewString()+"/logout-all", admin.token, nil), 404)
		e.expect(e.do("GET", "/api/v1/users/"+admin.id, admin.token, nil), 200)
	})
}

func TestAdminSetsRoleAndStatus(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ana := e.newUser("ana@example.com")
		admin := e.newAdmin("root@example.com")
		for _, c := range []struct{ path, field, value string }{
			{"/role", "role", "ADMIN"}, {"/status", "status", "BANNED"},
		} {
			path := "/api/v1/users/" + ana.id + c.path
			e.expect(e.do("PUT", path, ana.token, map[string]any{c.field: c.value}), 403) // not an admin
			r := e.expect(e.do("PUT", path, admin.token, map[string]any{c.field: "ROOT"}), 400)
			if len(r.errors()) != 1 || !strings.HasPrefix(r.errors()[0], c.field+": Must be") {
				t.Fatalf("bad %s: %v", c.field, r.errors())
			}
			e.expect(e.do("PUT", "/api/v1/users/"+admin.id+c.path, admin.token, map[string]any{c.field: c.value}), 403)
			e.expect(e.do("PUT", "/api/v1/users/"+uuid.NewString()+c.path, admin.token, map[string]any{c.field: c.value}), 404)
			e.expect(e.do("GET", "/api/v1/users/"+ana.id, ana.token, nil), 200)
			r = e.expect(e.do("PUT", path, admin.token, map[string]any{c.field: c.value}), 200)
			if r.data()[c.field] != c.value {
				t.Fatalf("%s = %v, want %s", c.field, r.data()[c.field], c.value)
			}
			// The change ends the user's sessions at once.
			e.expect(e.do("GET", "/api/v1/users/"+ana.id, ana.token, nil), 401)
			if c.field == "role" {
				ana = e.login("ana@example.com")
				e.expect(e.do("GET", "/api/v1/users", ana.token, nil), 200) // now an admin
			}
		}
		// Banned: no new session either.
		e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": "ana@example.com", "password": "correct horse 1"}), 403)
	})
}

// Requests changing different fields of one user at the same moment — an
// admin's ban, the user's name, a preference list — all take effect: no
// request writes back what it read before another wrote.
func TestConcurrentUserChangesAllSurvive(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newAdmin("root@example.com")
		for round := range 4 {
			email := fmt.Sprintf("u%d@example.com", round)
			u := e.newUser(email)
			name := fmt.Sprintf("Name %d", round)
			reqs := []struct {
				path, token string
				body        map[string]any
			}{
				{"/status", admin.token, map[string]any{"status": "BANNED"}},
				{"", u.token, map[string]any{"name": name}},
				{"/preference", u.token, map[string]any{"favoriteCuisines": []string{"Thai"}}},
				{"/preference", u.token, map[string]any{"dislikedIngredients": []string{"olives"}}},
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, r := range reqs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					// The user's own requests may lose the race to the ban
					// (then 401/403); the ones that answer 200 must stick.
					e.do("PUT", "/api/v1/users/"+u.id+r.path, r.token, r.body)
				}()
			}
			close(start)
			wg.Wait()
			got, err := e.db.UserByID(context.Background(), u.id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != mealsync.StatusBanned {
				t.Fatalf("round %d: status %s, want the ban to survive the user's own updates", round, got.Status)
			}
		}
	})
}
func TestPreferences(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := e.newUser("fay@example.com")
		path := "/api/v1/users/" + s.id + "/preference"
		r := e.expect(e.do("PUT", path, s.token, map[string]any{
			"dietaryRestrictions": []string{"vegetarian", " gluten-free "},
			"favoriteCuisines":    "Italian, Thai,,",
			"dislikedIngredients": []string{"cilantro"},
		}), 200)
		pref := r.data()["userPreference"].(map[string]any)
		if fmt.Sprint(pref["dietaryRestrictions"]) != "[vegetarian gluten-free]" || fmt.Sprint(pref["favoriteCuisines"]) != "[Italian Thai]" {
			t.Fatalf("preferences: %v", pref)
		}
		// A missing list is kept; an empty list clears.
		r = e.expect(e.do("PUT", path, s.token, map[string]any{"dislikedIngredients": []string{}}), 200)
		pref = r.data()["userPreference"].(map[string]any)
		if fmt.Sprint(pref["favoriteCuisines"]) != "[Italian Thai]" || fmt.Sprint(pref["dislikedIngredients"]) != "[]" {
			t.Fatalf("partial update: %v", pref)
		}
		// Stored, not just echoed.
		got := e.expect(e.do("GET", "/api/v1/users/"+s.id, s.token, nil), 200)
		if fmt.Sprint(got.data()["userPreference"]) != fmt.Sprint(pref) {
			t.Fatalf("stored %v, answered %v", got.data()["userPreference"], pref)
		}
		bad := e.expect(e.do("PUT", path, s.token, map[string]any{"favoriteCuisines": 7}), 400)
		if got := bad.errors(); !slices.Equal(got, []string{"favoriteCuisines: Must be an array or comma-separated string"}) {
			t.Fatalf("wrong type: %v", got)
		}
		e.expect(e.do("PUT", path, s.token, map[string]any{}), 400)
		long := make([]string, 51)
		for i := range long {
			long[i] = "x"
		}
		e.expect(e.do("PUT", path, s.token, map[string]any{"favoriteCuisines": long}), 400)
	})
}

// The released mobile app names the favourite cuisines preferredCuisines
// (docs/API.md, "What the released mobile client calls"): the list is
// stored under either name, favoriteCuisines winning when both come, and
// checked as strictly under the name the client used.
func TestPreferencesTakeTheMobileAppsCuisineName(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		s := e.newUser("gil@example.com")
		path := "/api/v1/users/" + s.id + "/preference"
		cuisines := func(r response) string {
			return fmt.Sprint(e.expect(r, 200).data()["userPreference"].(map[string]any)["favoriteCuisines"])
		}
		if got := cuisines(e.do("PUT", path, s.token, map[string]any{"preferredCuisines": []string{"Thai", "Mexican"}})); got != "[Thai Mexican]" {
			t.Fatalf("preferredCuisines alone: favoriteCuisines %s", got)
		}
		if got := cuisines(e.do("PUT", path, s.token, map[string]any{"favoriteCuisines": "Korean", "preferredCuisines": []string{"French"}})); got != "[Korean]" {
			t.Fatalf("both names: favoriteCuisines %s, want the canonical name's list", got)
		}
		long := make([]string, 51)
		for i := range long {
			long[i] = "x"
		}
		r := e.expect(e.do("PUT", path, s.token, map[string]any{"preferredCuisines": long}), 400)
		if got := r.errors(); !slices.Equal(got, []string{"preferredCuisines: At most 50 entries"}) {
			t.Fatalf("too long under the app's name: %v", got)
		}
		// allergies, notifications and id are the app's and mean nothing here.
		r = e.expect(e.do("PUT", path, s.token, map[string]any{"allergies": []string{"Peanuts"}, "id": s.id}), 400)
		if got := r.errors(); !slices.Equal(got, []string{"body: Give at least one of dietaryRestrictions, favoriteCuisines, dislikedIngredients"}) {
			t.Fatalf("no list the server knows: %v", got)
		}
		if got := cuisines(e.do("GET", "/api/v1/users/"+s.id, s.token, nil)); got != "[Korean]" {
			t.Fatalf("stored favoriteCuisines %s", got)
		}
	})
}
