package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The hostile sweep: every endpoint routes.go registers gets inputs no
// client should send — NUL bytes, invalid UTF-8, far dates, huge and
// negative numbers, wrong types, deep JSON, bodies over the limit, wrong
// content types, path tricks, forged and malformed tokens, malformed,
// huge, repeated and reused Idempotency-Keys — on SQLite and on
// PostgreSQL. Not one may answer 5xx.

// routePattern matches the "METHOD /path" patterns in routes.go.
var routePattern = regexp.MustCompile(`"(GET|POST|PUT|DELETE|PATCH) (/[^" ]*)"`)

// registeredRoutes reads every pattern routes.go registers, so that an
// endpoint added there is swept without anyone remembering to add it here.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1]+" "+m[2])
	}
	if len(routes) < 25 {
		t.Fatalf("found %d routes in routes.go; the pattern no longer matches how routes are registered", len(routes))
	}
	return routes
}

// sweepFixture holds the objects the routes' path parameters name.
type sweepFixture struct {
	user, admin session
	recipeID    string
	planID      string
	imageKey    string
	householdID string // the user's, with one item
	itemID      string
}

func newSweepFixture(e *env, n int) *sweepFixture {
	e.t.Helper()
	f := &sweepFixture{user: e.newUser(fmt.Sprintf("sweep%d@example.com", n)), admin: e.newAdmin(fmt.Sprintf("sweep-admin%d@example.com", n))}
	r := e.expect(e.do("POST", "/api/v1/recipes", f.admin.token, validRecipeBody()), 201)
	f.recipeID = r.data()["id"].(string)
	for _, name := range []string{"Sweep stew", "Sweep salad", "Sweep bread"} { // enough for a plan
		e.expect(e.do("POST", "/api/v1/recipes", f.admin.token, with(validRecipeBody(), []any{"name"}, name)), 201)
	}
	p := e.expect(e.do("POST", "/api/v1/meal-plans", f.user.token, map[string]any{
		"startDate": "2026-03-02", "numberOfDays": 2, "mealsPerDay": 2}), 201)
	f.planID = p.data()["id"].(string)
	img := e.doMultipart("POST", "/api/v1/recipes/"+f.recipeID+"/image", f.admin.token, "image", "dish.png", pngImage(e.t.(*testing.T), 4, 4, color.White))
	e.expect(img, 200)
	u, _ := url.Parse(img.data()["imageUrl"].(string))
	f.imageKey = strings.TrimPrefix(u.Path, "/images/")
	h := e.expect(e.do("POST", "/api/v1/households", f.user.token, map[string]any{"name": "Sweep home"}), 201)
	f.householdID = h.data()["household"].(map[string]any)["id"].(string)
	it := e.expect(e.do("POST", "/api/v1/households/"+f.householdID+"/shopping-list/items", f.user.token, map[string]any{"name": "milk"}), 201)
	f.itemID = it.data()["id"].(string)
	return f
}

func validRecipeBody() map[string]any {
	return map[string]any{
		"name": "Sweep soup", "cuisine": "Test", "description": "A soup for the sweep",
		"ingredients":  []any{map[string]any{"name": "water", "quantity": "1", "unit": "l"}},
		"instructions": []any{"Boil it"}, "difficulty": "EASY", "tags": []any{"soup"},
		"preparationTime": 1, "cookingTime": 2, "servings": 2, "calories": 10.5,
	}
}

// sampleBodies are valid bodies of the routes that take JSON; the sweep
// mutates them one leaf at a time.
func (f *sweepFixture) sampleBodies() map[string]map[string]any {
	save := map[string]any{"userId": f.user.id, "recipeId": f.recipeID}
	ingredients := map[string]any{"ingredients": []any{"tomato", map[string]any{"name": "basil", "quantity": "2", "unit": "g"}}}
	return map[string]map[string]any{
		"POST /api/v1/users/register":               {"email": "new@example.com", "password": "correct horse 1", "name": "New"},
		"POST /api/v1/users/login":                  {"email": f.user.email, "password": "correct horse 1"},
		"POST /api/v1/users/refresh":                {"refreshToken": f.user.refresh},
		"PUT /api/v1/users/{id}":                    {"name": "Renamed", "password": "other horse 2", "currentPassword": "correct horse 1"},
		"PUT /api/v1/users/{id}/preference":         {"dietaryRestrictions": []any{"vegan"}, "favoriteCuisines": "Thai, Korean", "dislikedIngredients": []any{}},
		"PUT /api/v1/users/{id}/role":               {"role": "USER"},
		"PUT /api/v1/users/{id}/status":             {"status": "ACTIVE"},
		"POST /api/v1/recipes":                      validRecipeBody(),
		"PUT /api/v1/recipes/{id}":                  validRecipeBody(),
		"POST /api/v1/recipes/save":                 save,
		"DELETE /api/v1/recipes/save":               save,
		"POST /api/v1/recipes/generate-recipes":     {"ingredients": ingredients["ingredients"], "userPreference": map[string]any{"dietaryRestrictions": "None"}},
		"POST /api/v1/recipes/validate-ingredients": ingredients,
		"POST /api/v1/meal-plans":                   {"startDate": "2026-03-02", "numberOfDays": 3, "mealsPerDay": 2},
		"POST /api/v1/users/{id}/logout-all":        nil,
		"POST /api/v1/recipes/{id}/publish":         nil,
		"POST /api/v1/sync/ticket":                  nil,
		"POST /api/v1/households":                   {"name": "Home"},
		"POST /api/v1/households/join":              {"code": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		"PUT /api/v1/households/{id}":               {"name": "New name", "opId": "op-rename"},
		"POST /api/v1/households/{id}/invites":      nil,
		"POST /api/v1/households/{id}/leave":        nil,
		"PUT /api/v1/households/{id}/owner":         {"userId": f.user.id},
		"POST /api/v1/households/{id}/shopping-list/items": {"name": "oat milk", "quantity": "1", "unit": "l",
			"category": "dairy", "note": "the blue one", "opId": "op-add"},
		"POST /api/v1/recipes/detect-ingredients-from-text":                 {"textInput": "tomato, basil\ngarlic"},
		"PATCH /api/v1/households/{id}/shopping-list/items/{itemId}":        {"name": "oat milk", "checked": true, "opId": "op-edit"},
		"POST /api/v1/households/{id}/shopping-list/items/{itemId}/check":   nil,
		"POST /api/v1/households/{id}/shopping-list/items/{itemId}/uncheck": nil,
		"POST /api/v1/households/{id}/shopping-list/reorder":                {"itemIds": []any{f.itemID}},
		"POST /api/v1/households/{id}/shopping-list/clear-checked":          {"opId": "op-clear"},
		"POST /api/v1/households/{id}/shopping-list/from-meal-plan":         {"mealPlanId": f.planID},
		"POST /api/v1/meal-plans/{id}/meals/{date}/{mealType}/swap":         {"recipeId": f.recipeID},
	}
}

// multipartRoutes take an image upload instead of JSON.
var multipartRoutes = map[string]bool{
	"POST /api/v1/recipes/detect-ingredients":    true,
	"POST /api/v1/ingredient-recognition/detect": true,
	"POST /api/v1/recipes/{id}/image":            true,
}

// adminRoutes need an admin's token to get past authorisation.
var adminRoutes = map[string]bool{
	"GET /api/v1/users": true, "PUT /api/v1/recipes/{id}": true, "DELETE /api/v1/recipes/{id}": true,
	"DELETE /api/v1/users/{id}": true, "POST /api/v1/recipes/{id}/image": true,
	"PUT /api/v1/users/{id}/role": true, "PUT /api/v1/users/{id}/status": true,
	"POST /api/v1/recipes/{id}/publish": true,
	// The user's own token would end its sessions at the first mutation
	// that passes with the password in it; an admin's goes on.
	"PUT /api/v1/users/{id}": true,
}

// fill puts the fixture's ids into a route's path; bad replaces the id.
func (f *sweepFixture) fill(path, bad string) string {
	id := bad
	if id == "" {
		switch {
		case strings.HasPrefix(path, "/api/v1/households/"):
			id = f.householdID
		case strings.HasPrefix(path, "/api/v1/users/"):
			id = f.user.id
		case strings.HasPrefix(path, "/api/v1/recipes/"):
			id = f.recipeID
		case strings.HasPrefix(path, "/api/v1/meal-plans/"):
			id = f.planID
		}
	}
	path = strings.ReplaceAll(path, "{id}", id)
	item, member, date, mealType := f.itemID, f.user.id, "2026-03-02", "DINNER" // a meal of the fixture's plan
	if bad != "" {
		item, member, date, mealType = bad, bad, bad, bad
	}
	path = strings.ReplaceAll(strings.ReplaceAll(path, "{itemId}", item), "{userId}", member)
	path = strings.ReplaceAll(strings.ReplaceAll(path, "{date}", date), "{mealType}", mealType)
	key := f.imageKey
	if bad != "" {
		key = bad
	}
	return strings.ReplaceAll(path, "{key...}", key)
}

// Hostile values. Each is sent percent-encoded where it goes into a URL.
var (
	hostileIDs = []string{
		"%00", "%ff%fe", "%C0%80", "..%2f..%2factuator%2fprometheus", strings.Repeat("a", 4000),
		"00000000-0000-0000-0000-000000000000", "3FA85F64-5717-4562-B3FC-2C963F66AFA6", "%203fa85f64-5717-4562-b3fc-2c963f66afa6",
		"3fa85f64-5717-4562-b3fc-2c963f66afa6%00", "-1", "99999999999999999999",
	}
	hostileQueries = []string{
		"name=%00", "name=a%00b", "cuisines=%00", "tags=%00", "ingredients=%00", "difficulty=%00",
		"name=%ff%fe", "cuisines=%C0%80", "tags=%ed%a0%80", "ingredients=%ff", "difficulty=%ff",
		"name=" + strings.Repeat("x", 10000), "cuisines=" + strings.Repeat("a,", 5000),
		"maxTotalTime=99999999999999999999999", "minServings=-1", "maxTotalTime=1e309", "minServings=NaN",
		"offset=9223372036854775807", "offset=-1", "limit=1000000000", "limit=0", "offset=1.5",
		"%zz=1", "a=%", "role=%00", "status=%ff", "recipeIds=%00", "userId=%00",
		"name=%27%3B%20DROP%20TABLE%20recipes%3B--", "name=%25%5F%5C",
		"query=%00", "query=%ff", "query=" + strings.Repeat("q", 10000), "query=%25%5F%5C",
	}
	hostileStrings = []string{
		"a\x00b", "\x00", strings.Repeat("é", 3000), "\u202e\u200b", "%00", "' OR 1=1 --",
		"0000-01-01", "-0001-01-01", "9999-12-31", "275760-09-13", "2026-02-30", "1899-12-31", "0001-01-01",
	}
	hostileLeaves = []any{
		nil, true, 0, -1, 1e308, -1e308, 99999999999999999999.0, 9007199254740993, 2147483648, -2147483649,
		[]any{}, map[string]any{}, []any{nil}, []any{"\x00"}, map[string]any{"\x00": "\x00"},
	}
	hostileRawBodies = []string{
		"", "null", "[]", `"str"`, "0", "{", `{"a":`, "\xff\xfe", `{"name":"\xff\xfe\x00"}`,
		`{"email":"a\u0000@example.com"}`, `{"x":1e400}`, `{"x":-1e400}`, `{"x":123456789012345678901234567890}`,
		strings.Repeat("[", 100000), strings.Repeat(`{"a":`, 50000), `{"a":1}{"b":2}`,
		`{"name":"` + strings.Repeat("x", 2<<20) + `"}`,
	}
	// hostileKeys are Idempotency-Key headers, one value per header line.
	// "sweep" is sent with every route's valid request: a replay, then a
	// key reused for other requests.
	hostileKeys = [][]string{
		{""}, {" "}, {`"`}, {`""`}, {`"open`}, {`"a"b"`}, {`"a\b"`}, {`"\"`}, {"é"}, {"%00"},
		{"\t"}, {"' OR 1=1 --"}, {"\u202e"}, {strings.Repeat("k", 256)}, {strings.Repeat("k", 60000)},
		{"a", "b"}, {"sweep", "sweep"}, {"sweep"}, {`"sweep"`},
	}
	hostileContentTypes = []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", `application/json; charset="`, "application/xml", "text/json"}
)

// mutations returns a body with each leaf of body replaced, one at a time,
// by each hostile string and value.
func mutations(body map[string]any) []map[string]any {
	var out []map[string]any
	var walk func(path []any)
	leaves := [][]any{}
	walk = func(path []any) {
		v := get(body, path)
		switch c := v.(type) {
		case map[string]any:
			for k := range c {
				walk(append(append([]any{}, path...), k))
			}
		case []any:
			for i := range c {
				walk(append(append([]any{}, path...), i))
			}
		}
		if len(path) > 0 {
			leaves = append(leaves, path)
		}
	}
	walk(nil)
	for _, leaf := range leaves {
		for _, s := range hostileStrings {
			out = append(out, with(body, leaf, s))
		}
		for _, v := range hostileLeaves {
			out = append(out, with(body, leaf, v))
		}
	}
	// And unknown and duplicated fields with hostile content.
	out = append(out, with(body, []any{"\x00"}, "\x00"), with(body, []any{"role"}, "ADMIN"))
	return out
}

func get(v any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

// with returns a deep copy of body with the value at path set to v.
func with(body map[string]any, path []any, v any) map[string]any {
	b, _ := json.Marshal(body)
	var cp map[string]any
	json.Unmarshal(b, &cp)
	parent := get(cp, path[:len(path)-1])
	switch k := path[len(path)-1].(type) {
	case string:
		parent.(map[string]any)[k] = v
	case int:
		parent.([]any)[k] = v
	}
	return cp
}

// doMultipart sends one file part.
func (e *env) doMultipart(method, path, token, part, filename string, content []byte) response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile(part, filename)
	w.Write(content)
	mw.Close()
	return e.do(method, path, token, buf.Bytes(), "Content-Type", mw.FormDataContentType())
}

// signedToken is a token signed with the server's own key: what a holder of
// a leaked key, or a bug elsewhere, could present.
func signedToken(sub any, extra map[string]any) string {
	now := time.Now()
	claims := jwt.MapClaims{"iss": "mealsync", "aud": []string{"mealsync-api"}, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}
	for k, v := range extra {
		claims[k] = v
	}
	s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSecret))
	return s
}

// featureOff is the one 5xx the sweep accepts: ingredient detection with
// the offline provider answers 503 whatever the input, because the
// feature needs an AI provider the server was not given.
func featureOff(route string, r response) bool {
	return strings.Contains(route, "detect") && r.status == http.StatusServiceUnavailable &&
		strings.Contains(string(r.raw), "needs the openai provider")
}

func TestHostileSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("the sweep sends tens of thousands of requests")
	}
	routes := registeredRoutes(t)
	forEachStore(t, func(t *testing.T, e *env) {
		var sent, fivexx, off int
		check := func(route, what string, r response) {
			t.Helper()
			sent++
			if r.status >= 500 {
				if featureOff(route, r) {
					off++
					return
				}
				fivexx++
				if fivexx <= 20 {
					t.Errorf("%s, %s: %d %s", route, what, r.status, truncate(r.raw))
				}
			}
		}
		for n, route := range routes {
			// Each route gets objects of its own: one route's deletes and
			// session ends do not blunt the next one's sweep, and the login
			// throttle the last one tripped has forgotten it.
			e.clock.advance(time.Hour)
			f := newSweepFixture(e, n)
			tokens := map[string]string{
				"user": f.user.token, "admin": f.admin.token, "none": "",
				"non-UUID subject": signedToken("ana@example.com", nil),
				"numeric subject":  signedToken(42, nil),
				"subject with NUL": signedToken(f.user.id+"\x00", nil),
				"huge epoch":       signedToken(f.user.id, map[string]any{"sep": 1e300}),
				"negative epoch":   signedToken(f.user.id, map[string]any{"sep": -5}),
				"fractional epoch": signedToken(f.admin.id, map[string]any{"sep": 0.5}),
				"kid with NUL":     signedToken(f.user.id, map[string]any{"kid": "\x00"}),
				"garbage":          "%00%ff",
				"long":             strings.Repeat("A", 8000),
				"alg none":         "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
			}
			method, path, _ := strings.Cut(route, " ")
			body, hasBody := f.sampleBodies()[route]
			if (method == "POST" || method == "PUT" || method == "PATCH") && !hasBody && !multipartRoutes[route] {
				t.Fatalf("%s takes a body: add a valid sample to sampleBodies so the sweep can mutate it", route)
			}
			token := f.user.token
			if adminRoutes[route] {
				token = f.admin.token
			}
			var payload any
			if body != nil {
				payload = body
			}
			send := func(what, p, ct string, b any) {
				hdr := []string{}
				if ct != "-" {
					hdr = []string{"Content-Type", ct}
				}
				check(route, what, e.sweepDo(route, method, p, token, b, hdr...))
			}
			// Path tricks.
			if strings.Contains(path, "{") {
				for _, id := range hostileIDs {
					send("id "+id[:min(len(id), 40)], f.fill(path, id), "-", payload)
				}
			}
			good := f.fill(path, "")
			// Query strings, on every route (most ignore them; none may fail).
			for _, q := range hostileQueries {
				send("query "+q[:min(len(q), 40)], good+"?"+q, "-", payload)
			}
			// Tokens.
			for name, tok := range tokens {
				check(route, "token "+name, e.sweepDo(route, method, good, tok, payload))
			}
			// Idempotency keys, with the route's valid request.
			for _, keys := range hostileKeys {
				what := "idempotency key " + truncate([]byte(strings.Join(keys, " | ")))
				check(route, what, e.sweepSend(route, sweepRequest(t, e, route, good, token, payload, keys)))
			}
			switch {
			case multipartRoutes[route]:
				for _, content := range [][]byte{nil, []byte("\x00\x00"), []byte("GIF89a\x00"), bytes.Repeat([]byte{0xff}, 1<<16)} {
					check(route, "multipart", e.doMultipart(method, good, token, "image", "x.png", content))
				}
				check(route, "multipart, a real image", e.doMultipart(method, good, token, "image", "x.png", pngImage(t, 3, 3, color.Black)))
				check(route, "multipart, NUL file name", e.doMultipart(method, good, token, "image", "x\x00.png", pngImage(t, 2, 2, color.Black)))
				check(route, "multipart, other part", e.doMultipart(method, good, token, "\x00", "x", []byte("x")))
				for _, ct := range hostileContentTypes {
					send("content type "+ct, good, ct, "{}")
				}
			case body != nil:
				for i, m := range mutations(body) {
					send(fmt.Sprintf("mutation %d %v", i, truncate(mustJSON(m))), good, "-", m)
				}
				for _, raw := range hostileRawBodies {
					send("raw body "+truncate([]byte(raw)), good, "-", []byte(raw))
				}
				for _, ct := range hostileContentTypes {
					send("content type "+ct, good, ct, body)
				}
			}
		}
		t.Logf("%d hostile requests, %d answered 5xx, %d detection requests answered 503 (provider not configured)", sent, fivexx, off)
		if fivexx > 0 {
			t.Fatalf("%d of %d hostile requests answered 5xx", fivexx, sent)
		}
	})
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// sweepRequest is route's valid request (an image for the uploads, payload
// as JSON for the others) to path, with one Idempotency-Key header per
// value of keys.
func sweepRequest(t *testing.T, e *env, route, path, token string, payload any, keys []string) *http.Request {
	t.Helper()
	method, _, _ := strings.Cut(route, " ")
	var body []byte
	contentType := "application/json"
	switch {
	case multipartRoutes[route]:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile("image", "x.png")
		w.Write(pngImage(t, 2, 2, color.Black))
		mw.Close()
		body, contentType = buf.Bytes(), mw.FormDataContentType()
	case payload != nil:
		body = mustJSON(payload)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, k := range keys {
		req.Header.Add("Idempotency-Key", k)
	}
	return req
}

func truncate(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// The audit's findings, exactly: each is a clear 400 (401 for the token)
// with the envelope, the same on SQLite and PostgreSQL.
func TestHostileTextIsAClear400(t *testing.T) {
	type outcome struct {
		Status int
		Errors []string
	}
	results := map[string]map[string]outcome{}
	forEachStore(t, func(t *testing.T, e *env) {
		s := e.newUser("text@example.com")
		got := map[string]outcome{}
		results[t.Name()] = got
		recipe := func(field string, v any) map[string]any { return with(validRecipeBody(), []any{field}, v) }
		for _, c := range []struct {
			name, method, path, token string
			body                      any
			status                    int
		}{
			{"NUL in a recipe name", "POST", "/api/v1/recipes", s.token, recipe("name", "Soup\x00"), 400},
			{"NUL in a description", "POST", "/api/v1/recipes", s.token, recipe("description", "\x00"), 400},
			{"NUL in an instruction", "POST", "/api/v1/recipes", s.token, recipe("instructions", []any{"Boil\x00"}), 400},
			{"NUL in a tag", "POST", "/api/v1/recipes", s.token, recipe("tags", []any{"\x00"}), 400},
			{"NUL in an ingredient", "POST", "/api/v1/recipes", s.token, recipe("ingredients", []any{map[string]any{"name": "a\x00", "quantity": "1"}}), 400},
			{"NUL in a name search", "GET", "/api/v1/recipes?name=%00", "", nil, 400},
			{"NUL in cuisines", "GET", "/api/v1/recipes?cuisines=%00", "", nil, 400},
			{"NUL in tags", "GET", "/api/v1/recipes?tags=%00", "", nil, 400},
			{"NUL in ingredients", "GET", "/api/v1/recipes?ingredients=%00", "", nil, 400},
			{"invalid UTF-8 in a name search", "GET", "/api/v1/recipes?name=%ff%fe", "", nil, 400},
			{"overlong UTF-8 in cuisines", "GET", "/api/v1/recipes?cuisines=%C0%80", "", nil, 400},
			{"a meal plan in year 0", "POST", "/api/v1/meal-plans", s.token, map[string]any{"startDate": "0000-01-01", "numberOfDays": 1, "mealsPerDay": 1}, 400},
			{"a meal plan ending after 9999", "POST", "/api/v1/meal-plans", s.token, map[string]any{"startDate": "9999-12-31", "numberOfDays": 2, "mealsPerDay": 1}, 400},
			{"a signed token whose subject is not a UUID", "GET", "/api/v1/recipes/saved", signedToken("ana@example.com", nil), nil, 401},
			{"NUL in a preference", "PUT", "/api/v1/users/" + s.id + "/preference", s.token, map[string]any{"favoriteCuisines": []any{"Thai\x00"}}, 400},
			{"NUL in a password", "POST", "/api/v1/users/login", "", map[string]any{"email": s.email, "password": "correct horse 1\x00"}, 400},
		} {
			r := e.do(c.method, c.path, c.token, c.body)
			if r.status != c.status || len(r.errors()) == 0 {
				t.Errorf("%s: %d %s, want %d with the error envelope", c.name, r.status, r.raw, c.status)
			}
			got[c.name] = outcome{r.status, r.errors()}
		}
	})
	var names []string
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 2 {
		a, b := mustJSON(results[names[0]]), mustJSON(results[names[1]])
		if !bytes.Equal(a, b) {
			t.Errorf("the answers differ between the databases:\n%s: %s\n%s: %s", names[0], a, names[1], b)
		}
	}
}

// streamRoutes answer a lasting stream when the request is good: the sweep
// reads their status and headers and hangs up.
var streamRoutes = map[string]bool{"GET /api/v1/sync/events": true, "GET /api/v1/sync/ws": true}

// sweepDo is e.do, but for a stream route only the head of the answer is
// read (a good request would otherwise stream until the test times out).
func (e *env) sweepDo(route, method, path, token string, body any, hdr ...string) response {
	e.t.Helper()
	if !streamRoutes[route] {
		return e.do(method, path, token, body, hdr...)
	}
	var rd io.Reader
	switch b := body.(type) {
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case nil:
	default:
		rd = bytes.NewReader(mustJSON(b))
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.sweepSend(route, req)
}

// sweepSend is e.send, but for a stream route only the head of the answer
// is read.
func (e *env) sweepSend(route string, req *http.Request) response {
	e.t.Helper()
	if !streamRoutes[route] {
		return e.send(e.srv, req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	resp, err := e.srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	resp.Body.Close() // a stream: hang up once its head is read
	return response{status: resp.StatusCode, header: resp.Header}
}
