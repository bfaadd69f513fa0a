package mealplan_test

import (
	"fmt"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/mealplan"
)

// ing is an ingredient line: name, quantity, unit.
func ing(name, quantity, unit string) mealsync.Ingredient {
	return mealsync.Ingredient{Name: name, Quantity: quantity, Unit: unit}
}

// dinners returns one dinner a day, one per recipe, each made of the given
// ingredients.
func dinners(recipes ...[]mealsync.Ingredient) []mealsync.PlannedMeal {
	var meals []mealsync.PlannedMeal
	for i, ings := range recipes {
		meals = append(meals, mealsync.PlannedMeal{Day: i, MealType: mealsync.Dinner,
			Recipe: &mealsync.Recipe{ID: fmt.Sprint("r", i), Ingredients: ings}})
	}
	return meals
}

func list(ings ...mealsync.Ingredient) []mealsync.Ingredient { return ings }

func fmtItems(items []mealsync.ShoppingItem) string {
	s := ""
	for _, it := range items {
		s += fmt.Sprintf("%q %q %q ×%d\n", it.Name, it.Quantity, it.Unit, it.Recipes)
	}
	return s
}

func TestShoppingList(t *testing.T) {
	item := func(name, quantity, unit string, recipes int) mealsync.ShoppingItem {
		return mealsync.ShoppingItem{Name: name, Quantity: quantity, Unit: unit, Recipes: recipes}
	}
	tests := []struct {
		name  string
		meals []mealsync.PlannedMeal
		want  []mealsync.ShoppingItem
	}{
		{
			name:  "halves add up to a whole",
			meals: dinners(list(ing("onion", "1/2", "")), list(ing("onion", "1/2", ""))),
			want:  []mealsync.ShoppingItem{item("onion", "1", "", 2)},
		},
		{
			name:  "mixed numbers and fractions",
			meals: dinners(list(ing("flour", "2 1/2", "cup")), list(ing("flour", "1/4", "cups"))),
			want:  []mealsync.ShoppingItem{item("flour", "2 3/4", "cup", 2)},
		},
		{
			name: "unicode fractions and decimals",
			meals: dinners(list(ing("milk", "1½", "cup")), list(ing("milk", "½", "cup")),
				list(ing("milk", "0.25", "cup"))),
			want: []mealsync.ShoppingItem{item("milk", "2 1/4", "cup", 3)},
		},
		{
			name: "spellings of a unit are one line",
			meals: dinners(list(ing("olive oil", "1", "tbsp")), list(ing("Olive Oil", "2", "Tablespoons")),
				list(ing("  olive   oil ", "1/2", "tablespoon")), list(ing("olive oil", "1", "tbsp."))),
			want: []mealsync.ShoppingItem{item("olive oil", "4 1/2", "tbsp", 4)},
		},
		{
			name: "teaspoons and tablespoons stay apart",
			meals: dinners(list(ing("salt", "1", "teaspoon")), list(ing("salt", "1", "tbsp")),
				list(ing("salt", "2", "tsp"))),
			want: []mealsync.ShoppingItem{item("salt", "1", "tbsp", 1), item("salt", "3", "tsp", 2)},
		},
		{
			name: "kg and l become g and ml",
			meals: dinners(list(ing("flour", "1", "kg"), ing("stock", "1.5", "litres")),
				list(ing("flour", "200", "grams"), ing("stock", "250", "ml")),
				list(ing("potato", "2", "kg"))),
			want: []mealsync.ShoppingItem{
				item("flour", "1200", "g", 2), item("potato", "2000", "g", 1), item("stock", "1750", "ml", 2),
			},
		},
		{
			name: "metric amounts print as decimals",
			meals: dinners(list(ing("butter", "12.5", "g"), ing("yeast", "1/3", "g")),
				list(ing("butter", "1/2", "g"), ing("yeast", "0.001", "kg"))),
			want: []mealsync.ShoppingItem{item("butter", "13", "g", 2), item("yeast", "1.33", "g", 2)},
		},
		{
			name: "amounts that are not numbers are kept, once each",
			meals: dinners(list(ing("pepper", "to taste", ""), ing("salt", "1", "")),
				list(ing("pepper", "1/2", ""), ing("salt", "a  pinch", "")),
				list(ing("pepper", "To taste", ""), ing("salt", "2-3", ""))),
			want: []mealsync.ShoppingItem{
				item("pepper", "1/2 + to taste", "", 3), item("salt", "1 + a pinch + 2-3", "", 3),
			},
		},
		{
			name:  "only words",
			meals: dinners(list(ing("parsley", "a handful", "")), list(ing("parsley", "", ""))),
			want:  []mealsync.ShoppingItem{item("parsley", "a handful", "", 2)},
		},
		{
			name: "a meal counts once for an ingredient its recipe lists twice",
			meals: dinners(list(ing("garlic", "2", "cloves"), ing("garlic", "1", "clove")),
				list(ing("garlic", "3", "clove"))),
			want: []mealsync.ShoppingItem{item("garlic", "6", "clove", 2)},
		},
		{
			name: "a recipe served twice counts twice",
			meals: func() []mealsync.PlannedMeal {
				r := &mealsync.Recipe{ID: "r", Ingredients: list(ing("rice", "200", "g"))}
				return []mealsync.PlannedMeal{{Day: 0, MealType: mealsync.Lunch, Recipe: r}, {Day: 1, MealType: mealsync.Lunch, Recipe: r}}
			}(),
			want: []mealsync.ShoppingItem{item("rice", "400", "g", 2)},
		},
		{
			name: "deleted recipes and blank names are skipped",
			meals: append(dinners(list(ing("egg", "2", ""), ing("  ", "1", "g"))),
				mealsync.PlannedMeal{Day: 1, MealType: mealsync.Dinner}),
			want: []mealsync.ShoppingItem{item("egg", "2", "", 1)},
		},
		{
			name: "sorted by name, then unit",
			meals: dinners(list(ing("tomato", "2", ""), ing("basil", "1", "sprig"), ing("tomato", "400", "g"),
				ing("apple", "1", ""))),
			want: []mealsync.ShoppingItem{
				item("apple", "1", "", 1), item("basil", "1", "sprig", 1), item("tomato", "2", "", 1), item("tomato", "400", "g", 1),
			},
		},
		{name: "no meals", meals: nil, want: []mealsync.ShoppingItem{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := mealplan.ShoppingList(tc.meals)
			if got == nil {
				t.Fatal("ShoppingList returned nil, want a list")
			}
			if fmtItems(got) != fmtItems(tc.want) {
				t.Errorf("ShoppingList =\n%swant\n%s", fmtItems(got), fmtItems(tc.want))
			}
		})
	}
}

// TestShoppingQuantities checks how one amount is read and printed: the sum
// of a single meal is the amount itself, in the list's format.
func TestShoppingQuantities(t *testing.T) {
	tests := []struct {
		quantity, unit, want string
	}{
		{"2", "", "2"},
		{" 2 ", "", "2"},
		{"0.5", "", "1/2"},
		{".5", "", "1/2"},
		{"5.", "", "5"},
		{"0.75", "cup", "3/4"},
		{"1/2", "", "1/2"},
		{"6/8", "", "3/4"},
		{"3/2", "", "1 1/2"},
		{"2 1/2", "", "2 1/2"},
		{"1½", "", "1 1/2"},
		{"1 ½", "", "1 1/2"},
		{"⅓", "cup", "1/3"},
		{"1⅛", "tsp", "1 1/8"},
		{"1 1⁄2", "", "1 1/2"},
		{"0.2", "", "0.2"},
		{"1/6", "cup", "0.17"},
		{"1/5", "", "0.2"},
		{"2.675", "", "2.68"},
		{"0.001", "", "0.001"},
		{"0.5", "g", "0.5"},
		{"2 1/2", "ml", "2.5"},
		{"1/3", "g", "0.33"},
		{"1e3", "", "1e3"},
		{"-1", "", "-1"},
		{"1/0", "", "1/0"},
		{"2 3/2", "", "2 3/2"},
		{"1 2", "", "1 2"},
		{"1.5 1/2", "", "1.5 1/2"},
		{"2-3", "", "2-3"},
		{"½ ½", "", "½ ½"},
		{"to taste", "", "to taste"},
	}
	for _, tc := range tests {
		t.Run(tc.quantity+" "+tc.unit, func(t *testing.T) {
			got := mealplan.ShoppingList(dinners(list(ing("x", tc.quantity, tc.unit))))
			if len(got) != 1 || got[0].Quantity != tc.want {
				t.Errorf("%q %s prints as\n%swant %q", tc.quantity, tc.unit, fmtItems(got), tc.want)
			}
		})
	}
}
