// Package mealplan chooses the recipes of a meal plan and sums a plan's
// ingredients into a shopping list.
//
// It is pure: no I/O, no clock, no randomness beyond the caller's seed. It
// imports only the domain package and the standard library — never a storage
// or HTTP adapter. The diet rules are not decided here: the caller passes
// them in as Request.Allowed.
package mealplan

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

// Request is what to plan.
type Request struct {
	StartDate   time.Time // the plan's first day; Plan only checks that it is set
	Days        int       // 1 to mealsync.MaxPlanDays
	MealsPerDay int       // 1 to mealsync.MaxMealsPerDay; see MealTypes
	// Seed makes the plan repeatable: the same seed, candidates and
	// preferences give the same plan, and another seed usually another one.
	Seed string
	// Allowed reports whether the user may be served a recipe: its dietary
	// restrictions and disliked ingredients (ranking.Allowed with the user's
	// preferences). It is required: a forgotten filter must not quietly
	// serve someone what they cannot eat.
	Allowed func(*mealsync.Recipe) bool
}

// MealTypes returns the meal types of a day with n meals, in the order of a
// day: 1 is dinner, 2 lunch and dinner, 3 breakfast, lunch and dinner.
func MealTypes(n int) []string {
	if n < 1 || n > len(mealsync.MealTypes) {
		return nil
	}
	return mealsync.MealTypes[len(mealsync.MealTypes)-n:]
}

// Validate returns every problem with r's size and start at once, as an
// EINVALID error, or nil: the rules of mealsync.MealPlan.Validate.
func (r Request) Validate() error {
	return (&mealsync.MealPlan{StartDate: r.StartDate, Days: r.Days, MealsPerDay: r.MealsPerDay}).Validate()
}

// candidate is an allowed recipe with what the choice looks at.
type candidate struct {
	recipe    *mealsync.Recipe
	mealTypes map[string]bool // the meal types it is tagged with
	favourite bool            // of one of the user's favourite cuisines
	tie       uint64          // the seed's order among otherwise equal recipes
	used      int             // how often the plan serves it so far
	usedOnDay int             // the last day it was served, -1 before
}

// Plan chooses a recipe for every meal of the request, from the candidates
// that req.Allowed lets through. For each meal, in this order of importance:
//
//  1. never a recipe already served that day (a hard rule: with fewer allowed
//     recipes than meals a day, Plan fails);
//  2. a recipe tagged with the meal type ("breakfast", "lunch", "dinner");
//     else any allowed recipe, those tagged with no meal type before those
//     tagged for other meals;
//  3. the recipe served least often so far, so nothing repeats while unused
//     candidates remain;
//  4. a recipe of one of prefs.FavoriteCuisines;
//  5. the order that a hash of req.Seed and the recipe's ID gives.
//
// Within a day, the meal type with the fewest recipes that fit it chooses
// first, so that a recipe that is the only dinner is not spent on breakfast.
//
// The meals come ordered by day, then meal type, and point at the candidates
// (not copies). Plan fails with EINVALID when the request is out of range or
// when too few candidates are allowed.
func Plan(candidates []*mealsync.Recipe, prefs mealsync.Preferences, req Request) ([]mealsync.PlannedMeal, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.Allowed == nil {
		return nil, errors.New("mealplan: Request.Allowed is nil")
	}
	cands := allowedCandidates(candidates, prefs, req)
	if len(cands) == 0 {
		return nil, mealsync.Errorf(mealsync.EINVALID, "No recipe in the catalogue fits your preferences")
	}
	if len(cands) < req.MealsPerDay {
		return nil, mealsync.Errorf(mealsync.EINVALID,
			"Only %d recipe(s) in the catalogue fit your preferences: not enough for %d different meals a day",
			len(cands), req.MealsPerDay)
	}

	types := MealTypes(req.MealsPerDay)
	choices := map[string]int{} // how many recipes fit each meal type
	for _, t := range types {
		for _, c := range cands {
			if c.mealTypes[t] {
				choices[t]++
			}
		}
		if choices[t] == 0 { // any recipe will do
			choices[t] = len(cands)
		}
	}
	// The scarcest meal type chooses first; ties keep the order of a day.
	chooseOrder := slices.Clone(types)
	slices.SortStableFunc(chooseOrder, func(a, b string) int { return cmp.Compare(choices[a], choices[b]) })

	meals := make([]mealsync.PlannedMeal, 0, req.Days*req.MealsPerDay)
	for day := range req.Days {
		chosen := map[string]*mealsync.Recipe{}
		for _, t := range chooseOrder {
			var best *candidate
			for _, c := range cands {
				if c.usedOnDay != day && (best == nil || better(c, best, t)) {
					best = c
				}
			}
			// len(cands) >= MealsPerDay, so some candidate is always
			// still unused today.
			best.used++
			best.usedOnDay = day
			chosen[t] = best.recipe
		}
		for _, t := range types {
			meals = append(meals, mealsync.PlannedMeal{Day: day, MealType: t, Recipe: chosen[t]})
		}
	}
	return meals, nil
}

// fit ranks how well c suits a meal of type t: tagged with it (2), tagged
// with no meal type at all (1), or tagged only with other meal types (0),
// which are kept for their own meals.
func (c *candidate) fit(t string) int {
	switch {
	case c.mealTypes[t]:
		return 2
	case len(c.mealTypes) == 0:
		return 1
	}
	return 0
}

// better reports whether a is a better choice than b for a meal of type t.
func better(a, b *candidate, t string) bool {
	if fa, fb := a.fit(t), b.fit(t); fa != fb {
		return fa > fb
	}
	if a.used != b.used {
		return a.used < b.used
	}
	if a.favourite != b.favourite {
		return a.favourite
	}
	if a.tie != b.tie {
		return a.tie < b.tie
	}
	return a.recipe.ID < b.recipe.ID
}

// allowedCandidates keeps the recipes req.Allowed lets through, once each
// (by ID). Their order does not matter: better is a total order.
func allowedCandidates(recipes []*mealsync.Recipe, prefs mealsync.Preferences, req Request) []*candidate {
	seen := map[string]bool{}
	var cands []*candidate
	for _, r := range recipes {
		if r == nil || seen[r.ID] || !req.Allowed(r) {
			continue
		}
		seen[r.ID] = true
		c := &candidate{recipe: r, mealTypes: map[string]bool{}, tie: seedHash(req.Seed, r.ID), usedOnDay: -1}
		for _, tag := range r.Tags {
			for _, t := range mealsync.MealTypes {
				if strings.EqualFold(strings.TrimSpace(tag), t) {
					c.mealTypes[t] = true
				}
			}
		}
		for _, f := range prefs.FavoriteCuisines {
			if f = strings.TrimSpace(f); f != "" && strings.EqualFold(strings.TrimSpace(r.Cuisine), f) {
				c.favourite = true
			}
		}
		cands = append(cands, c)
	}
	return cands
}

// seedHash orders recipes for one seed. A cryptographic hash, not for
// secrecy but because every bit of it depends on every byte of the seed: two
// seeds give unrelated orders.
func seedHash(seed, id string) uint64 {
	sum := sha256.Sum256([]byte(seed + "\x00" + id)) // NUL: ("ab", "c") and ("a", "bc") differ
	return binary.BigEndian.Uint64(sum[:8])
}

// Replace chooses another recipe for meal (day, mealType) of meals, a
// plan's meals, from the candidates that req.Allowed lets through, by
// Plan's rules: never the recipe it has now nor one served that day
// elsewhere; a recipe tagged with the meal type; the one the plan serves
// least often; a favourite cuisine; then req.Seed's order. Only req.Seed
// and req.Allowed of req are read. It fails with EINVALID when no candidate
// is left.
func Replace(candidates []*mealsync.Recipe, prefs mealsync.Preferences, meals []mealsync.PlannedMeal,
	day int, mealType string, req Request) (*mealsync.Recipe, error) {
	if req.Allowed == nil {
		return nil, errors.New("mealplan: Request.Allowed is nil")
	}
	cands := allowedCandidates(candidates, prefs, req)
	byID := make(map[string]*candidate, len(cands))
	for _, c := range cands {
		byID[c.recipe.ID] = c
	}
	for _, m := range meals {
		if m.Recipe == nil {
			continue
		}
		if c := byID[m.Recipe.ID]; c != nil {
			c.used++
			if m.Day == day { // served that day, this meal included
				c.usedOnDay = day
			}
		}
	}
	var best *candidate
	for _, c := range cands {
		if c.usedOnDay != day && (best == nil || better(c, best, mealType)) {
			best = c
		}
	}
	if best == nil {
		return nil, mealsync.Errorf(mealsync.EINVALID, "No other recipe in the catalogue fits this meal and everyone's preferences")
	}
	return best.recipe, nil
}
