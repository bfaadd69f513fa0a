package api_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"
)

// generateRecipes posts a generate-recipes body and expects 200.
func generateRecipes(t *testing.T, e *env, token string, body any) []map[string]any {
	t.Helper()
	r := e.expect(e.do("POST", "/api/v1/recipes/generate-recipes", token, body), 200)
	for _, raw := range rawItems(t, r.raw) {
		if keys := objectKeys(t, raw); !slices.Equal(keys, recipeKeys) {
			t.Fatalf("generated recipe keys %v", keys)
		}
	}
	return dataItems(t, r)
}

func TestGenerateUsesTheGivenIngredients(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("chef@example.com")

		// Bare names and {name, quantity, unit} objects are the same request.
		asStrings := generateRecipes(t, e, u.token, map[string]any{"ingredients": []any{"Tomatoes", "chickpea"}})
		asObjects := generateRecipes(t, e, u.token, map[string]any{"ingredients": []any{
			map[string]any{"name": "Tomatoes", "quantity": "4", "unit": ""},
			map[string]any{"name": "chickpea", "quantity": "400", "unit": "g"},
		}})
		mixed := generateRecipes(t, e, u.token, `{"ingredients": ["Tomatoes", {"name": "chickpea"}]}`)
		if len(asStrings) == 0 || len(asStrings) > 3 {
			t.Fatalf("%d recipes, want 1 to 3", len(asStrings))
		}
		for _, r := range asStrings {
			if !hasIngredientContaining(r, "tomato") && !hasIngredientContaining(r, "chickpea") {
				t.Errorf("%s uses neither ingredient: %v", r["name"], ingredientNamesOf(r))
			}
		}
		if !slices.Equal(idsOf(asStrings), idsOf(asObjects)) || !slices.Equal(idsOf(asStrings), idsOf(mixed)) {
			t.Fatalf("strings %v, objects %v, mixed %v", names(asStrings), names(asObjects), names(mixed))
		}
		// Deterministic.
		again := generateRecipes(t, e, u.token, map[string]any{"ingredients": []any{"Tomatoes", "chickpea"}})
		if !slices.Equal(idsOf(again), idsOf(asStrings)) {
			t.Fatalf("first %v, then %v", names(asStrings), names(again))
		}
		// The catalogue's recipes are reused, not copied.
		checkPage(t, listRecipes(t, e, "limit=1"), 0, 1, 217, true)
		e.expect(e.do("POST", "/api/v1/recipes/generate-recipes", "", map[string]any{"ingredients": []string{"egg"}}), 401)
	})
}

func TestGeneratePreferences(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("picky@example.com")
		ingredients := []string{"tomato", "garlic", "onion"}

		// Without preferences the best matches include recipes this user
		// will refuse below, so the filter is not vacuous.
		free := generateRecipes(t, e, u.token, map[string]any{"ingredients": ingredients})
		if !slices.ContainsFunc(free, func(r map[string]any) bool {
			return !slices.Contains(strs(r["tags"]), "vegan") || hasIngredientContaining(r, "garlic")
		}) {
			t.Fatalf("the catalogue no longer suits this test: %v", names(free))
		}

		arrays := generateRecipes(t, e, u.token, map[string]any{"ingredients": ingredients, "userPreference": map[string]any{
			"dietaryRestrictions": []string{"vegan"}, "favoriteCuisines": []string{"Indian"}, "dislikedIngredients": []string{"garlic"},
		}})
		commas := generateRecipes(t, e, u.token, map[string]any{"ingredients": ingredients, "userPreference": map[string]any{
			"dietaryRestrictions": "vegan, None", "favoriteCuisines": "None,Indian", "dislikedIngredients": "garlic",
		}})
		if len(arrays) == 0 {
			t.Fatal("no vegan recipe without garlic from tomato and onion")
		}
		for _, r := range arrays {
			if !slices.Contains(strs(r["tags"]), "vegan") || hasIngredientContaining(r, "garlic") {
				t.Errorf("%s breaks the request's preferences: %v %v", r["name"], r["tags"], ingredientNamesOf(r))
			}
		}
		if !slices.Equal(idsOf(arrays), idsOf(commas)) {
			t.Fatalf("arrays gave %v, comma strings %v", names(arrays), names(commas))
		}

		// Without userPreference, the stored preferences apply.
		setPreferences(t, e, u, map[string]any{"dietaryRestrictions": []string{"vegan"}, "favoriteCuisines": []string{"Indian"},
			"dislikedIngredients": []string{"garlic"}})
		stored := generateRecipes(t, e, u.token, map[string]any{"ingredients": ingredients})
		if !slices.Equal(idsOf(stored), idsOf(arrays)) {
			t.Fatalf("stored preferences gave %v, want %v", names(stored), names(arrays))
		}

		// "None" is dropped: it is no disliked ingredient, so an ingredient
		// called "none" is still usable (and simply matches nothing).
		r := e.expect(e.do("POST", "/api/v1/recipes/generate-recipes", u.token, map[string]any{
			"ingredients": []string{"none"}, "userPreference": map[string]any{"dislikedIngredients": "None"},
		}), 200)
		if len(dataItems(t, r)) != 0 {
			t.Fatalf("an ingredient named none matched: %s", r.raw)
		}
	})
}

func TestGenerateBadRequests(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("sloppy@example.com")
		cases := []struct {
			name string
			body any
			want []string
		}{
			{"missing", `{}`, []string{"ingredients: Ingredients list cannot be null"}},
			{"null", `{"ingredients": null}`, []string{"ingredients: Ingredients list cannot be null"}},
			{"empty", `{"ingredients": []}`, []string{"ingredients: Ingredients list cannot be empty"}},
			{"a number for the list", `{"ingredients": 5}`, []string{"ingredients: Must be an array"}},
			{"a blank name", `{"ingredients": ["tomato", "  "]}`, []string{"ingredients[1].name: Ingredient name cannot be blank"}},
			{"only disliked ingredients", map[string]any{"ingredients": []string{"Mushrooms", "mushroom"},
				"userPreference": map[string]any{"dislikedIngredients": []string{"mushroom"}}},
				[]string{"Bad Request: Every ingredient given is on your disliked list"}},
			{"a number in a preference list", `{"ingredients": ["egg"], "userPreference": {"dietaryRestrictions": 7}}`,
				[]string{"userPreference.dietaryRestrictions: Must be an array or comma-separated string"}},
		}
		for _, c := range cases {
			r := e.expect(e.do("POST", "/api/v1/recipes/generate-recipes", u.token, c.body), 400)
			if got := r.errors(); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		// Nothing was recorded.
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/recent", u.token, nil), 200), 0, 6, 0, false)
	})
}

func TestGenerateThenRecent(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("recent@example.com")
		other := e.newUser("stranger@example.com")
		first := generateRecipes(t, e, u.token, map[string]any{"ingredients": []string{"salmon"}})
		e.clock.advance(time.Minute)
		second := generateRecipes(t, e, u.token, map[string]any{"ingredients": []string{"lentil"}})
		if len(first) == 0 || len(second) == 0 || slices.ContainsFunc(idsOf(first), func(id string) bool { return slices.Contains(idsOf(second), id) }) {
			t.Fatalf("need two disjoint answers: %v and %v", names(first), names(second))
		}

		r := e.expect(e.do("GET", "/api/v1/recipes/recent?limit=20", u.token, nil), 200)
		n := len(first) + len(second)
		checkPage(t, r, 0, 20, n, false)
		for _, raw := range rawItems(t, r.raw) {
			if keys := objectKeys(t, raw); !slices.Equal(keys, recipeKeys) {
				t.Fatalf("recent items are RecipeReadDto, keys %v", keys)
			}
		}
		got := idsOf(dataItems(t, r))
		// Newest first: the second answer, then the first.
		if !sameSet(got[:len(second)], idsOf(second)) || !sameSet(got[len(second):], idsOf(first)) {
			t.Fatalf("recent %v; second %v, first %v", got, idsOf(second), idsOf(first))
		}

		// Generating the same again records no duplicates.
		e.clock.advance(time.Minute)
		generateRecipes(t, e, u.token, map[string]any{"ingredients": []string{"lentil"}})
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/recent?limit=20", u.token, nil), 200), 0, 20, n, false)

		// Default page of 6, and only the caller's.
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/recent", u.token, nil), 200), 0, 6, n, n > 6)
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/recent", other.token, nil), 200), 0, 6, 0, false)
		e.expect(e.do("GET", "/api/v1/recipes/recent?offset=-1", u.token, nil), 400)
		// Generated recipes are not saved ones.
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/saved", u.token, nil), 200), 0, 6, 0, false)
	})
}

func TestValidateIngredients(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("validator@example.com")
		r := e.expect(e.do("POST", "/api/v1/recipes/validate-ingredients", u.token, `{"ingredients": [
			"  Fresh Tomatoes, chopped ", {"name": "tomato", "quantity": "2", "unit": "pcs"},
			"Garlic", {"name": "GARLIC", "quantity": "3", "unit": ""}, "Basil Leaves (torn)"]}`), 200)
		var got []map[string]string
		if err := json.Unmarshal(mustField(t, r.raw, "data"), &got); err != nil {
			t.Fatal(err)
		}
		want := []map[string]string{
			{"name": "tomato", "quantity": "", "unit": ""},
			{"name": "tomato", "quantity": "2", "unit": "pcs"},
			{"name": "garlic", "quantity": "", "unit": ""},
			{"name": "basil leaf", "quantity": "", "unit": ""},
		}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			if !maps.Equal(got[i], want[i]) {
				t.Fatalf("item %d: %v, want %v (all: %v)", i, got[i], want[i], got)
			}
		}
		for _, c := range []struct{ body, want string }{
			{`{"ingredients": []}`, "ingredients: Ingredients list cannot be empty"},
			{`{}`, "ingredients: Ingredients list cannot be null"},
		} {
			r := e.expect(e.do("POST", "/api/v1/recipes/validate-ingredients", u.token, c.body), 400)
			if got := r.errors(); !slices.Equal(got, []string{c.want}) {
				t.Errorf("%s: %q", c.body, got)
			}
		}
		e.expect(e.do("POST", "/api/v1/recipes/validate-ingredients", "", `{"ingredients": ["egg"]}`), 401)
	})
}
