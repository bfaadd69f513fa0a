package api_test

import (
	"slices"
	"strings"
	"testing"
)

// swapPath is the swap endpoint of one meal.
func swapPath(planID, date, mealType string) string {
	return "/api/v1/meal-plans/" + planID + "/meals/" + date + "/" + mealType + "/swap"
}

// mealAt returns the recipe id of the meal (date, mealType) of plan.
func mealAt(t *testing.T, plan map[string]any, date, mealType string) string {
	t.Helper()
	for _, m := range planMeals(t, plan) {
		if m.date == date && m.mealType == mealType {
			return m.recipe["id"].(string)
		}
	}
	t.Fatalf("no meal %s %s in the plan", date, mealType)
	return ""
}

// shoppingLines returns a plan's shopping list as "name|unit|quantity".
func shoppingLines(t *testing.T, e *env, token, planID string) []string {
	t.Helper()
	var out []string
	for _, it := range e.expect(e.do("GET", "/api/v1/meal-plans/"+planID+"/shopping-list", token, nil), 200).data()["items"].([]any) {
		m := it.(map[string]any)
		out = append(out, m["name"].(string)+"|"+m["unit"].(string)+"|"+m["quantity"].(string))
	}
	return out
}

// recipeEaterMayNot finds a catalogue recipe a vegan may not eat.
func recipeEaterMayNot(t *testing.T, e *env, token string) string {
	t.Helper()
	for _, r := range dataItems(t, e.expect(e.do("GET", "/api/v1/recipes?limit=100", token, nil), 200)) {
		for _, in := range r["ingredients"].([]any) {
			name := strings.ToLower(in.(map[string]any)["name"].(string))
			if strings.Contains(name, "chicken") || strings.Contains(name, "beef") {
				return r["id"].(string)
			}
		}
	}
	t.Fatal("no recipe with meat in the catalogue; the test needs one")
	return ""
}

// Swapping one meal of a personal plan: the planner's choice is another
// recipe the owner may eat, not one served that day; a chosen recipe is
// served as chosen; the rest of the plan stays; the shopping list follows
// the plan; a retry with the same Idempotency-Key is applied once.
func TestMealPlanSwapMeal(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		u := e.newUser("swapper@example.com")
		setPreferences(t, e, u, map[string]any{"dietaryRestrictions": []string{"vegan"}})
		plan := createPlan(t, e, u.token, map[string]any{"startDate": "2026-12-01", "numberOfDays": 2, "mealsPerDay": 3}).data()
		id := plan["id"].(string)
		before := shoppingLines(t, e, u.token, id)
		old := mealAt(t, plan, "2026-12-02", "LUNCH")

		r := e.expect(e.do("POST", swapPath(id, "2026-12-02", "LUNCH"), u.token, map[string]any{}, "Idempotency-Key", "swap-1"), 200)
		swapped := r.data()
		if keys := objectKeys(t, mustField(t, r.raw, "data")); !slices.Equal(keys, mealPlanKeys) {
			t.Fatalf("answer keys %v, want a plan's %v", keys, mealPlanKeys)
		}
		got := mealAt(t, swapped, "2026-12-02", "LUNCH")
		if got == old {
			t.Fatalf("the meal still has recipe %s", old)
		}
		for _, m := range planMeals(t, swapped) {
			if !slices.Contains(strs(m.recipe["tags"]), "vegan") {
				t.Errorf("%s %s: %s is not vegan", m.date, m.mealType, m.recipe["name"])
			}
			if m.date == "2026-12-02" && m.mealType != "LUNCH" && m.recipe["id"] == got {
				t.Errorf("the new lunch %s is also %s that day", got, m.mealType)
			}
			if m.date != "2026-12-02" || m.mealType != "LUNCH" {
				if want := mealAt(t, plan, m.date, m.mealType); m.recipe["id"] != want {
					t.Errorf("%s %s changed from %s to %v", m.date, m.mealType, want, m.recipe["id"])
				}
			}
		}
		if g := e.expect(e.do("GET", "/api/v1/meal-plans/"+id, u.token, nil), 200).data(); mealAt(t, g, "2026-12-02", "LUNCH") != got {
			t.Fatal("the swap was not stored")
		}
		after := shoppingLines(t, e, u.token, id)
		if slices.Equal(before, after) {
			t.Fatalf("the shopping list did not change with the plan: %v", after)
		}

		// The same key again: the first answer, nothing applied twice.
		again := e.expect(e.do("POST", swapPath(id, "2026-12-02", "LUNCH"), u.token, map[string]any{}, "Idempotency-Key", "swap-1"), 200).data()
		if mealAt(t, again, "2026-12-02", "LUNCH") != got {
			t.Fatal("a retried swap chose again")
		}
		if g := e.expect(e.do("GET", "/api/v1/meal-plans/"+id, u.token, nil), 200).data(); mealAt(t, g, "2026-12-02", "LUNCH") != got {
			t.Fatal("a retried swap was applied again")
		}

		// A chosen recipe, lower-case meal type: back to the old one.
		r = e.expect(e.do("POST", swapPath(id, "2026-12-02", "lunch"), u.token, map[string]any{"recipeId": old}), 200)
		if mealAt(t, r.data(), "2026-12-02", "LUNCH") != old {
			t.Fatal("the chosen recipe was not served")
		}
		if after := shoppingLines(t, e, u.token, id); !slices.Equal(after, before) {
			t.Fatalf("back to the first plan, but not to its shopping list:\n%v\n%v", after, before)
		}

		// A recipe the owner may not eat, an unknown one, a malformed one.
		meat := recipeEaterMayNot(t, e, u.token)
		cases := []struct {
			path string
			body any
			want []string
		}{
			{swapPath(id, "2026-12-02", "LUNCH"), map[string]any{"recipeId": meat},
				[]string{"recipeId: Not a recipe everyone this plan is for may eat (their diets, allergies and dislikes)"}},
			{swapPath(id, "2026-12-02", "LUNCH"), map[string]any{"recipeId": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
				[]string{"recipeId: No such recipe: 3fa85f64-5717-4562-b3fc-2c963f66afa6"}},
			{swapPath(id, "2026-12-02", "LUNCH"), map[string]any{"recipeId": "soup"}, []string{"recipeId: Must be a recipe's id (a UUID)"}},
			{swapPath(id, "2026-12-03", "LUNCH"), map[string]any{}, []string{"date: Must be a day of the plan, 2026-12-01 to 2026-12-02"}},
			{swapPath(id, "2026-11-30", "LUNCH"), map[string]any{}, []string{"date: Must be a day of the plan, 2026-12-01 to 2026-12-02"}},
			{swapPath(id, "1900-01-01", "LUNCH"), map[string]any{}, []string{"date: Must be a day of the plan, 2026-12-01 to 2026-12-02"}},
			{swapPath(id, "2026-12-32", "LUNCH"), map[string]any{}, []string{"date: Must be a date like 2026-01-31"}},
			{swapPath(id, "2026-12-02", "BRUNCH"), map[string]any{}, []string{"mealType: Must be one of the plan's meals: BREAKFAST, LUNCH, DINNER"}},
			{swapPath(id, "2026-12-03", "SUPPER"), map[string]any{}, []string{
				"date: Must be a day of the plan, 2026-12-01 to 2026-12-02",
				"mealType: Must be one of the plan's meals: BREAKFAST, LUNCH, DINNER"}},
		}
		for _, c := range cases {
			r := e.expect(e.do("POST", c.path, u.token, c.body), 400)
			if got := r.errors(); !slices.Equal(got, c.want) {
				t.Errorf("%s %v: %q, want %q", c.path, c.body, got, c.want)
			}
		}
		if after := shoppingLines(t, e, u.token, id); !slices.Equal(after, before) {
			t.Fatal("a refused swap changed the plan")
		}

		// An admin looking after the account swaps for the owner: a recipe
		// the owner (vegan) may eat, whatever the admin eats.
		admin := e.newAdmin("swap-admin@example.com")
		for range 3 {
			p := e.expect(e.do("POST", swapPath(id, "2026-12-01", "DINNER"), admin.token, map[string]any{}), 200).data()
			for _, m := range planMeals(t, p) {
				if m.date == "2026-12-01" && m.mealType == "DINNER" && !slices.Contains(strs(m.recipe["tags"]), "vegan") {
					t.Fatalf("an admin's swap chose %s, which the owner may not eat", m.recipe["name"])
				}
			}
		}
		e.expect(e.do("POST", swapPath(id, "2026-12-01", "DINNER"), admin.token, map[string]any{"recipeId": meat}), 400)
		e.expect(e.do("POST", swapPath(id, "2026-12-02", "LUNCH"), u.token, map[string]any{"recipeId": old}), 200)

		// Another user's plan does not exist for them; nor does anyone's
		// without a token.
		other := e.newUser("not-the-owner@example.com")
		r = e.expect(e.do("POST", swapPath(id, "2026-12-02", "LUNCH"), other.token, map[string]any{}), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Meal plan not found with id: " + id}) {
			t.Fatalf("another's plan: %q", got)
		}
		e.expect(e.do("POST", swapPath("3fa85f64-5717-4562-b3fc-2c963f66afa6", "2026-12-02", "LUNCH"), u.token, map[string]any{}), 404)
		e.expect(e.do("POST", swapPath("not-a-uuid", "2026-12-02", "LUNCH"), u.token, map[string]any{}), 400)
		e.expect(e.do("POST", swapPath(id, "2026-12-02", "LUNCH"), "", map[string]any{}), 401)
		if g := e.expect(e.do("GET", "/api/v1/meal-plans/"+id, u.token, nil), 200).data(); mealAt(t, g, "2026-12-02", "LUNCH") != old {
			t.Fatal("a refused swap changed the plan")
		}
	})
}

// Swapping a meal of a household's plan: any member may, the new recipe is
// one every member may eat (one is vegan), the change reaches the
// household's feed, and no outsider nor admin may.
func TestHouseholdMealPlanSwap(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		ana, bo, eve := e.newUser("ana@example.com"), e.newUser("bo@example.com"), e.newUser("eve@example.com")
		admin := e.newAdmin("root@example.com")
		setPreferences(t, e, bo, map[string]any{"dietaryRestrictions": []string{"vegan"}})
		hid := e.expect(e.do("POST", "/api/v1/households", ana.token, map[string]any{"name": "Home"}), 201).data()["household"].(map[string]any)["id"].(string)
		join(t, e, ana, hid, bo)
		plan := createPlan(t, e, ana.token, map[string]any{"startDate": "2026-12-07", "numberOfDays": 2, "mealsPerDay": 2, "householdId": hid}).data()
		id := plan["id"].(string)
		since := e.expect(e.do("GET", "/api/v1/sync", bo.token, nil), 200).data()["revision"].(float64)

		// Ana (who eats anything) may not choose what Bo may not eat.
		meat := recipeEaterMayNot(t, e, ana.token)
		r := e.expect(e.do("POST", swapPath(id, "2026-12-08", "DINNER"), ana.token, map[string]any{"recipeId": meat}), 400)
		if got := r.errors(); !slices.Equal(got, []string{"recipeId: Not a recipe everyone this plan is for may eat (their diets, allergies and dislikes)"}) {
			t.Fatalf("%q", got)
		}
		// The planner's choice is for Bo too.
		old := mealAt(t, plan, "2026-12-08", "DINNER")
		swapped := e.expect(e.do("POST", swapPath(id, "2026-12-08", "DINNER"), ana.token, map[string]any{}, "Idempotency-Key", "hh-swap"), 200).data()
		got := mealAt(t, swapped, "2026-12-08", "DINNER")
		for _, m := range planMeals(t, swapped) {
			if !slices.Contains(strs(m.recipe["tags"]), "vegan") {
				t.Errorf("%s %s: %s is not for every member", m.date, m.mealType, m.recipe["name"])
			}
		}
		if got == old {
			t.Fatal("not swapped")
		}
		if swapped["householdId"] != hid {
			t.Fatalf("plan: %v", swapped)
		}
		// Bo's feed carries the changed plan, once, with the new recipe.
		f := e.expect(e.do("GET", "/api/v1/sync?since="+ftoa(since), bo.token, nil), 200).data()
		if ops := feedOps(f); !slices.Equal(ops, []string{"upsert mealPlan " + id}) {
			t.Fatalf("feed %v, want the plan's change", ops)
		}
		changed := f["changes"].([]any)[0].(map[string]any)["data"].(map[string]any)
		lastMeal := changed["days"].([]any)[1].(map[string]any)["meals"].([]any)[1].(map[string]any)
		if lastMeal["type"] != "DINNER" || lastMeal["recipeId"] != got {
			t.Fatalf("feed's plan has %v, want DINNER %s", lastMeal, got)
		}
		// A retry is applied once: no second revision.
		e.expect(e.do("POST", swapPath(id, "2026-12-08", "DINNER"), ana.token, map[string]any{}, "Idempotency-Key", "hh-swap"), 200)
		if f := e.expect(e.do("GET", "/api/v1/sync?since="+ftoa(since), bo.token, nil), 200).data(); len(feedOps(f)) != 1 {
			t.Fatalf("a retried swap made another change: %v", feedOps(f))
		}
		// Bo swaps too; an outsider and an admin may not.
		e.expect(e.do("POST", swapPath(id, "2026-12-07", "LUNCH"), bo.token, map[string]any{}), 200)
		for _, who := range []session{eve, admin} {
			if r := e.do("POST", swapPath(id, "2026-12-07", "LUNCH"), who.token, map[string]any{}); r.status != 404 {
				t.Errorf("a non-member swapped: %d %s", r.status, r.raw)
			}
		}
	})
}
