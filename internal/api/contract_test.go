package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/generate"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/testdb"
)

// The released mobile client's contract: every call the app
// (github.com/LamNgo1911/mealsync-mobile) makes, one row each, exactly as
// the app builds it — method, path, query string, body — with the fields it
// reads from the answer. Sources are file:line at mobileCommit; "screen" is
// where the app makes the call, empty for calls its API layer declares but
// no screen makes yet (they are served and pinned all the same).
// docs/API.md, "What the released mobile client calls", is the prose.
const mobileCommit = "862d5f5322d8638983d41a8c2b51227dd1811fba"

// read is a field the app reads: a path into the JSON answer, where "x[]"
// is every element of the array x (which must have one, or nothing was
// checked), and the JSON types it may have ("string|null").
type read struct{ path, kinds string }

// recipeCardReads are what a recipe card reads of each item of a list
// (components/RecipeCard.tsx:22-48, app/recipe-suggestions.tsx:96).
func recipeCardReads(list string) []read {
	return []read{{list + "[].id", "string"}, {list + "[].name", "string"},
		{list + "[].imageUrl", "string|null"}, {list + "[].cuisine", "string"}}
}

// pageReads are what the app's paged queries read of the envelope
// (store/api/recipeApiSlice.ts:100 and :147: data, totalElements / limit).
var pageReads = []read{{"data", "array"}, {"totalElements", "number"}, {"limit", "number"}}

// appSession is the state the app carries from call to call.
type appSession struct {
	e                *env
	email, password  string
	token            string
	user             map[string]any // the last login's data without token, as the app keeps it (authApiSlice.ts:12)
	detected         any            // detect-ingredients' data, which the camera passes on (camera.tsx:160)
	recipeID         string         // a catalogue recipe with tags, opened from a list
	ownRecipeID      string         // the recipe createRecipe made
	admin            session        // for the calls only an admin's app may make
	departingUserID  string         // the user deleteUser deletes
	dislike, cuisine string         // what onboarding chose
}

// contractCall is one row: a call of the app.
type contractCall struct {
	name   string // the app's endpoint name (RTK Query)
	source string // where the request is built, file:line at mobileCommit
	screen string // where the app makes it, or "" when no screen does
	method string
	path   func(s *appSession) string // path and query, as the app builds them
	body   func(s *appSession) any    // JSON as the app sends it; nil for none
	photo  bool                       // multipart, part "image", as camera.tsx:147-152 builds it
	admin  bool                       // needs an admin's sign-in
	status int
	reads  []read
	note   string                                        // where the app and the server differ, and why it works
	after  func(t *testing.T, s *appSession, r response) // what else the row pins, and state for later rows
}

func fixed(p string) func(*appSession) string { return func(*appSession) string { return p } }

// mapPreferenceForRecipe is the request shape the app derives from the
// signed-in user's userPreference for generate-recipes
// (store/api/recipeApiSlice.ts:211-224): comma-joined lists under the
// server's names, read from the app's names preferredCuisines and
// allergies. An absent list is left out, as JSON.stringify leaves out
// undefined.
func mapPreferenceForRecipe(user map[string]any) map[string]any {
	pref, ok := user["userPreference"].(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for from, to := range map[string]string{"dietaryRestrictions": "dietaryRestrictions", "preferredCuisines": "favoriteCuisines", "allergies": "dislikedIngredients"} {
		if l, ok := pref[from].([]any); ok {
			out[to] = strings.Join(strs(l), ", ")
		}
	}
	return out
}

var mobileCalls = []contractCall{
	{
		name: "register", source: "store/api/authApiSlice.ts:17", screen: "app/(auth)/register.tsx:39",
		method: "POST", path: fixed("/api/v1/users/register"),
		body: func(s *appSession) any {
			return map[string]any{"name": "Ana", "email": s.email, "role": "USER", "password": s.password}
		},
		status: 200,
		note: "the app only checks success and sends the user to sign in; store/features/auth/authSlice.ts:45-46 " +
			"copies top-level token and user, which registration never had (no tokens until login), and login overwrites them",
	},
	{
		name: "login", source: "store/api/authApiSlice.ts:7", screen: "app/(auth)/login.tsx:59",
		method: "POST", path: fixed("/api/v1/users/login"),
		body:   func(s *appSession) any { return map[string]any{"email": s.email, "password": s.password} },
		status: 200,
		reads: []read{
			{"data.token", "string"},                          // authApiSlice.ts:12
			{"data.id", "string"},                             // app/(auth)/preferences.tsx:85
			{"data.name", "string"}, {"data.email", "string"}, // app/settings.tsx:98, :112
			{"data.userPreference", "object"},                    // app/settings.tsx:36-43
			{"data.userPreference.dietaryRestrictions", "array"}, // settings.tsx:37, recipeApiSlice.ts:221
			{"data.userPreference.preferredCuisines", "array"},   // settings.tsx:39, recipeApiSlice.ts:222 (alias)
			{"data.userPreference.allergies", "array"},           // settings.tsx:38, recipeApiSlice.ts:223 (alias)
		},
		note:  "userPreference.id and .notifications are read with fallbacks (settings.tsx:36, :41-42) and are not served",
		after: func(t *testing.T, s *appSession, r response) { s.signedIn(t, r) },
	},
	{
		name: "updateUserPreference", source: "store/api/userApiSlice.ts:40", screen: "app/(auth)/preferences.tsx:85",
		method: "PUT", path: func(s *appSession) string { return "/api/v1/users/" + s.user["id"].(string) + "/preference" },
		body: func(s *appSession) any { // app/(auth)/preferences.tsx:69-80
			return map[string]any{
				"allergies": []string{"vegetarian"}, "preferredCuisines": []string{s.cuisine},
				"dislikedIngredients": []string{s.dislike}, "dietaryRestrictions": []string{"vegetarian"},
				"id": s.user["id"], "notifications": map[string]any{"push": true, "email": false},
			}
		},
		status: 200,
		note: "preferredCuisines is stored as favoriteCuisines (alias); allergies, which onboarding fills with the " +
			"dietary restrictions, id and notifications are ignored",
		after: func(t *testing.T, s *appSession, r response) {
			pref := r.data()["userPreference"].(map[string]any)
			if got := fmt.Sprint(pref["favoriteCuisines"], pref["dislikedIngredients"], pref["dietaryRestrictions"]); got != fmt.Sprintf("[%s] [%s] [vegetarian]", s.cuisine, s.dislike) {
				t.Fatalf("stored favoriteCuisines, dislikedIngredients, dietaryRestrictions = %s", got)
			}
			// The app keeps the user of its last sign-in; the next launch
			// signs in again and carries these preferences to generation.
			s.signedIn(t, s.e.expect(s.e.do("POST", "/api/v1/users/login", "", map[string]any{"email": s.email, "password": s.password}), 200))
		},
	},
	{
		name: "getUserById", source: "store/api/userApiSlice.ts:17",
		method: "GET", path: func(s *appSession) string { return "/api/v1/users/" + s.user["id"].(string) },
		status: 200,
		note:   "no screen reads it; its type (userApiSlice.ts:16) names a bare User, the answer is the envelope, like every other",
	},
	{
		name: "updateUser", source: "store/api/userApiSlice.ts:30",
		method: "PUT", path: func(s *appSession) string { return "/api/v1/users/" + s.user["id"].(string) },
		body: func(s *appSession) any { // Partial<User> without id (userApiSlice.ts:29)
			return map[string]any{"name": "Ana Renamed", "email": s.email, "role": "USER"}
		},
		status: 200,
		note:   "no screen reads the answer",
	},
	{
		name: "getUsers", source: "store/api/userApiSlice.ts:7", admin: true,
		method: "GET", path: fixed("/api/v1/users"),
		status: 200,
		note:   "admin only; no screen calls it; its type (userApiSlice.ts:6-11) maps over a bare array, the answer is the envelope",
	},
	{
		name: "deleteUser", source: "store/api/userApiSlice.ts:22", admin: true,
		method: "DELETE", path: func(s *appSession) string { return "/api/v1/users/" + s.departingUserID },
		status: 204,
		note:   "admin only",
	},
	{
		name: "detectIngredients", source: "store/api/ingredientRecognitionApiSlice.ts:20", screen: "app/camera.tsx:156",
		method: "POST", path: fixed("/api/v1/recipes/detect-ingredients"), photo: true,
		status: 200,
		reads:  []read{{"data", "array"}},
		note: "the app types data as names (ingredientRecognitionApiSlice.ts:9) and passes it on to generate-recipes " +
			"(camera.tsx:170-171), which takes these {name, quantity, unit} objects; its ingredient chips " +
			"(camera.tsx:179) join it as text and so show the objects, not the names: the shape is the " +
			"reference's, kept for its later clients (the names-only answer is POST /ingredient-recognition/detect)",
		after: func(t *testing.T, s *appSession, r response) {
			if len(r.body["data"].([]any)) == 0 { // camera.tsx:164 gives up on an empty list
				t.Fatalf("nothing detected: %s", r.raw)
			}
			s.detected = r.body["data"]
		},
	},
	{
		name: "generateRecipes (camera)", source: "store/api/recipeApiSlice.ts:52", screen: "app/camera.tsx:170",
		method: "POST", path: fixed("/api/v1/recipes/generate-recipes"),
		body: func(s *appSession) any {
			return map[string]any{"ingredients": s.detected, "userPreference": mapPreferenceForRecipe(s.user)}
		},
		status: 200,
		reads:  recipeCardReads("data"),
		after: func(t *testing.T, s *appSession, r response) {
			// The preferences the app sent back under its own names were applied.
			for _, rec := range dataItems(t, r) {
				if hasIngredientContaining(rec, s.dislike) {
					t.Errorf("%s has the disliked %s: %v", rec["name"], s.dislike, ingredientNamesOf(rec))
				}
			}
		},
	},
	{
		name: "generateRecipes (typed)", source: "store/api/recipeApiSlice.ts:52", screen: "app/manual-input.tsx:84",
		method: "POST", path: fixed("/api/v1/recipes/generate-recipes"),
		body: func(s *appSession) any {
			return map[string]any{"ingredients": []string{"tomato", "basil", "garlic"}, "userPreference": mapPreferenceForRecipe(s.user)}
		},
		status: 200,
		reads:  recipeCardReads("data"),
	},
	{
		name: "getRecentGeneratedRecipes", source: "store/api/recipeApiSlice.ts:188", screen: "app/(tabs)/home.tsx:41",
		method: "GET", path: fixed("/api/v1/recipes/recent?limit=6"),
		status: 200,
		reads:  recipeCardReads("data"),
	},
	{
		name: "getTodaysPicks", source: "store/api/recipeApiSlice.ts:180", screen: "app/(tabs)/home.tsx:35",
		method: "GET", path: fixed("/api/v1/recipes/today-picks"),
		status: 200,
		reads: []read{{"data[].id", "string"}, {"data[].imageUrl", "string|null"}, {"data[].name", "string"},
			{"data[].totalTime", "number"}, {"data[].calories", "number"}}, // components/TodaysPick.tsx:45-84
	},
	{
		name: "getRecipes", source: "store/api/recipeApiSlice.ts:95", screen: "app/(tabs)/home.tsx:45",
		method: "GET", path: fixed("/api/v1/recipes?offset=0&limit=20&query=soup"),
		status: 200,
		reads:  append(slices.Clone(pageReads), recipeCardReads("data")...),
		note:   "query is taken as the name search (alias)",
		after: func(t *testing.T, s *appSession, r response) {
			for _, rec := range dataItems(t, r) {
				if !strings.Contains(strings.ToLower(rec["name"].(string)), "soup") {
					t.Errorf("searched soup, got %s", rec["name"])
				}
			}
		},
	},
	{
		name: "getRecipeById", source: "store/api/recipeApiSlice.ts:78", screen: "app/recipe/[id].tsx:39",
		method: "GET", path: func(s *appSession) string { return "/api/v1/recipes/" + s.recipeID },
		status: 200,
		reads: []read{ // app/recipe/[id].tsx:45-340, through the transform at recipeApiSlice.ts:80
			{"data.name", "string"}, {"data.imageUrl", "string|null"}, {"data.description", "string"},
			{"data.tags[]", "string"}, {"data.totalTime", "number"}, {"data.servings", "number"},
			{"data.difficulty", "string"}, {"data.calories", "number"}, {"data.protein", "number"},
			{"data.carbohydrates", "number"}, {"data.fat", "number"}, {"data.ingredients[].name", "string"},
			{"data.ingredients[].quantity", "string"}, {"data.ingredients[].unit", "string"},
			{"data.instructions[]", "string"},
		},
	},
	{
		name: "saveRecipe", source: "store/api/recipeApiSlice.ts:60",
		method: "POST", path: fixed("/api/v1/recipes/save"),
		body:   func(s *appSession) any { return map[string]any{"userId": s.user["id"], "recipeId": s.recipeID} },
		status: 200,
	},
	{
		name: "getSavedRecipes", source: "store/api/recipeApiSlice.ts:142", screen: "app/(tabs)/saved.tsx:34",
		method: "GET", path: fixed("/api/v1/saved?offset=0&limit=4"),
		status: 200,
		reads:  append(slices.Clone(pageReads), recipeCardReads("data")...),
		note:   "the app's path (alias): /recipes/saved answers UserRecipeReadDto, the app reads each item as a recipe",
		after: func(t *testing.T, s *appSession, r response) {
			if ids := idsOf(dataItems(t, r)); len(ids) != 1 || ids[0] != s.recipeID {
				t.Fatalf("saved tab lists %v, want the saved %s", ids, s.recipeID)
			}
		},
	},
	{
		name: "unsaveRecipe", source: "store/api/recipeApiSlice.ts:170",
		method: "DELETE", path: fixed("/api/v1/recipes/save"),
		body:   func(s *appSession) any { return map[string]any{"userId": s.user["id"], "recipeId": s.recipeID} },
		status: 204,
	},
	{
		name: "createRecipe", source: "store/api/recipeApiSlice.ts:71",
		method: "POST", path: fixed("/api/v1/recipes"),
		body:   func(s *appSession) any { return appRecipe("Ana's Lentil Soup") },
		status: 201,
		note:   "no screen reads the answer; the recipe is private to the app's user",
		after: func(t *testing.T, s *appSession, r response) {
			if s.ownRecipeID, _ = r.data()["id"].(string); s.ownRecipeID == "" {
				t.Fatalf("created recipe without an id: %s", r.raw)
			}
		},
	},
	{
		name: "updateRecipe", source: "store/api/recipeApiSlice.ts:119",
		method: "PUT", path: func(s *appSession) string { return "/api/v1/recipes/" + s.ownRecipeID },
		body:   func(s *appSession) any { return appRecipe("Ana's Red Lentil Soup") },
		status: 200,
		note:   "its owner may change a private recipe; no screen reads the answer",
	},
	{
		name: "deleteRecipe", source: "store/api/recipeApiSlice.ts:127",
		method: "DELETE", path: func(s *appSession) string { return "/api/v1/recipes/" + s.ownRecipeID },
		status: 204,
	},
	{
		name: "detectIngredientsFromText", source: "store/api/recipeApiSlice.ts:163",
		method: "POST", path: fixed("/api/v1/recipes/detect-ingredients-from-text"),
		body:   func(s *appSession) any { return map[string]any{"textInput": "Tomato, basil\ngarlic; tomato"} },
		status: 200,
		reads:  []read{{"success", "boolean"}, {"data[]", "string"}}, // the type at recipeApiSlice.ts:38-41
		note:   "not in the reference: served (alias) by splitting the text into names",
		after: func(t *testing.T, s *appSession, r response) {
			if got := strs(r.body["data"]); fmt.Sprint(got) != "[Tomato basil garlic]" || r.body["success"] != true {
				t.Fatalf("from text: %s", r.raw)
			}
		},
	},
}

// appRecipe is a Partial<Recipe> (types/recipe.ts:9-31) as the app would
// send it, server-assigned fields included.
func appRecipe(name string) map[string]any {
	return map[string]any{
		"name": name, "cuisine": "Turkish", "description": "A lentil soup.", "difficulty": "EASY",
		"ingredients":     []any{map[string]any{"name": "red lentils", "quantity": "200", "unit": "g"}},
		"instructions":    []any{"Simmer the lentils.", "Blend."},
		"preparationTime": 10, "cookingTime": 25, "totalTime": 35, "servings": 4,
		"calories": 320.0, "protein": 18.0, "carbohydrates": 45.0, "fat": 6.0,
		"tags": []any{"vegetarian"}, "ingredientKey": "whatever", "source": "app",
	}
}

// signedIn keeps the login answer as the app does (authApiSlice.ts:12).
func (s *appSession) signedIn(t *testing.T, r response) {
	t.Helper()
	user := map[string]any{}
	for k, v := range r.data() {
		user[k] = v
	}
	s.token, _ = user["token"].(string)
	delete(user, "token")
	s.user = user
}

// seeingProvider is the server's generation provider with a model that can
// see: generation is the offline catalogue's, and a photo shows what a
// vision model would name in it. It stands in for the outside model only.
type seeingProvider struct {
	*generate.Catalog
	seen []mealsync.Ingredient
}

func (p seeingProvider) DetectIngredients(context.Context, []byte, string) ([]mealsync.Ingredient, error) {
	return p.seen, nil
}

// TestMobileClientContract runs every call of the released mobile app, in
// the order a user meets them, against a real server on each database.
func TestMobileClientContract(t *testing.T) {
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) {
			db := st.Open(t)
			// The photo shows mushrooms, garlic and butter, for which the
			// catalogue's first pick is a mushroom risotto; onboarding makes
			// mushroom the disliked ingredient, so generation must leave it out.
			seen := []mealsync.Ingredient{{Name: "mushroom", Quantity: "200", Unit: "g"}, {Name: "garlic"}, {Name: "butter", Quantity: "50", Unit: "g"}}
			e := newEnv(t, db, func(d *api.Deps) {
				d.Kitchen = kitchen.New(d.Recipes, db, db, seeingProvider{generate.NewCatalog(kitchen.CatalogSource(d.Recipes)), seen},
					d.Images, []string{allowedImageHost}, d.Now, d.Log)
			})
			seedCatalog(t, e)
			s := &appSession{e: e, email: "ana@example.com", password: "correct horse 1", dislike: "mushroom", cuisine: "Italian",
				admin: e.newAdmin("admin@example.com"), departingUserID: e.newUser("leaving@example.com").id}
			s.recipeID = catalogueRecipeWithTags(t, e)
			for _, c := range mobileCalls {
				token := s.token
				if c.admin {
					token = s.admin.token
				}
				var r response
				switch {
				case c.photo:
					r = upload(t, e, c.path(s), token, "photo_1761742961000.jpg", "image/jpeg", jpegImage(t, 8, 8))
				case c.body != nil:
					r = e.do(c.method, c.path(s), token, c.body(s))
				default:
					r = e.do(c.method, c.path(s), token, nil)
				}
				if r.status != c.status {
					t.Fatalf("%s (%s at %.7s): %s %s: status %d, want %d: %s\n(%s)", c.name, c.source, mobileCommit, c.method, c.path(s), r.status, c.status, r.raw, c.note)
				}
				broken := false
				for _, rd := range c.reads {
					if err := checkRead(r.body, rd); err != nil {
						t.Errorf("%s (%s at %.7s): the app reads %s: %v", c.name, c.source, mobileCommit, rd.path, err)
						broken = true
					}
				}
				if broken { // later calls build on this answer, as the app's do
					t.FailNow()
				}
				if c.after != nil {
					c.after(t, s, r)
				}
			}
		})
	}
}

// TestMobileContractCoversTheApp keeps the table honest: every endpoint the
// app's API layer declares (store/api/*.ts at mobileCommit) has a row, with
// its method and path, and every row names its source.
func TestMobileContractCoversTheApp(t *testing.T) {
	declared := map[string]string{ // endpoint name → method and path pattern, from the app's files
		"login":                     "POST /api/v1/users/login",
		"register":                  "POST /api/v1/users/register",
		"detectIngredients":         "POST /api/v1/recipes/detect-ingredients",
		"generateRecipes":           "POST /api/v1/recipes/generate-recipes",
		"saveRecipe":                "POST /api/v1/recipes/save",
		"createRecipe":              "POST /api/v1/recipes",
		"getRecipeById":             "GET /api/v1/recipes/{id}",
		"getRecipes":                "GET /api/v1/recipes",
		"updateRecipe":              "PUT /api/v1/recipes/{id}",
		"deleteRecipe":              "DELETE /api/v1/recipes/{id}",
		"getSavedRecipes":           "GET /api/v1/saved",
		"detectIngredientsFromText": "POST /api/v1/recipes/detect-ingredients-from-text",
		"unsaveRecipe":              "DELETE /api/v1/recipes/save",
		"getTodaysPicks":            "GET /api/v1/recipes/today-picks",
		"getRecentGeneratedRecipes": "GET /api/v1/recipes/recent",
		"getUsers":                  "GET /api/v1/users",
		"getUserById":               "GET /api/v1/users/{id}",
		"deleteUser":                "DELETE /api/v1/users/{id}",
		"updateUser":                "PUT /api/v1/users/{id}",
		"updateUserPreference":      "PUT /api/v1/users/{id}/preference",
	}
	s := &appSession{user: map[string]any{"id": "ID"}, recipeID: "ID", ownRecipeID: "ID", departingUserID: "ID"}
	covered := map[string]bool{}
	for _, c := range mobileCalls {
		name, _, _ := strings.Cut(c.name, " ")
		want, ok := declared[name]
		if !ok {
			t.Errorf("row %q is not an endpoint of the app", c.name)
			continue
		}
		path, _, _ := strings.Cut(c.path(s), "?")
		if got := c.method + " " + strings.ReplaceAll(path, "/ID", "/{id}"); got != want {
			t.Errorf("row %q calls %s; the app calls %s", c.name, got, want)
		}
		if !strings.Contains(c.source, ".ts:") || (c.screen != "" && !strings.Contains(c.screen, ".tsx:")) {
			t.Errorf("row %q: source %q, screen %q: want file:line", c.name, c.source, c.screen)
		}
		covered[name] = true
	}
	for name := range declared {
		if !covered[name] {
			t.Errorf("the app's %s has no row", name)
		}
	}
}

// catalogueRecipeWithTags is the id of a catalogue recipe that has tags,
// so that every field the recipe screen reads can be checked.
func catalogueRecipeWithTags(t *testing.T, e *env) string {
	t.Helper()
	for _, rec := range dataItems(t, listRecipes(t, e, "limit=50")) {
		if tags, _ := rec["tags"].([]any); len(tags) > 0 {
			return rec["id"].(string)
		}
	}
	t.Fatal("no catalogue recipe with tags")
	return ""
}

// checkRead finds rd.path in body and checks the JSON type of each value
// found there.
func checkRead(body any, rd read) error {
	values := []any{body}
	for _, seg := range strings.Split(rd.path, ".") {
		name, each := strings.CutSuffix(seg, "[]")
		var next []any
		for _, v := range values {
			m, ok := v.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: not inside an object (%s)", seg, jsonType(v))
			}
			x, present := m[name]
			if !present {
				return fmt.Errorf("%s is absent", name)
			}
			if !each {
				next = append(next, x)
				continue
			}
			list, ok := x.([]any)
			if !ok {
				return fmt.Errorf("%s is %s, not an array", name, jsonType(x))
			}
			if len(list) == 0 {
				return fmt.Errorf("%s is empty: nothing to check", name)
			}
			next = append(next, list...)
		}
		values = next
	}
	for _, v := range values {
		if !strings.Contains("|"+rd.kinds+"|", "|"+jsonType(v)+"|") {
			return fmt.Errorf("is %s, want %s", jsonType(v), rd.kinds)
		}
	}
	return nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
