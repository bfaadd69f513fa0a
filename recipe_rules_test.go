package mealsync_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
)

func validRecipe() *mealsync.Recipe {
	return &mealsync.Recipe{Name: "Soup", Cuisine: "French", Description: "Warm", Difficulty: "EASY",
		Ingredients:  []mealsync.Ingredient{{Name: "leek", Quantity: "2"}},
		Instructions: []string{"Simmer"}, Servings: 1}
}

// fields returns the fields an error from a Validate method names.
func fields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *mealsync.Error
	if !errors.As(err, &e) || e.Code != mealsync.EINVALID {
		t.Fatalf("not an EINVALID error: %v", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

// Every limit holds at its value and fails one past it, naming the field
// as the API does.
func TestRecipeValidateLimits(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(r *mealsync.Recipe, over int) // over is 0 at the limit, 1 past it
		field string
	}{
		{"name", func(r *mealsync.Recipe, o int) { r.Name = strings.Repeat("é", mealsync.MaxRecipeName+o) }, "name"},
		{"cuisine", func(r *mealsync.Recipe, o int) { r.Cuisine = strings.Repeat("c", mealsync.MaxCuisine+o) }, "cuisine"},
		{"description", func(r *mealsync.Recipe, o int) { r.Description = strings.Repeat("d", mealsync.MaxDescription+o) }, "description"},
		{"instruction length (the API's 2,000, not the generator's old 1,000)", func(r *mealsync.Recipe, o int) {
			r.Instructions = []string{strings.Repeat("i", mealsync.MaxInstruction+o)}
		}, "instructions[0]"},
		{"instructions", func(r *mealsync.Recipe, o int) {
			r.Instructions = slices.Repeat([]string{"stir"}, mealsync.MaxInstructions+o)
		}, "instructions"},
		{"ingredients", func(r *mealsync.Recipe, o int) {
			r.Ingredients = slices.Repeat([]mealsync.Ingredient{{Name: "salt", Quantity: "1"}}, mealsync.MaxIngredients+o)
		}, "ingredients"},
		{"quantity", func(r *mealsync.Recipe, o int) {
			r.Ingredients[0].Quantity = strings.Repeat("q", mealsync.MaxQuantity+o)
		}, "ingredients[0].quantity"},
		{"unit", func(r *mealsync.Recipe, o int) { r.Ingredients[0].Unit = strings.Repeat("u", mealsync.MaxUnit+o) }, "ingredients[0].unit"},
		{"tags", func(r *mealsync.Recipe, o int) { r.Tags = slices.Repeat([]string{"t"}, mealsync.MaxTags+o) }, "tags"},
		{"tag", func(r *mealsync.Recipe, o int) { r.Tags = []string{strings.Repeat("t", mealsync.MaxTag+o)} }, "tags[0]"},
		{"preparation time", func(r *mealsync.Recipe, o int) { r.PreparationTime = mealsync.MaxMinutes + o }, "preparationTime"},
		{"cooking time", func(r *mealsync.Recipe, o int) { r.CookingTime = mealsync.MaxMinutes + o }, "cookingTime"},
		{"total time", func(r *mealsync.Recipe, o int) { r.TotalTime = mealsync.MaxTotalTime + o }, "totalTime"},
		{"servings", func(r *mealsync.Recipe, o int) { r.Servings = mealsync.MaxServings + o }, "servings"},
		{"calories", func(r *mealsync.Recipe, o int) { r.Calories = mealsync.MaxNutrition + float64(o) }, "calories"},
		{"image URL", func(r *mealsync.Recipe, o int) {
			r.ImageURL = "https://img.example/" + strings.Repeat("a", mealsync.MaxImageURL-len("https://img.example/")+o)
		}, "imageUrl"},
	}
	for _, c := range cases {
		at, past := validRecipe(), validRecipe()
		c.edit(at, 0)
		c.edit(past, 1)
		if err := at.Validate(); err != nil {
			t.Errorf("%s at its limit: %v", c.name, err)
		}
		if got := fields(t, past.Validate()); !slices.Equal(got, []string{c.field}) {
			t.Errorf("%s past its limit: fields %q, want [%s]", c.name, got, c.field)
		}
	}
}

// Blank, unknown or unstorable values are refused; every problem at once.
func TestRecipeValidateEveryProblem(t *testing.T) {
	r := &mealsync.Recipe{Name: " ", Cuisine: "C\x00", Description: "d", Difficulty: "IMPOSSIBLE",
		Ingredients: []mealsync.Ingredient{{Name: "x", Quantity: " "}}, Instructions: []string{""},
		ImageURL: "ftp://x/y", Servings: 0, Fat: math.NaN(), Protein: -1}
	want := []string{"name", "cuisine", "ingredients[0].quantity", "instructions[0]", "imageUrl",
		"servings", "protein", "fat", "difficulty"}
	if got := fields(t, r.Validate()); !slices.Equal(got, want) {
		t.Fatalf("fields %q\nwant %q", got, want)
	}
	if err := validRecipe().Validate(); err != nil {
		t.Fatalf("a valid recipe: %v", err)
	}
}

func TestUserValidate(t *testing.T) {
	u := &mealsync.User{Email: "a@b.io", Name: "Ada", Role: mealsync.RoleUser, Status: mealsync.StatusActive}
	if err := u.Validate(); err != nil {
		t.Fatalf("a valid user: %v", err)
	}
	bad := &mealsync.User{Email: "Ada <a@b.io>", Name: strings.Repeat("n", mealsync.MaxUserName+1), Role: "ROOT", Status: "GONE",
		Preferences: mealsync.Preferences{FavoriteCuisines: []string{strings.Repeat("c", mealsync.MaxPreferenceEntry+1)},
			DislikedIngredients: make([]string, mealsync.MaxPreferenceEntries+1)}}
	want := []string{"email", "name", "role", "status", "dislikedIngredients", "favoriteCuisines[0]"}
	if got := fields(t, bad.Validate()); !slices.Equal(got, want) {
		t.Fatalf("fields %q\nwant %q", got, want)
	}
	blank := ""
	if got := fields(t, mealsync.UserUpdate{Name: &blank}.Validate()); !slices.Equal(got, []string{"name"}) {
		t.Fatalf("a blank name update: fields %q", got)
	}
}

func TestMealPlanValidate(t *testing.T) {
	ok := &mealsync.MealPlan{StartDate: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Days: mealsync.MaxPlanDays, MealsPerDay: mealsync.MaxMealsPerDay}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid plan: %v", err)
	}
	bad := &mealsync.MealPlan{StartDate: mealsync.LatestPlanDate, Days: mealsync.MaxPlanDays + 1, MealsPerDay: 0}
	if got := fields(t, bad.Validate()); !slices.Equal(got, []string{"startDate", "numberOfDays", "mealsPerDay"}) {
		t.Fatalf("fields %q", got)
	}
}

// Filters that ask the same question normalise to the same filter: case,
// blanks, repeats and list order do not change a result.
func TestRecipeFilterNormalized(t *testing.T) {
	a := mealsync.RecipeFilter{Name: "  Soup ", Difficulty: " easy", Cuisines: []string{"Thai", " french"},
		Tags: []string{"Vegan", "vegan ", ""}, Ingredients: []string{"Leek", "rice"}}
	b := mealsync.RecipeFilter{Name: "soup", Difficulty: "EASY", Cuisines: []string{"FRENCH", "thai"},
		Tags: []string{"VEGAN"}, Ingredients: []string{"rice", "leek", "LEEK"}}
	na, nb := a.Normalized(), b.Normalized()
	if na.Name != "soup" || na.Difficulty != "EASY" || !slices.Equal(na.Cuisines, []string{"french", "thai"}) ||
		!slices.Equal(na.Tags, []string{"vegan"}) || !slices.Equal(na.Ingredients, []string{"leek", "rice"}) {
		t.Fatalf("normalised %+v", na)
	}
	if na.Name != nb.Name || na.Difficulty != nb.Difficulty || !slices.Equal(na.Cuisines, nb.Cuisines) ||
		!slices.Equal(na.Tags, nb.Tags) || !slices.Equal(na.Ingredients, nb.Ingredients) {
		t.Fatalf("the same question normalised differently:\n%+v\n%+v", na, nb)
	}
	if a.Cuisines[0] != "Thai" {
		t.Fatal("Normalized changed its receiver's lists")
	}
}
