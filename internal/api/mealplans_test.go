package api_test

import (
	"encoding/json"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var mealPlanKeys = []string{"id", "startDate", "numberOfDays", "mealsPerDay", "days", "createdAt"}

// createPlan posts a plan request and expects 201.
func createPlan(t *testing.T, e *env, token string, body any) response {
	t.Helper()
	return e.expect(e.do("POST", "/api/v1/meal-plans", token, body), 201)
}

// planMeals returns a plan's meals in order, as (date, type, recipe).
type plannedMeal struct {
	date, mealType string
	recipe         map[string]any
}

func planMeals(t *testing.T, plan map[string]any) []plannedMeal {
	t.Helper()
	var out []plannedMeal
	for _, d := range plan["days"].([]any) {
		day := d.(map[string]any)
		for _, m := range day["meals"].([]any) {
			meal := m.(map[string]any)
			rec, _ := meal["recipe"].(map[string]any)
			out = append(out, plannedMeal{day["date"].(string), meal["type"].(string), rec})
		}
	}
	return out
}

func TestMealPlanCreateHonoursPreferences(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("vegan@example.com")
		setPreferences(t, e, u, map[string]any{"dietaryRestrictions": []string{"vegan"}})

		r := createPlan(t, e, u.token, map[string]any{"startDate": "2026-12-01", "numberOfDays": 3, "mealsPerDay": 3})
		if keys := objectKeys(t, mustField(t, r.raw, "data")); !slices.Equal(keys, mealPlanKeys) {
			t.Fatalf("plan keys %v, want %v", keys, mealPlanKeys)
		}
		plan := r.data()
		if plan["startDate"] != "2026-12-01" || plan["numberOfDays"] != 3.0 || plan["mealsPerDay"] != 3.0 {
			t.Fatalf("plan: %s", r.raw)
		}
		if got, _ := time.Parse(time.RFC3339Nano, plan["createdAt"].(string)); !got.Equal(e.clock.now()) || !instantRE.MatchString(plan["createdAt"].(string)) {
			t.Fatalf("createdAt %v", plan["createdAt"])
		}
		days := plan["days"].([]any)
		if len(days) != 3 {
			t.Fatalf("%d days", len(days))
		}
		for i, want := range []string{"2026-12-01", "2026-12-02", "2026-12-03"} {
			day := days[i].(map[string]any)
			if day["date"] != want {
				t.Fatalf("day %d date %v, want %s", i, day["date"], want)
			}
			var types []string
			for _, m := range day["meals"].([]any) {
				types = append(types, m.(map[string]any)["type"].(string))
			}
			if !slices.Equal(types, []string{"BREAKFAST", "LUNCH", "DINNER"}) {
				t.Fatalf("day %d meals %v", i, types)
			}
		}
		for _, m := range planMeals(t, plan) {
			if m.recipe == nil {
				t.Fatalf("%s %s has no recipe", m.date, m.mealType)
			}
			if keys := objectKeys(t, mustJSONOrdered(t, r.raw, m.recipe["id"].(string))); !slices.Equal(keys, recipeKeys) {
				t.Fatalf("a meal's recipe is a full RecipeReadDto; keys %v", keys)
			}
			if !slices.Contains(strs(m.recipe["tags"]), "vegan") {
				t.Errorf("%s %s: %s is not vegan: %v", m.date, m.mealType, m.recipe["name"], m.recipe["tags"])
			}
		}
		e.expect(e.do("POST", "/api/v1/meal-plans", "", map[string]any{"startDate": "2026-12-01", "numberOfDays": 1, "mealsPerDay": 1}), 401)
	})
}

// mustJSONOrdered finds the raw JSON object of the first recipe with id in
// raw, so that its key order can be checked.
func mustJSONOrdered(t *testing.T, raw []byte, id string) []byte {
	t.Helper()
	s := string(raw)
	i := strings.Index(s, `{"id":"`+id+`"`)
	if i < 0 {
		t.Fatalf("recipe %s not in %s", id, raw)
	}
	depth := 0
	inString := false
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case inString && c == '\\':
			j++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			if depth--; depth == 0 {
				return []byte(s[i : j+1])
			}
		}
	}
	t.Fatalf("unterminated object for %s", id)
	return nil
}

func TestMealPlanFewerMealsPerDay(t *testing.T) {
	e := sqliteEnv(t)
	seedCatalog(t, e)
	u := e.newUser("light@example.com")
	plan := createPlan(t, e, u.token, map[string]any{"startDate": "2026-02-27", "numberOfDays": 3, "mealsPerDay": 2}).data()
	var got []string
	for _, m := range planMeals(t, plan) {
		got = append(got, m.date+" "+m.mealType)
	}
	want := []string{"2026-02-27 LUNCH", "2026-02-27 DINNER", "2026-02-28 LUNCH", "2026-02-28 DINNER", "2026-03-01 LUNCH", "2026-03-01 DINNER"}
	if !slices.Equal(got, want) {
		t.Fatalf("meals %q, want %q", got, want)
	}
}

func TestMealPlanValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("planner@example.com")
		cases := []struct {
			name string
			body any
			want []string
		}{
			{"everything wrong", map[string]any{"startDate": "01/12/2026", "numberOfDays": 0, "mealsPerDay": 4}, []string{
				"startDate: Must be a date like 2026-01-31",
				"numberOfDays: Must be between 1 and 28",
				"mealsPerDay: Must be between 1 and 3",
			}},
			{"not a day of the calendar", map[string]any{"startDate": "2026-02-30", "numberOfDays": 1, "mealsPerDay": 1},
				[]string{"startDate: Must be a date like 2026-01-31"}},
			{"29 days", map[string]any{"startDate": "2026-12-01", "numberOfDays": 29, "mealsPerDay": 3},
				[]string{"numberOfDays: Must be between 1 and 28"}},
			{"missing everything", `{}`, []string{
				"startDate: Must be a date like 2026-01-31",
				"numberOfDays: Must be between 1 and 28",
				"mealsPerDay: Must be between 1 and 3",
			}},
			{"a string for a number", `{"startDate": "2026-12-01", "numberOfDays": "3", "mealsPerDay": 3}`,
				[]string{"numberOfDays: Must be an integer"}},
		}
		for _, c := range cases {
			r := e.expect(e.do("POST", "/api/v1/meal-plans", u.token, c.body), 400)
			if got := r.errors(); !slices.Equal(got, c.want) {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		checkPage(t, e.expect(e.do("GET", "/api/v1/meal-plans", u.token, nil), 200), 0, 10, 0, false)
	})
}

func TestMealPlanReadListDelete(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("owner-plans@example.com")
		other := e.newUser("snoop@example.com")
		first := createPlan(t, e, u.token, map[string]any{"startDate": "2026-12-01", "numberOfDays": 2, "mealsPerDay": 1}).data()
		e.clock.advance(time.Minute)
		second := createPlan(t, e, u.token, map[string]any{"startDate": "2026-12-08", "numberOfDays": 1, "mealsPerDay": 3}).data()
		id := first["id"].(string)

		// One plan, as created.
		got := e.expect(e.do("GET", "/api/v1/meal-plans/"+id, u.token, nil), 200).data()
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("GET differs from POST:\n%v\n%v", got, first)
		}

		// The list: the pagination envelope, newest first.
		r := e.expect(e.do("GET", "/api/v1/meal-plans", u.token, nil), 200)
		checkPage(t, r, 0, 10, 2, false)
		if ids := idsOf(dataItems(t, r)); !slices.Equal(ids, []string{second["id"].(string), id}) {
			t.Fatalf("list %v, want newest first", ids)
		}
		for _, raw := range rawItems(t, r.raw) {
			if keys := objectKeys(t, raw); !slices.Equal(keys, mealPlanKeys) {
				t.Fatalf("list item keys %v", keys)
			}
		}
		r = e.expect(e.do("GET", "/api/v1/meal-plans?offset=1&limit=1", u.token, nil), 200)
		checkPage(t, r, 1, 1, 2, false)
		checkPage(t, e.expect(e.do("GET", "/api/v1/meal-plans?limit=1", u.token, nil), 200), 0, 1, 2, true)
		e.expect(e.do("GET", "/api/v1/meal-plans?limit=0", u.token, nil), 400)

		// Another user's plan does not exist for them, not even to delete.
		notFound := []string{"Resource: Meal plan not found with id: " + id}
		for _, m := range []string{"GET", "DELETE"} {
			r := e.expect(e.do(m, "/api/v1/meal-plans/"+id, other.token, nil), 404)
			if got := r.errors(); !slices.Equal(got, notFound) {
				t.Fatalf("%s by another user: %q", m, got)
			}
		}
		e.expect(e.do("GET", "/api/v1/meal-plans/"+id+"/shopping-list", other.token, nil), 404)
		checkPage(t, e.expect(e.do("GET", "/api/v1/meal-plans", other.token, nil), 200), 0, 10, 0, false)
		e.expect(e.do("GET", "/api/v1/meal-plans/"+id, u.token, nil), 200)

		// Delete, then it is gone.
		r = e.expect(e.do("DELETE", "/api/v1/meal-plans/"+id, u.token, nil), 204)
		if len(r.raw) != 0 {
			t.Fatalf("204 with a body: %s", r.raw)
		}
		r = e.expect(e.do("GET", "/api/v1/meal-plans/"+id, u.token, nil), 404)
		if got := r.errors(); !slices.Equal(got, notFound) {
			t.Fatalf("after delete: %q", got)
		}
		e.expect(e.do("DELETE", "/api/v1/meal-plans/"+id, u.token, nil), 404)
		checkPage(t, e.expect(e.do("GET", "/api/v1/meal-plans", u.token, nil), 200), 0, 10, 1, false)

		e.expect(e.do("GET", "/api/v1/meal-plans/not-a-uuid", u.token, nil), 400)
		e.expect(e.do("GET", "/api/v1/meal-plans", "", nil), 401)
	})
}

func TestMealPlanShoppingList(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("shopper@example.com")
		plan := createPlan(t, e, u.token, map[string]any{"startDate": "2026-12-01", "numberOfDays": 7, "mealsPerDay": 3}).data()
		id := plan["id"].(string)

		r := e.expect(e.do("GET", "/api/v1/meal-plans/"+id+"/shopping-list", u.token, nil), 200)
		list := r.data()
		if list["mealPlanId"] != id {
			t.Fatalf("mealPlanId %v", list["mealPlanId"])
		}
		var items []map[string]any
		for _, it := range list["items"].([]any) {
			items = append(items, it.(map[string]any))
		}
		if len(items) == 0 {
			t.Fatal("empty shopping list")
		}
		var rawList []json.RawMessage
		if err := json.Unmarshal(mustField(t, mustField(t, r.raw, "data"), "items"), &rawList); err != nil {
			t.Fatal(err)
		}
		for _, raw := range rawList {
			if ks := objectKeys(t, raw); !slices.Equal(ks, []string{"name", "quantity", "unit", "recipes"}) {
				t.Fatalf("item keys %v", ks)
			}
		}
		var keys []string
		for _, it := range items {
			keys = append(keys, it["name"].(string)+"\x00"+it["unit"].(string))
		}
		if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
			t.Fatalf("items are not one line per name and unit, sorted: %v", keys)
		}

		// By hand: the meals that need garlic cloves, and how many cloves.
		meals, cloves := 0, new(big.Rat)
		for _, m := range planMeals(t, plan) {
			counted := false
			for _, in := range m.recipe["ingredients"].([]any) {
				ing := in.(map[string]any)
				if strings.ToLower(ing["name"].(string)) != "garlic" || !strings.HasPrefix(ing["unit"].(string), "clove") {
					continue
				}
				q, ok := new(big.Rat).SetString(ing["quantity"].(string))
				if !ok {
					t.Fatalf("garlic quantity %q", ing["quantity"])
				}
				cloves.Add(cloves, q)
				if !counted {
					meals, counted = meals+1, true
				}
			}
		}
		if meals == 0 {
			t.Fatal("no planned meal uses garlic; the test needs one")
		}
		i := slices.IndexFunc(items, func(it map[string]any) bool { return it["name"] == "garlic" && it["unit"] == "clove" })
		if i < 0 {
			t.Fatalf("no garlic line in %v", items)
		}
		if items[i]["recipes"] != float64(meals) {
			t.Errorf("garlic recipes %v, want %d meals", items[i]["recipes"], meals)
		}
		if got, ok := new(big.Rat).SetString(items[i]["quantity"].(string)); !ok || got.Cmp(cloves) != 0 {
			t.Errorf("garlic quantity %v, want %s", items[i]["quantity"], cloves.RatString())
		}
		e.expect(e.do("GET", "/api/v1/meal-plans/3fa85f64-5717-4562-b3fc-2c963f66afa6/shopping-list", u.token, nil), 404)
	})
}
