package generate

import (
	"errors"
	"slices"
	"testing"

	"github.com/mealsync/mealsync"
)

func asError(err error, target **mealsync.Error) bool { return errors.As(err, target) }

func dish(id, name, cuisine string, ingredients ...string) *mealsync.Recipe {
	r := &mealsync.Recipe{ID: id, Name: name, Cuisine: cuisine}
	for _, n := range ingredients {
		r.Ingredients = append(r.Ingredients, mealsync.Ingredient{Name: n})
	}
	return r
}

func TestNameSignature(t *testing.T) {
	same := []string{"Chicken Curry", "Chicken Curry II", "Easy Chicken Curry", "Curry Chicken", "The Best Chicken Curries", "chicken curry 2"}
	for _, n := range same {
		if got, want := nameSignature(n), nameSignature(same[0]); got != want {
			t.Errorf("nameSignature(%q) = %q, want %q", n, got, want)
		}
	}
	if nameSignature("Chicken Curry") == nameSignature("Chicken Korma") {
		t.Error("different dishes share a signature")
	}
}

func TestMainProtein(t *testing.T) {
	for _, tc := range []struct {
		ingredients []string
		want        string
	}{
		{[]string{"rice", "egg", "chicken thigh"}, "chicken"}, // animal protein wins over egg
		{[]string{"chicken stock", "canned chickpea"}, "legume"},
		{[]string{"fish sauce", "oyster mushroom", "firm tofu"}, "tofu"},
		{[]string{"green bean", "garlic"}, ""},
		{[]string{"spaghetti", "guanciale", "egg"}, "pork"},
		{[]string{"raw prawns"}, "seafood"},
	} {
		if got := mainProtein(dish("x", "x", "x", tc.ingredients...)); got != tc.want {
			t.Errorf("mainProtein(%v) = %q, want %q", tc.ingredients, got, tc.want)
		}
	}
}

func TestPickDiverse(t *testing.T) {
	ranked := []*mealsync.Recipe{
		dish("1", "Chicken Curry", "Indian", "chicken thigh", "onion"),
		dish("2", "Chicken Curry II", "Indian", "chicken breast", "onion"),     // same name signature
		dish("3", "Butter Chicken", "Indian", "chicken thigh", "butter"),       // Indian + chicken again
		dish("4", "Chana Masala", "Indian", "canned chickpea", "onion"),        // Indian, but legume
		dish("5", "Thai Green Curry", "Thai", "chicken thigh", "coconut milk"), // Thai chicken
	}
	if got := recipeIDs(pickDiverse(ranked, 3)); !slices.Equal(got, []string{"1", "4", "5"}) {
		t.Errorf("pickDiverse = %v, want [1 4 5]", got)
	}
	// Short of diverse recipes, the cuisine-and-protein rule gives way, the
	// name rule never does; the result stays in ranking order.
	if got := recipeIDs(pickDiverse(ranked, 5)); !slices.Equal(got, []string{"1", "3", "4", "5"}) {
		t.Errorf("pickDiverse = %v, want [1 3 4 5]", got)
	}
}
