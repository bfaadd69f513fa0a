package mealplan_test

import (
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
)

// Replace keeps Plan's rules for one meal: not the recipe it has, not one
// served that day, one the plan does not serve yet before one it does, a
// recipe of the meal type before another, only allowed recipes, and an
// EINVALID error when nothing is left.
func TestReplace(t *testing.T) {
	vegan := mealsync.Preferences{DietaryRestrictions: []string{"vegan"}}
	a := recipe("a", "", tags("vegan", "dinner"))
	b := recipe("b", "", tags("vegan", "dinner"))
	c := recipe("c", "", tags("vegan", "dinner"))
	d := recipe("d", "", tags("vegan", "breakfast"))
	meat := recipe("m", "", tags("dinner"), "beef")
	meals := []mealsync.PlannedMeal{
		{Day: 0, MealType: mealsync.Lunch, Recipe: b}, {Day: 0, MealType: mealsync.Dinner, Recipe: a},
		{Day: 1, MealType: mealsync.Lunch, Recipe: c}, {Day: 1, MealType: mealsync.Dinner, Recipe: a},
	}
	req := mealplan.Request{Seed: "s", Allowed: allowedBy(vegan)}
	all := []*mealsync.Recipe{a, b, c, d, meat}

	// Day 0's dinner: not a (its own), not b (lunch that day), not the
	// meat; c (a dinner, served once) beats d (not a dinner, unused).
	got, err := mealplan.Replace(all, vegan, meals, 0, mealsync.Dinner, req)
	if err != nil || got != c {
		t.Fatalf("day 0 dinner: %v, %v; want c", got, err)
	}
	// With an unused dinner recipe, it wins over c, whatever the seed.
	e := recipe("e", "", tags("vegan", "dinner"))
	for _, seed := range []string{"s", "t", "u", "v"} {
		got, err = mealplan.Replace(append(all, e), vegan, meals, 0, mealsync.Dinner, mealplan.Request{Seed: seed, Allowed: req.Allowed})
		if err != nil || got != e {
			t.Fatalf("seed %s: %v, %v; want the unused e", seed, got, err)
		}
	}
	// Nothing left: every allowed recipe is served that day.
	_, err = mealplan.Replace([]*mealsync.Recipe{a, b, meat}, vegan, meals, 0, mealsync.Dinner, req)
	if mealsync.ErrorCode(err) != mealsync.EINVALID {
		t.Fatalf("nothing left: %v, want EINVALID", err)
	}
	if _, err = mealplan.Replace(all, vegan, meals, 0, mealsync.Dinner, mealplan.Request{Seed: "s"}); err == nil {
		t.Fatal("no Allowed: want an error")
	}
}
