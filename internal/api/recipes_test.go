package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/catalog"
)

// --- helpers shared by the recipe-domain tests ---

// recipeKeys is RecipeReadDto's key order in the reference (section 7.5).
var recipeKeys = []string{"id", "name", "ingredients", "instructions", "cuisine", "imageUrl", "ingredientKey",
	"description", "preparationTime", "cookingTime", "totalTime", "servings", "calories", "protein",
	"carbohydrates", "fat", "difficulty", "tags", "source", "createdAt", "updatedAt"}

// pageKeys is the pagination envelope's key order (section 1): no "errors".
var pageKeys = []string{"data", "offset", "limit", "totalElements", "hasNext"}

// dataItems returns the "data" array of a response.
func dataItems(t *testing.T, r response) []map[string]any {
	t.Helper()
	list, ok := r.body["data"].([]any)
	if !ok {
		t.Fatalf("data is not an array: %s", r.raw)
	}
	out := make([]map[string]any, len(list))
	for i, it := range list {
		out[i] = it.(map[string]any)
	}
	return out
}

// checkPage asserts the raw pagination envelope: its keys in order, and the
// echoed offset and limit, total and hasNext.
func checkPage(t *testing.T, r response, offset, limit, total int, hasNext bool) {
	t.Helper()
	if keys := objectKeys(t, r.raw); !slices.Equal(keys, pageKeys) {
		t.Fatalf("page keys %v, want %v: %s", keys, pageKeys, r.raw)
	}
	got := []any{r.body["offset"], r.body["limit"], r.body["totalElements"], r.body["hasNext"]}
	want := []any{float64(offset), float64(limit), float64(total), hasNext}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("offset, limit, totalElements, hasNext = %v, want %v", got, want)
	}
}

// names lists the "name" of each recipe.
func names(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i], _ = r["name"].(string)
	}
	return out
}

func idsOf(list []map[string]any) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i], _ = r["id"].(string)
	}
	return out
}

// strs turns a JSON array of strings into a []string.
func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, s := range list {
		out[i], _ = s.(string)
	}
	return out
}

// ingredientNamesOf lists a recipe's ingredient names, lower-cased.
func ingredientNamesOf(recipe map[string]any) []string {
	var out []string
	list, _ := recipe["ingredients"].([]any)
	for _, in := range list {
		out = append(out, strings.ToLower(in.(map[string]any)["name"].(string)))
	}
	return out
}

func hasIngredientContaining(recipe map[string]any, word string) bool {
	return slices.ContainsFunc(ingredientNamesOf(recipe), func(n string) bool { return strings.Contains(n, word) })
}

// recipeBody is a valid POST /recipes body; edit the map for a variant.
func recipeBody(name string) map[string]any {
	return map[string]any{
		"name":            name,
		"ingredients":     []map[string]any{{"name": "Tomato", "quantity": "2", "unit": ""}, {"name": "Garlic", "quantity": "1", "unit": "clove"}},
		"instructions":    []string{"Chop.", "Cook."},
		"cuisine":         "Italian",
		"description":     "A test dish.",
		"preparationTime": 10,
		"cookingTime":     20,
		"servings":        4,
		"calories":        450,
		"protein":         12.5,
		"carbohydrates":   60,
		"fat":             10,
		"difficulty":      "EASY",
		"tags":            []string{"dinner"},
	}
}

// createRecipe posts body and returns the created recipe.
func createRecipe(t *testing.T, e *env, token string, body any) map[string]any {
	t.Helper()
	return e.expect(e.do("POST", "/api/v1/recipes", token, body), 201).data()
}

// seedCatalog loads the starter catalogue into the env's database.
func seedCatalog(t *testing.T, e *env) int {
	t.Helper()
	n, err := catalog.Seed(context.Background(), e.db, e.clock.now())
	if err != nil || n == 0 {
		t.Fatalf("seed: %d, %v", n, err)
	}
	return n
}

// setPreferences replaces a user's preferences through the API.
func setPreferences(t *testing.T, e *env, s session, prefs map[string]any) {
	t.Helper()
	e.expect(e.do("PUT", "/api/v1/users/"+s.id+"/preference", s.token, prefs), 200)
}

// listRecipes GETs /recipes with q and expects 200.
func listRecipes(t *testing.T, e *env, q string) response {
	t.Helper()
	return e.expect(e.do("GET", "/api/v1/recipes?"+q, "", nil), 200)
}

var instantRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$`)

// --- GET /api/v1/recipes ---

// filterFixture is five recipes whose names start with different letters,
// so their order is the same under any collation.
func filterFixture(t *testing.T, e *env, token string) {
	t.Helper()
	type spec struct {
		name, cuisine, difficulty string
		tags, ingredients         []string
		prep, cook, servings      int
	}
	for _, s := range []spec{
		{"Tomato Soup", "Italian", "EASY", []string{"vegan", "soup"}, []string{"Tomato", "Garlic"}, 10, 20, 4},
		{"Chicken Curry", "Indian", "MEDIUM", []string{"spicy", "dinner"}, []string{"Chicken Thigh", "Coconut Milk"}, 15, 30, 2},
		{"Beef Tacos", "Mexican", "EASY", []string{"dinner", "street-food"}, []string{"Beef Mince", "Tortilla", "Tomato Salsa"}, 5, 15, 6},
		{"Mushroom Risotto", "Italian", "HARD", []string{"vegetarian", "dinner"}, []string{"Arborio Rice", "Mushroom"}, 20, 40, 4},
		{"Green Salad", "Greek", "EASY", []string{"vegan", "quick"}, []string{"Lettuce", "Cucumber"}, 5, 0, 1},
	} {
		b := recipeBody(s.name)
		b["cuisine"], b["difficulty"], b["tags"] = s.cuisine, s.difficulty, s.tags
		b["preparationTime"], b["cookingTime"], b["servings"] = s.prep, s.cook, s.servings
		var ings []map[string]any
		for _, n := range s.ingredients {
			ings = append(ings, map[string]any{"name": n, "quantity": "1", "unit": ""})
		}
		b["ingredients"] = ings
		createRecipe(t, e, token, b)
	}
}

func TestRecipeListFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newAdmin("lists@example.com") // an admin's recipes are the catalogue's
		filterFixture(t, e, admin.token)
		all := []string{"Beef Tacos", "Chicken Curry", "Green Salad", "Mushroom Risotto", "Tomato Soup"}
		cases := []struct {
			name, query string
			want        []string
		}{
			{"no filter", "", all},
			{"name, any case", "name=SOUP", []string{"Tomato Soup"}},
			{"name substring", "name=" + url.QueryEscape("ee"), []string{"Beef Tacos", "Green Salad"}},
			{"name with LIKE wildcards is literal", "name=" + url.QueryEscape("%"), nil},
			{"query, the released app's name search", "query=SOUP", []string{"Tomato Soup"}},
			{"name wins over query", "name=ee&query=soup", []string{"Beef Tacos", "Green Salad"}},
			{"cuisines comma list", "cuisines=italian,MEXICAN", []string{"Beef Tacos", "Mushroom Risotto", "Tomato Soup"}},
			{"cuisines repeated", "cuisines=Italian&cuisines=mexican", []string{"Beef Tacos", "Mushroom Risotto", "Tomato Soup"}},
			{"cuisine is equality, not substring", "cuisines=Ital", nil},
			{"tags", "tags=VEGAN", []string{"Green Salad", "Tomato Soup"}},
			{"tags any of", "tags=vegan,spicy", []string{"Chicken Curry", "Green Salad", "Tomato Soup"}},
			{"tags repeated", "tags=vegan&tags=Spicy", []string{"Chicken Curry", "Green Salad", "Tomato Soup"}},
			{"ingredients substring, any case", "ingredients=TOMATO", []string{"Beef Tacos", "Tomato Soup"}},
			{"ingredients any of", "ingredients=tomato,mushroom", []string{"Beef Tacos", "Mushroom Risotto", "Tomato Soup"}},
			{"difficulty any case", "difficulty=easy", []string{"Beef Tacos", "Green Salad", "Tomato Soup"}},
			{"maxTotalTime inclusive", "maxTotalTime=30", []string{"Beef Tacos", "Green Salad", "Tomato Soup"}},
			{"maxTotalTime 19", "maxTotalTime=19", []string{"Green Salad"}},
			{"minServings inclusive", "minServings=4", []string{"Beef Tacos", "Mushroom Risotto", "Tomato Soup"}},
			{"combined with AND", "cuisines=Italian&difficulty=EASY&maxTotalTime=30", []string{"Tomato Soup"}},
			{"tags and servings", "tags=dinner&minServings=4", []string{"Beef Tacos", "Mushroom Risotto"}},
			{"name and cuisine", "name=o&cuisines=italian", []string{"Mushroom Risotto", "Tomato Soup"}},
			{"nothing matches", "cuisines=Italian&tags=spicy", nil},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := listRecipes(t, e, c.query+"&limit=100")
				checkPage(t, r, 0, 100, len(c.want), false)
				if got := names(dataItems(t, r)); !slices.Equal(got, c.want) {
					t.Fatalf("%s: got %q, want %q", c.query, got, c.want)
				}
			})
		}
	})
}

func TestRecipeListPagingIsStable(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newAdmin("pages@example.com")
		filterFixture(t, e, admin.token)

		// The default page; the same answer twice.
		r := listRecipes(t, e, "")
		checkPage(t, r, 0, 20, 5, false)
		first := idsOf(dataItems(t, r))
		if again := idsOf(dataItems(t, listRecipes(t, e, ""))); !slices.Equal(first, again) {
			t.Fatalf("order changed between calls: %v then %v", first, again)
		}

		// Pages of two put together are the whole list, in order.
		var paged []string
		for _, p := range []struct {
			offset int
			names  []string
			next   bool
		}{
			{0, []string{"Beef Tacos", "Chicken Curry"}, true},
			{2, []string{"Green Salad", "Mushroom Risotto"}, true},
			{4, []string{"Tomato Soup"}, false},
			{6, nil, false},
		} {
			r := listRecipes(t, e, fmt.Sprintf("offset=%d&limit=2", p.offset))
			checkPage(t, r, p.offset, 2, 5, p.next)
			items := dataItems(t, r)
			if got := names(items); !slices.Equal(got, p.names) {
				t.Fatalf("offset %d: %q, want %q", p.offset, got, p.names)
			}
			paged = append(paged, idsOf(items)...)
		}
		if !slices.Equal(paged, first) {
			t.Fatalf("pages %v differ from the whole list %v", paged, first)
		}

		// A filtered page: the total counts every match, not the page.
		r = listRecipes(t, e, "difficulty=EASY&offset=1&limit=1")
		checkPage(t, r, 1, 1, 3, true)
		if got := names(dataItems(t, r)); !slices.Equal(got, []string{"Green Salad"}) {
			t.Fatalf("filtered page: %q", got)
		}
		r = listRecipes(t, e, "difficulty=EASY&offset=2&limit=1")
		checkPage(t, r, 2, 1, 3, false)
	})
}

// The list needs no token. A token that is sent must be valid: a client
// whose token expired learns to refresh rather than silently missing its
// own recipes.
func TestRecipeListIsPublic(t *testing.T) {
	e := sqliteEnv(t)
	admin := e.newAdmin("pub@example.com")
	u := e.newUser("reader@example.com")
	createRecipe(t, e, admin.token, recipeBody("Public Dish"))
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer " + u.token}} {
		r := e.expect(e.do("GET", "/api/v1/recipes", "", nil, hdr...), 200)
		if _, has := r.body["errors"]; has {
			t.Fatalf("the pagination envelope has no errors key: %s", r.raw)
		}
		if got := names(dataItems(t, r)); !slices.Equal(got, []string{"Public Dish"}) {
			t.Fatalf("with %v: %q", hdr, got)
		}
		if vary := r.header.Get("Vary"); !strings.Contains(vary, "Authorization") {
			t.Fatalf("Vary %q: the list depends on the token", vary)
		}
	}
	r := e.expect(e.do("GET", "/api/v1/recipes", "", nil, "Authorization", "Bearer not-a-token"), 401)
	if !strings.Contains(r.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
	}
}

func TestRecipeListNameFilterCountsCharacters(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.newAdmin("chars@example.com")
		// 95 characters but 131 bytes: a valid name must be searchable by itself.
		name := strings.TrimSpace(strings.Repeat("Bún chả ", 12))
		createRecipe(t, e, admin.token, recipeBody(name))
		r := listRecipes(t, e, "name="+url.QueryEscape(name))
		if got := names(dataItems(t, r)); !slices.Equal(got, []string{name}) {
			t.Fatalf("got %q", got)
		}
		e.expect(e.do("GET", "/api/v1/recipes?name="+url.QueryEscape(strings.Repeat("é", 101)), "", nil), 400)
	})
}

func TestRecipeListBadInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		cases := []struct {
			query string
			want  []string
		}{
			{"limit=0", []string{"limit: Must be at least 1"}},
			{"limit=101", []string{"limit: Must be at most 100"}},
			{"offset=-1", []string{"offset: Must be at least 0"}},
			{"limit=ten", []string{"limit: Must be an integer"}},
			{"offset=1.5", []string{"offset: Must be an integer"}},
			{"maxTotalTime=soon", []string{"maxTotalTime: Must be an integer"}},
			{"minServings=0", []string{"minServings: Must be at least 1"}},
			{"difficulty=IMPOSSIBLE", []string{"difficulty: Must be EASY, MEDIUM or HARD"}},
			{"name=" + strings.Repeat("n", 101), []string{"name: Name filter cannot exceed 100 characters"}},
			{"query=" + strings.Repeat("n", 101), []string{"query: Name filter cannot exceed 100 characters"}},
			{"difficulty=impossible&offset=-1&limit=0&name=" + strings.Repeat("n", 101), []string{
				"difficulty: Must be EASY, MEDIUM or HARD", "offset: Must be at least 0", "limit: Must be at least 1",
				"name: Name filter cannot exceed 100 characters",
			}},
		}
		for _, c := range cases {
			r := e.expect(e.do("GET", "/api/v1/recipes?"+c.query, "", nil), 400)
			if got := r.errors(); !slices.Equal(got, c.want) {
				t.Errorf("%s: errors %q, want %q", c.query, got, c.want)
			}
			if r.body["data"] != nil {
				t.Errorf("%s: data must be null: %s", c.query, r.raw)
			}
		}
	})
}

// --- RecipeReadDto and POST /api/v1/recipes ---

func TestRecipeCreateShape(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("cook@example.com")
		body := recipeBody("Pasta al Pomodoro")
		delete(body, "totalTime")
		r := e.expect(e.do("POST", "/api/v1/recipes", u.token, body), 201)
		var wire struct {
			Data   json.RawMessage `json:"data"`
			Errors any             `json:"errors"`
		}
		if err := json.Unmarshal(r.raw, &wire); err != nil || !strings.Contains(string(r.raw), `"errors":null`) {
			t.Fatalf("success envelope: %s", r.raw)
		}
		if keys := objectKeys(t, wire.Data); !slices.Equal(keys, recipeKeys) {
			t.Fatalf("keys %v\nwant %v", keys, recipeKeys)
		}
		// Doubles print like Java's, integers plainly, unset values as null.
		for _, frag := range []string{`"calories":450.0`, `"protein":12.5`, `"carbohydrates":60.0`, `"fat":10.0`,
			`"servings":4,`, `"imageUrl":null`, `"updatedAt":null`} {
			if !strings.Contains(string(wire.Data), frag) {
				t.Errorf("raw JSON lacks %s: %s", frag, wire.Data)
			}
		}
		d := r.data()
		if !instantRE.MatchString(d["createdAt"].(string)) {
			t.Errorf("createdAt %q is not an instant with Z", d["createdAt"])
		}
		if got, _ := time.Parse(time.RFC3339Nano, d["createdAt"].(string)); !got.Equal(e.clock.now()) {
			t.Errorf("createdAt %v, want the clock's %v", got, e.clock.now())
		}
		if d["totalTime"] != float64(30) {
			t.Errorf("totalTime %v, want prep+cook = 30", d["totalTime"])
		}
		if d["difficulty"] != "EASY" || d["ingredientKey"] != "pasta_al_pomodoro" || d["cuisine"] != "Italian" {
			t.Errorf("fields: %s", r.raw)
		}
		ings := d["ingredients"].([]any)
		if len(ings) != 2 || !reflect.DeepEqual(ings[1], map[string]any{"name": "Garlic", "quantity": "1", "unit": "clove"}) {
			t.Errorf("ingredients %v", ings)
		}
		if got := strs(d["instructions"]); !slices.Equal(got, []string{"Chop.", "Cook."}) {
			t.Errorf("instructions %q", got)
		}
		// It is stored: a GET gives the same object.
		g := e.expect(e.do("GET", "/api/v1/recipes/"+d["id"].(string), u.token, nil), 200)
		if !reflect.DeepEqual(g.data(), d) {
			t.Fatalf("GET differs from POST:\n%v\n%v", g.data(), d)
		}
		// An explicit totalTime is kept.
		body["totalTime"] = 45
		if got := createRecipe(t, e, u.token, body)["totalTime"]; got != float64(45) {
			t.Fatalf("explicit totalTime: %v", got)
		}
	})
}

func TestRecipeCreateValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("strict@example.com")
		everything := recipeBody("  ")
		everything["ingredients"] = []map[string]any{{"name": " ", "quantity": "1", "unit": ""}}
		everything["preparationTime"] = -1
		everything["cookingTime"] = -5
		everything["servings"] = 0
		everything["imageUrl"] = "not a url"
		everything["difficulty"] = "IMPOSSIBLE"
		everything["tags"] = []string{strings.Repeat("t", 31), "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}

		noIngredients := recipeBody("Nothing In It")
		noIngredients["ingredients"] = []any{}
		cases := []struct {
			name string
			body any
			want []string
		}{
			{"every problem at once", everything, []string{
				"name: Recipe name cannot be blank",
				"ingredients[0].name: Ingredient name cannot be blank",
				"imageUrl: Image URL must be a valid URL",
				"preparationTime: Preparation time must be between 0 and 10080",
				"cookingTime: Cooking time must be between 0 and 10080",
				"servings: Servings must be between 1 and 100",
				"difficulty: Difficulty must be EASY, MEDIUM or HARD",
				"tags: You can have up to 10 tags",
				"tags[0]: Each tag cannot exceed 30 characters",
			}},
			{"empty ingredients", noIngredients, []string{"ingredients: Ingredients list cannot be empty"}},
			{"too long, with the reference's words", func() any {
				b := recipeBody(strings.Repeat("n", 101))
				b["cuisine"] = strings.Repeat("c", 51)
				b["instructions"] = []string{strings.Repeat("i", 2001)}
				return b
			}(), []string{
				"name: Recipe name cannot exceed 100 characters",
				"cuisine: Cuisine cannot exceed 50 characters",
				"instructions[0]: Each instruction cannot exceed 2000 characters",
			}},
			{"wrong type", `{"name": ["x"]}`, []string{"name: Must be a string"}},
			{"empty body", ``, []string{"body: Request body is required"}},
		}
		for _, c := range cases {
			r := e.expect(e.do("POST", "/api/v1/recipes", u.token, c.body), 400)
			if got := r.errors(); !slices.Equal(got, c.want) {
				t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
			}
		}
		// Nothing was stored, not even privately.
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes", u.token, nil), 200), 0, 20, 0, false)
	})
}

func TestRecipeCreateNeedsToken(t *testing.T) {
	e := sqliteEnv(t)
	r := e.expect(e.do("POST", "/api/v1/recipes", "", recipeBody("Anonymous")), 401)
	if got := r.errors(); !slices.Equal(got, []string{"Unauthorized: Authentication required"}) {
		t.Fatalf("errors %q", got)
	}
	checkPage(t, listRecipes(t, e, ""), 0, 20, 0, false)
}

// --- GET, PUT, DELETE /api/v1/recipes/{id} ---

func TestRecipeGet(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("reader@example.com")
		id := createRecipe(t, e, u.token, recipeBody("Readable"))["id"].(string)
		if got := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data()["name"]; got != "Readable" {
			t.Fatalf("name %v", got)
		}
		r := e.expect(e.do("GET", "/api/v1/recipes/not-a-uuid", u.token, nil), 400)
		if got := r.errors(); len(got) != 1 || !strings.HasPrefix(got[0], "id: Must be a UUID") {
			t.Fatalf("non-UUID: %q", got)
		}
		unknown := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		r = e.expect(e.do("GET", "/api/v1/recipes/"+unknown, u.token, nil), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + unknown}) {
			t.Fatalf("unknown: %q", got)
		}
		e.expect(e.do("GET", "/api/v1/recipes/"+id, "", nil), 401)
	})
}

func TestRecipeUpdate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("reader@example.com")
		admin := e.newAdmin("boss@example.com")
		created := createRecipe(t, e, admin.token, recipeBody("Before"))
		id := created["id"].(string)

		e.clock.advance(5 * time.Minute) // within the tokens' 15 minutes
		upd := recipeBody("After")
		upd["ingredients"] = []map[string]any{{"name": "Basil", "quantity": "1", "unit": "bunch"}}
		upd["instructions"] = []string{"Tear.", "Scatter.", "Serve."}
		upd["tags"] = []string{"summer"}
		upd["difficulty"] = "hard"
		delete(upd, "calories") // absent numbers keep their stored values
		delete(upd, "totalTime")
		upd["cookingTime"] = 50
		r := e.expect(e.do("PUT", "/api/v1/recipes/"+id, admin.token, upd), 200)
		d := r.data()
		if keys := objectKeys(t, mustField(t, r.raw, "data")); !slices.Equal(keys, recipeKeys) {
			t.Fatalf("keys %v", keys)
		}
		ua, _ := d["updatedAt"].(string)
		if got, err := time.Parse(time.RFC3339Nano, ua); err != nil || !instantRE.MatchString(ua) || !got.Equal(e.clock.now()) {
			t.Fatalf("updatedAt %q, want the clock's %v", ua, e.clock.now())
		}
		if d["createdAt"] != created["createdAt"] || d["id"] != id {
			t.Fatalf("id or createdAt changed: %v", d)
		}
		want := map[string]any{"name": "After", "difficulty": "HARD", "calories": 450.0, "cookingTime": 50.0, "totalTime": 60.0}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("%s = %v, want %v", k, d[k], v)
			}
		}
		if got := ingredientNamesOf(d); !slices.Equal(got, []string{"basil"}) {
			t.Errorf("ingredients not replaced: %v", got)
		}
		if got := strs(d["instructions"]); !slices.Equal(got, []string{"Tear.", "Scatter.", "Serve."}) {
			t.Errorf("instructions not replaced: %q", got)
		}
		if got := strs(d["tags"]); !slices.Equal(got, []string{"summer"}) {
			t.Errorf("tags not replaced: %q", got)
		}
		// Stored, and the search terms follow the new lists.
		if g := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data(); !reflect.DeepEqual(g, d) {
			t.Fatalf("GET after PUT:\n%v\n%v", g, d)
		}
		for q, n := range map[string]int{"tags=dinner": 0, "tags=summer": 1, "ingredients=tomato": 0, "ingredients=basil": 1, "name=before": 0} {
			checkPage(t, listRecipes(t, e, q), 0, 20, n, false)
		}

		// Not an admin (a catalogue recipe is curated); unknown id; bad
		// body; bad id.
		r = e.expect(e.do("PUT", "/api/v1/recipes/"+id, u.token, recipeBody("Mine")), 403)
		if got := r.errors(); !slices.Equal(got, []string{"Forbidden: Access Denied"}) {
			t.Fatalf("403: %q", got)
		}
		unknown := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		r = e.expect(e.do("PUT", "/api/v1/recipes/"+unknown, admin.token, recipeBody("Ghost")), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + unknown}) {
			t.Fatalf("404: %q", got)
		}
		bad := recipeBody("")
		e.expect(e.do("PUT", "/api/v1/recipes/"+id, admin.token, bad), 400)
		e.expect(e.do("PUT", "/api/v1/recipes/nope", admin.token, recipeBody("x")), 400)
		if g := e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200).data(); g["name"] != "After" {
			t.Fatalf("a refused PUT changed the recipe: %v", g["name"])
		}
	})
}

// mustField returns the raw JSON of one top-level key.
func mustField(t *testing.T, raw []byte, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m[key]
}

func TestRecipeDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("deleter@example.com")
		admin := e.newAdmin("root@example.com")
		id := createRecipe(t, e, admin.token, recipeBody("Doomed"))["id"].(string)

		r := e.expect(e.do("DELETE", "/api/v1/recipes/"+id, u.token, nil), 403)
		if got := r.errors(); !slices.Equal(got, []string{"Forbidden: Access Denied"}) {
			t.Fatalf("403: %q", got)
		}
		e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 200)

		r = e.expect(e.do("DELETE", "/api/v1/recipes/"+id, admin.token, nil), 204)
		if len(r.raw) != 0 {
			t.Fatalf("204 with a body: %s", r.raw)
		}
		e.expect(e.do("GET", "/api/v1/recipes/"+id, u.token, nil), 404)
		checkPage(t, listRecipes(t, e, ""), 0, 20, 0, false)

		r = e.expect(e.do("DELETE", "/api/v1/recipes/"+id, admin.token, nil), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + id}) {
			t.Fatalf("second delete: %q", got)
		}
	})
}

// --- saving ---

var localDateTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?$`)

func TestRecipeSave(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("saver@example.com")
		other := e.newUser("other@example.com")
		admin := e.newAdmin("admin@example.com")
		rid := createRecipe(t, e, admin.token, recipeBody("Keeper"))["id"].(string)
		body := map[string]any{"userId": u.id, "recipeId": rid}

		r := e.expect(e.do("POST", "/api/v1/recipes/save", u.token, body), 200)
		data := mustField(t, r.raw, "data")
		if keys := objectKeys(t, data); !slices.Equal(keys, []string{"id", "user", "recipe", "savedAt", "type"}) {
			t.Fatalf("UserRecipeReadDto keys %v", keys)
		}
		if keys := objectKeys(t, mustField(t, data, "recipe")); !slices.Equal(keys, recipeKeys) {
			t.Fatalf("recipe keys %v", keys)
		}
		d := r.data()
		user := d["user"].(map[string]any)
		if d["type"] != "SAVED" || user["id"] != u.id || user["email"] != u.email || d["recipe"].(map[string]any)["id"] != rid {
			t.Fatalf("saved: %s", r.raw)
		}
		savedAt := d["savedAt"].(string)
		if !localDateTimeRE.MatchString(savedAt) {
			t.Fatalf("savedAt %q must be a local date-time without zone", savedAt)
		}

		// Saving again is idempotent: the same record.
		e.clock.advance(time.Minute)
		again := e.expect(e.do("POST", "/api/v1/recipes/save", u.token, body), 200).data()
		if again["id"] != d["id"] || again["savedAt"] != savedAt {
			t.Fatalf("second save: %v, first %v", again, d)
		}
		page := e.expect(e.do("GET", "/api/v1/recipes/saved", u.token, nil), 200)
		checkPage(t, page, 0, 6, 1, false)

		// For someone else: only an admin.
		r = e.expect(e.do("POST", "/api/v1/recipes/save", other.token, body), 403)
		if got := r.errors(); !slices.Equal(got, []string{"Forbidden: Access Denied"}) {
			t.Fatalf("403: %q", got)
		}
		forOther := map[string]any{"userId": other.id, "recipeId": rid}
		r = e.expect(e.do("POST", "/api/v1/recipes/save", admin.token, forOther), 200)
		if got := r.data()["user"].(map[string]any)["id"]; got != other.id {
			t.Fatalf("admin saved for %v, want %s", got, other.id)
		}
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/saved", other.token, nil), 200), 0, 6, 1, false)

		unknown := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		cases := []struct {
			name   string
			body   any
			status int
			want   []string
		}{
			{"unknown recipe", map[string]any{"userId": u.id, "recipeId": unknown}, 404, []string{"Resource: Recipe not found with id: " + unknown}},
			{"malformed userId", map[string]any{"userId": "42", "recipeId": rid}, 400, []string{"userId: Must be a UUID"}},
			{"both missing", map[string]any{}, 400, []string{"userId: User ID must not be null", "recipeId: Recipe ID must not be null"}},
		}
		for _, c := range cases {
			r := e.expect(e.do("POST", "/api/v1/recipes/save", u.token, c.body), c.status)
			if got := r.errors(); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		r = e.expect(e.do("POST", "/api/v1/recipes/save", admin.token, map[string]any{"userId": unknown, "recipeId": rid}), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: User not found with id: " + unknown}) {
			t.Errorf("unknown user: %q", got)
		}
		e.expect(e.do("POST", "/api/v1/recipes/save", "", body), 401)
	})
}

func TestRecipeUnsave(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("unsaver@example.com")
		other := e.newUser("nosy@example.com")
		rid := createRecipe(t, e, u.token, recipeBody("Fleeting"))["id"].(string)
		body := map[string]any{"userId": u.id, "recipeId": rid}
		e.expect(e.do("POST", "/api/v1/recipes/save", u.token, body), 200)

		e.expect(e.do("DELETE", "/api/v1/recipes/save", other.token, body), 403)
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/saved", u.token, nil), 200), 0, 6, 1, false)

		r := e.expect(e.do("DELETE", "/api/v1/recipes/save", u.token, body), 204)
		if len(r.raw) != 0 {
			t.Fatalf("204 with a body: %s", r.raw)
		}
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/saved", u.token, nil), 200), 0, 6, 0, false)
		r = e.expect(e.do("DELETE", "/api/v1/recipes/save", u.token, body), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Saved recipe not found for user"}) {
			t.Fatalf("second unsave: %q", got)
		}
		// The recipe itself stays.
		e.expect(e.do("GET", "/api/v1/recipes/"+rid, u.token, nil), 200)
	})
}

func TestRecipeSavedListNewestFirst(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("hoarder@example.com")
		var order []string // saved ids, oldest first
		for i := range 7 {
			id := createRecipe(t, e, u.token, recipeBody(fmt.Sprintf("Dish %d", i)))["id"].(string)
			e.expect(e.do("POST", "/api/v1/recipes/save", u.token, map[string]any{"userId": u.id, "recipeId": id}), 200)
			order = append(order, id)
			e.clock.advance(time.Minute)
		}
		slices.Reverse(order)

		r := e.expect(e.do("GET", "/api/v1/recipes/saved", u.token, nil), 200)
		checkPage(t, r, 0, 6, 7, true)
		items := dataItems(t, r)
		for _, raw := range rawItems(t, r.raw) {
			if keys := objectKeys(t, raw); !slices.Equal(keys, []string{"id", "user", "recipe", "savedAt", "type"}) {
				t.Fatalf("item keys %v", keys)
			}
		}
		var got []string
		for _, it := range items {
			if it["type"] != "SAVED" {
				t.Fatalf("type %v", it["type"])
			}
			got = append(got, it["recipe"].(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, order[:6]) {
			t.Fatalf("page 1 %v, want newest first %v", got, order[:6])
		}
		r = e.expect(e.do("GET", "/api/v1/recipes/saved?offset=6&limit=6", u.token, nil), 200)
		checkPage(t, r, 6, 6, 7, false)
		if last := dataItems(t, r); len(last) != 1 || last[0]["recipe"].(map[string]any)["id"] != order[6] {
			t.Fatalf("page 2: %s", r.raw)
		}
		e.expect(e.do("GET", "/api/v1/recipes/saved?limit=0", u.token, nil), 400)
		e.expect(e.do("GET", "/api/v1/recipes/saved", "", nil), 401)
	})
}

// rawItems returns the items of a response's "data" array undecoded, so
// that their key order can be checked.
func rawItems(t *testing.T, raw []byte) []json.RawMessage {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(mustField(t, raw, "data"), &items); err != nil {
		t.Fatalf("data is not an array: %v: %s", err, raw)
	}
	return items
}

// --- recommendations ---

// vegetarianNoMushroomItalian is the preference the recommendation tests set.
var vegetarianNoMushroomItalian = map[string]any{
	"dietaryRestrictions": []string{"vegetarian"}, "dislikedIngredients": []string{"mushroom"},
	"favoriteCuisines": []string{"Italian"},
}

func isVegetarianTagged(r map[string]any) bool {
	tags := strs(r["tags"])
	return slices.Contains(tags, "vegetarian") || slices.Contains(tags, "vegan")
}

func TestRecommendedHonoursPreferences(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("veggie@example.com")
		setPreferences(t, e, u, vegetarianNoMushroomItalian)

		// The oracle: Italian recipes this user may have, from the list endpoint.
		var italian []string
		for _, r := range dataItems(t, listRecipes(t, e, "cuisines=Italian&limit=100")) {
			if isVegetarianTagged(r) && !hasIngredientContaining(r, "mushroom") {
				italian = append(italian, r["id"].(string))
			}
		}
		if len(italian) == 0 || len(italian) >= 20 {
			t.Fatalf("the catalogue no longer suits this test: %d allowed Italian recipes", len(italian))
		}

		r := e.expect(e.do("GET", "/api/v1/recipes/recommended?limit=20", u.token, nil), 200)
		recs := dataItems(t, r)
		if len(recs) != 20 {
			t.Fatalf("limit 20 gave %d", len(recs))
		}
		for _, raw := range rawItems(t, r.raw) {
			if keys := objectKeys(t, raw); !slices.Equal(keys, recipeKeys) {
				t.Fatalf("recommended recipe keys %v", keys)
			}
		}
		for i, rec := range recs {
			if !isVegetarianTagged(rec) {
				t.Errorf("%s is not vegetarian: %v", rec["name"], rec["tags"])
			}
			if hasIngredientContaining(rec, "mushroom") {
				t.Errorf("%s has a disliked ingredient: %v", rec["name"], ingredientNamesOf(rec))
			}
			// Favourites first: exactly the allowed Italian recipes lead.
			if isItalian := rec["cuisine"] == "Italian"; isItalian != (i < len(italian)) {
				t.Errorf("position %d: %s (%s); %d Italian recipes should come first", i, rec["name"], rec["cuisine"], len(italian))
			}
		}
		if got := idsOf(recs[:len(italian)]); !sameSet(got, italian) {
			t.Errorf("leading recipes %v, want the allowed Italian ones %v", got, italian)
		}

		// The default limit, and a small one.
		if n := len(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/recommended", u.token, nil), 200))); n != 6 {
			t.Errorf("default limit gave %d, want 6", n)
		}
		if n := len(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/recommended?limit=3", u.token, nil), 200))); n != 3 {
			t.Errorf("limit 3 gave %d", n)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x"} {
			e.expect(e.do("GET", "/api/v1/recipes/recommended?"+q, u.token, nil), 400)
		}
		e.expect(e.do("GET", "/api/v1/recipes/recommended", "", nil), 401)
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestRecommendedLeavesOutSavedRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("saved-recs@example.com")
		setPreferences(t, e, u, vegetarianNoMushroomItalian)
		before := idsOf(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/recommended?limit=5", u.token, nil), 200)))
		for _, id := range before[:2] {
			e.expect(e.do("POST", "/api/v1/recipes/save", u.token, map[string]any{"userId": u.id, "recipeId": id}), 200)
		}
		after := idsOf(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/recommended?limit=5", u.token, nil), 200)))
		if len(after) != 5 {
			t.Fatalf("after saving, %d recommendations", len(after))
		}
		for _, id := range before[:2] {
			if slices.Contains(after, id) {
				t.Errorf("saved recipe %s is still recommended", id)
			}
		}
		// The rest keep their order and move up.
		if !slices.Equal(after[:3], before[2:]) {
			t.Errorf("after %v, want %v first", after, before[2:])
		}
	})
}

func TestTodayPicks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("picks@example.com")
		setPreferences(t, e, u, vegetarianNoMushroomItalian)
		r := e.expect(e.do("GET", "/api/v1/recipes/today-picks", u.token, nil), 200)
		picks := dataItems(t, r)
		if len(picks) == 0 || len(picks) > 2 {
			t.Fatalf("%d picks", len(picks))
		}
		for _, raw := range rawItems(t, r.raw) {
			if keys := objectKeys(t, raw); !slices.Equal(keys, recipeKeys) {
				t.Fatalf("pick keys %v", keys)
			}
		}
		for _, p := range picks {
			if !isVegetarianTagged(p) || hasIngredientContaining(p, "mushroom") {
				t.Errorf("pick %s breaks the preferences", p["name"])
			}
		}
		again := dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/today-picks", u.token, nil), 200))
		if !slices.Equal(idsOf(picks), idsOf(again)) {
			t.Fatalf("picks changed within the day: %v then %v", idsOf(picks), idsOf(again))
		}
		e.expect(e.do("GET", "/api/v1/recipes/today-picks", "", nil), 401)
	})
}
