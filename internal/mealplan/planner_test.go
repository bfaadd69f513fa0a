package mealplan_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
)

var start = time.Date(2025, time.March, 3, 0, 0, 0, 0, time.UTC)

// recipe returns a catalogue recipe; tags carry meal types and diets, and
// ingredients are names only.
func recipe(id, cuisine string, tags []string, ingredients ...string) *mealsync.Recipe {
	r := &mealsync.Recipe{ID: id, Name: "Recipe " + id, Cuisine: cuisine, Tags: tags}
	for _, i := range ingredients {
		r.Ingredients = append(r.Ingredients, mealsync.Ingredient{Name: i, Quantity: "1"})
	}
	return r
}

func tags(t ...string) []string { return t }

// allowedBy stands in for ranking.Allowed: a recipe must carry every
// dietary restriction as a tag and name no disliked ingredient.
func allowedBy(prefs mealsync.Preferences) func(*mealsync.Recipe) bool {
	return func(r *mealsync.Recipe) bool {
		for _, d := range prefs.DietaryRestrictions {
			if !slices.Contains(r.Tags, d) {
				return false
			}
		}
		for _, ing := range r.Ingredients {
			for _, d := range prefs.DislikedIngredients {
				if strings.Contains(ing.Name, d) {
					return false
				}
			}
		}
		return true
	}
}

func request(days, mealsPerDay int, seed string, prefs mealsync.Preferences) mealplan.Request {
	return mealplan.Request{StartDate: start, Days: days, MealsPerDay: mealsPerDay, Seed: seed, Allowed: allowedBy(prefs)}
}

// ids lists the recipe IDs of meals, "-" for none.
func ids(meals []mealsync.PlannedMeal) []string {
	var l []string
	for _, m := range meals {
		if m.Recipe == nil {
			l = append(l, "-")
			continue
		}
		l = append(l, m.Recipe.ID)
	}
	return l
}

// checkShape fails t unless meals has one meal per day and meal type, in
// order, each with a recipe, no recipe twice in a day.
func checkShape(t *testing.T, meals []mealsync.PlannedMeal, req mealplan.Request) {
	t.Helper()
	types := mealplan.MealTypes(req.MealsPerDay)
	if len(meals) != req.Days*len(types) {
		t.Fatalf("got %d meals, want %d days × %d", len(meals), req.Days, len(types))
	}
	for i, m := range meals {
		if want := (mealsync.PlannedMeal{Day: i / len(types), MealType: types[i%len(types)]}); m.Day != want.Day || m.MealType != want.MealType {
			t.Errorf("meal %d is day %d %s, want day %d %s", i, m.Day, m.MealType, want.Day, want.MealType)
		}
		if m.Recipe == nil {
			t.Errorf("meal %d (day %d %s) has no recipe", i, m.Day, m.MealType)
		}
	}
	for day := range req.Days {
		today := ids(meals[day*len(types) : (day+1)*len(types)])
		if len(slices.Compact(slices.Sorted(slices.Values(today)))) != len(today) {
			t.Errorf("day %d serves a recipe twice: %v", day, today)
		}
	}
}

func TestMealTypes(t *testing.T) {
	for n, want := range map[int][]string{
		1: {mealsync.Dinner},
		2: {mealsync.Lunch, mealsync.Dinner},
		3: {mealsync.Breakfast, mealsync.Lunch, mealsync.Dinner},
		0: nil,
		4: nil,
	} {
		if got := mealplan.MealTypes(n); !slices.Equal(got, want) {
			t.Errorf("MealTypes(%d) = %v, want %v", n, got, want)
		}
	}
}

// TestPlanRules runs each rule on a small catalogue, over several seeds, so
// that a rule cannot pass by the luck of one hash order.
func TestPlanRules(t *testing.T) {
	tests := []struct {
		name    string
		recipes []*mealsync.Recipe
		prefs   mealsync.Preferences
		days    int
		perDay  int
		check   func(t *testing.T, meals []mealsync.PlannedMeal)
	}{
		{
			name: "each meal gets a recipe tagged with its meal type",
			recipes: []*mealsync.Recipe{
				recipe("b1", "", tags("breakfast")), recipe("b2", "", tags("Breakfast")),
				recipe("l1", "", tags("lunch")), recipe("l2", "", tags(" LUNCH ")),
				recipe("d1", "", tags("dinner")), recipe("d2", "", tags("dinner", "quick")),
				recipe("s1", "", tags("snack")),
			},
			days: 4, perDay: 3,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				for _, m := range meals {
					if !strings.HasPrefix(m.Recipe.ID, strings.ToLower(m.MealType[:1])) {
						t.Errorf("day %d %s got %s, which is not tagged %s", m.Day, m.MealType, m.Recipe.ID, m.MealType)
					}
				}
			},
		},
		{
			name: "a meal type nothing is tagged with takes any allowed recipe",
			recipes: []*mealsync.Recipe{
				recipe("d1", "", tags("dinner")), recipe("d2", "", tags("dinner")),
				recipe("x1", "", tags("snack")), recipe("x2", "", nil),
			},
			days: 4, perDay: 3,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				for _, m := range meals {
					// Breakfast and lunch take the recipes tagged with
					// no meal type before the dinners.
					if want := m.MealType == mealsync.Dinner; strings.HasPrefix(m.Recipe.ID, "d") != want {
						t.Errorf("day %d %s got %s", m.Day, m.MealType, m.Recipe.ID)
					}
				}
			},
		},
		{
			name: "a meal type nothing is tagged with chooses after the others",
			recipes: []*mealsync.Recipe{
				recipe("d1", "", tags("dinner")), recipe("b1", "", tags("breakfast")),
			},
			days: 4, perDay: 2,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				for _, m := range meals {
					if want := map[string]string{mealsync.Lunch: "b1", mealsync.Dinner: "d1"}[m.MealType]; m.Recipe.ID != want {
						t.Errorf("day %d %s got %s, want %s", m.Day, m.MealType, m.Recipe.ID, want)
					}
				}
			},
		},
		{
			name: "dietary restrictions exclude recipes, even the only tagged ones",
			recipes: []*mealsync.Recipe{
				recipe("meat1", "", tags("dinner")), recipe("meat2", "", tags("dinner")),
				recipe("veg1", "", tags("vegetarian")), recipe("veg2", "", tags("vegetarian", "lunch")),
			},
			prefs: mealsync.Preferences{DietaryRestrictions: []string{"vegetarian"}},
			days:  3, perDay: 2,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				for _, m := range meals {
					if !strings.HasPrefix(m.Recipe.ID, "veg") {
						t.Errorf("day %d %s got %s, which is not vegetarian", m.Day, m.MealType, m.Recipe.ID)
					}
				}
			},
		},
		{
			name: "disliked ingredients exclude recipes",
			recipes: []*mealsync.Recipe{
				recipe("d1", "", tags("dinner"), "rice", "fresh cilantro"),
				recipe("d2", "", tags("dinner"), "pasta"),
				recipe("d3", "", tags("dinner"), "cilantro"),
				recipe("d4", "", tags("dinner"), "potato"),
			},
			prefs: mealsync.Preferences{DislikedIngredients: []string{"cilantro"}},
			days:  6, perDay: 1,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				for _, m := range meals {
					if m.Recipe.ID == "d1" || m.Recipe.ID == "d3" {
						t.Errorf("day %d got %s, which has cilantro", m.Day, m.Recipe.ID)
					}
				}
			},
		},
		{
			name: "no recipe repeats while unused ones remain",
			recipes: []*mealsync.Recipe{
				recipe("d1", "", tags("dinner")), recipe("d2", "", tags("dinner")), recipe("d3", "", tags("dinner")),
				recipe("d4", "", tags("dinner")), recipe("d5", "", tags("dinner")), recipe("d6", "", tags("dinner")),
				recipe("d7", "", tags("dinner")), recipe("d8", "", tags("dinner")),
			},
			days: 7, perDay: 1,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				if got := ids(meals); len(slices.Compact(slices.Sorted(slices.Values(got)))) != len(got) {
					t.Errorf("a recipe repeats: %v", got)
				}
			},
		},
		{
			name: "repeats are spread evenly once every recipe is used",
			recipes: []*mealsync.Recipe{
				recipe("d1", "", tags("dinner")), recipe("d2", "", tags("dinner")), recipe("d3", "", tags("dinner")),
			},
			days: 7, perDay: 1,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				count := map[string]int{}
				for _, id := range ids(meals) {
					count[id]++
				}
				for id, n := range count {
					if n < 2 || n > 3 {
						t.Errorf("%s is served %d times in 7 days of 3 recipes, want 2 or 3: %v", id, n, ids(meals))
					}
				}
			},
		},
		{
			name: "a lunch-and-dinner recipe is not served twice in a day",
			recipes: []*mealsync.Recipe{
				recipe("both", "", tags("lunch", "dinner")), recipe("x", "", nil),
			},
			days: 5, perDay: 2,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {}, // checkShape does it
		},
		{
			name: "the only dinner is kept for dinner, not spent on breakfast",
			recipes: []*mealsync.Recipe{
				recipe("bd", "", tags("breakfast", "dinner")), recipe("b", "", tags("breakfast")),
				recipe("l", "", tags("lunch")),
			},
			days: 4, perDay: 3,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				for _, m := range meals {
					if m.MealType == mealsync.Dinner && m.Recipe.ID != "bd" {
						t.Errorf("day %d dinner got %s, want bd, the only dinner", m.Day, m.Recipe.ID)
					}
				}
			},
		},
		{
			name: "favourite cuisines come first",
			recipes: []*mealsync.Recipe{
				recipe("it1", "Italian", tags("dinner")), recipe("it2", "Italian", tags("dinner")),
				recipe("it3", "Italian", tags("dinner")), recipe("th1", " thai ", tags("dinner")),
				recipe("th2", "Thai", tags("dinner")), recipe("mx1", "Mexican", tags("dinner")),
				recipe("mx2", "Mexican", tags("dinner")), recipe("fr1", "French", tags("dinner")),
			},
			prefs: mealsync.Preferences{FavoriteCuisines: []string{"THAI", "Mexican"}},
			days:  6, perDay: 1,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				got := ids(meals)
				first := slices.Sorted(slices.Values(got[:4]))
				if want := []string{"mx1", "mx2", "th1", "th2"}; !slices.Equal(first, want) {
					t.Errorf("the first 4 days serve %v, want the favourite cuisines' %v", got[:4], want)
				}
				if slices.Contains(got[4:], "th1") || slices.Contains(got[4:], "th2") {
					t.Errorf("a favourite repeats before the others were served: %v", got)
				}
			},
		},
		{
			name: "a favourite cuisine does not beat the meal type",
			recipes: []*mealsync.Recipe{
				recipe("th-b", "Thai", tags("breakfast")), recipe("fr-d", "French", tags("dinner")),
			},
			prefs: mealsync.Preferences{FavoriteCuisines: []string{"Thai"}},
			days:  3, perDay: 1,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				if got := ids(meals); !slices.Equal(got, []string{"fr-d", "fr-d", "fr-d"}) {
					t.Errorf("dinners = %v, want the only dinner recipe every day", got)
				}
			},
		},
		{
			name: "nil and duplicate candidates are ignored",
			recipes: []*mealsync.Recipe{
				nil, recipe("d1", "", tags("dinner")), recipe("d1", "", tags("dinner")), nil, recipe("d2", "", tags("dinner")),
			},
			days: 4, perDay: 1,
			check: func(t *testing.T, meals []mealsync.PlannedMeal) {
				count := map[string]int{}
				for _, id := range ids(meals) {
					count[id]++
				}
				if count["d1"] != 2 || count["d2"] != 2 {
					t.Errorf("served %v, want d1 and d2 twice each", count)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for seed := range 8 {
				req := request(tc.days, tc.perDay, fmt.Sprint("seed-", seed), tc.prefs)
				meals, err := mealplan.Plan(tc.recipes, tc.prefs, req)
				if err != nil {
					t.Fatalf("seed %q: Plan: %v", req.Seed, err)
				}
				checkShape(t, meals, req)
				tc.check(t, meals)
				if t.Failed() {
					t.Fatalf("with seed %q", req.Seed)
				}
			}
		})
	}
}

// catalogue returns n recipes of each meal type, of a few cuisines.
func catalogue(n int) []*mealsync.Recipe {
	cuisines := []string{"Italian", "Thai", "Mexican", "French"}
	var rs []*mealsync.Recipe
	for i := range n {
		for _, t := range []string{"breakfast", "lunch", "dinner"} {
			rs = append(rs, recipe(fmt.Sprintf("%s-%02d", t, i), cuisines[i%len(cuisines)], tags(t)))
		}
	}
	return rs
}

func TestPlanIsDeterministic(t *testing.T) {
	rs := catalogue(20)
	prefs := mealsync.Preferences{FavoriteCuisines: []string{"Thai"}}
	req := request(7, 3, "user-1/2025-03-03", prefs)
	first, err := mealplan.Plan(rs, prefs, req)
	if err != nil {
		t.Fatal(err)
	}
	shuffled := slices.Clone(rs)
	slices.Reverse(shuffled)
	shuffled[0], shuffled[len(shuffled)/2] = shuffled[len(shuffled)/2], shuffled[0]
	for name, candidates := range map[string][]*mealsync.Recipe{"same order": rs, "another order": shuffled} {
		again, err := mealplan.Plan(candidates, prefs, req)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(again), ids(first)) {
			t.Errorf("%s: the same seed gave\n%v\nthen\n%v", name, ids(first), ids(again))
		}
	}

	// Other seeds give other plans: with 20 recipes per meal for 7 days,
	// plans that all coincide would mean the seed is ignored.
	plans := map[string]bool{strings.Join(ids(first), " "): true}
	for _, seed := range []string{"user-1/2025-03-10", "user-2/2025-03-03", "x", ""} {
		req.Seed = seed
		meals, err := mealplan.Plan(rs, prefs, req)
		if err != nil {
			t.Fatal(err)
		}
		plans[strings.Join(ids(meals), " ")] = true
	}
	if len(plans) != 5 {
		t.Errorf("5 seeds gave %d different plans, want 5", len(plans))
	}
}

func TestPlanErrors(t *testing.T) {
	some := catalogue(2)
	vegan := mealsync.Preferences{DietaryRestrictions: []string{"vegan"}}
	tests := []struct {
		name    string
		recipes []*mealsync.Recipe
		prefs   mealsync.Preferences
		req     mealplan.Request
		code    string
		message string
		fields  []string
	}{
		{
			name: "nothing fits the preferences", recipes: some, prefs: vegan, req: request(3, 2, "s", vegan),
			code: mealsync.EINVALID, message: "No recipe in the catalogue fits your preferences",
		},
		{
			name: "empty catalogue", recipes: nil, req: request(3, 2, "s", mealsync.Preferences{}),
			code: mealsync.EINVALID, message: "No recipe in the catalogue fits your preferences",
		},
		{
			name:    "fewer allowed recipes than meals a day",
			recipes: []*mealsync.Recipe{recipe("a", "", tags("vegan")), recipe("b", "", tags("vegan")), recipe("c", "", nil)},
			prefs:   vegan, req: request(3, 3, "s", vegan),
			code: mealsync.EINVALID, message: "Only 2 recipe(s) in the catalogue fit your preferences: not enough for 3 different meals a day",
		},
		{
			name: "out of range", recipes: some,
			req:  mealplan.Request{Days: 29, MealsPerDay: 0, Allowed: allowedBy(mealsync.Preferences{})},
			code: mealsync.EINVALID, fields: []string{"startDate", "numberOfDays", "mealsPerDay"},
		},
		{
			name: "no days, four meals", recipes: some,
			req:  mealplan.Request{StartDate: start, Days: 0, MealsPerDay: 4, Allowed: allowedBy(mealsync.Preferences{})},
			code: mealsync.EINVALID, fields: []string{"numberOfDays", "mealsPerDay"},
		},
		{
			name: "no diet filter", recipes: some,
			req:  mealplan.Request{StartDate: start, Days: 1, MealsPerDay: 1},
			code: mealsync.EINTERNAL,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			meals, err := mealplan.Plan(tc.recipes, tc.prefs, tc.req)
			if code := mealsync.ErrorCode(err); code != tc.code {
				t.Fatalf("error code = %q (err %v, %d meals), want %q", code, err, len(meals), tc.code)
			}
			var e *mealsync.Error
			if tc.message != "" && (!errors.As(err, &e) || e.Message != tc.message) {
				t.Errorf("error = %v, want message %q", err, tc.message)
			}
			if tc.fields != nil {
				var got []string
				if errors.As(err, &e) {
					for _, f := range e.Fields {
						got = append(got, f.Field)
					}
				}
				if !slices.Equal(got, tc.fields) {
					t.Errorf("fields = %v, want %v", got, tc.fields)
				}
			}
		})
	}
}

// A plan falls between 1900-01-01 and 9999-12-31, its last day included:
// dates every store and format handle alike.
func TestRequestDateRange(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		start time.Time
		days  int
		ok    bool
	}{
		{day(1900, 1, 1), 28, true},
		{day(1899, 12, 31), 1, false},
		{day(0, 1, 1), 1, false},
		{day(-1, 1, 1), 1, false},
		{day(9999, 12, 31), 1, true},
		{day(9999, 12, 31), 2, false},
		{day(9999, 12, 4), 28, true},
		{day(9999, 12, 5), 28, false},
		{day(275760, 9, 13), 1, false},
		{day(2026, 3, 2), 7, true},
	} {
		r := mealplan.Request{StartDate: c.start, Days: c.days, MealsPerDay: 1, Allowed: func(*mealsync.Recipe) bool { return true }}
		if err := r.Validate(); (err == nil) != c.ok {
			t.Errorf("start %s, %d days: %v, want ok %v", c.start.Format(time.DateOnly), c.days, err, c.ok)
		}
	}
}
