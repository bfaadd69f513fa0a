package ranking

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/mealsync/mealsync"
)

// loadCatalog reads the real recipe catalogue and gives each recipe a fake
// id ("r001", …) in file order.
func loadCatalog(t testing.TB) []*mealsync.Recipe {
	t.Helper()
	data, err := os.ReadFile("../catalog/recipes.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		Name, Description, Cuisine, Difficulty string
		PreparationTime, CookingTime           int
		TotalTime, Servings                    int
		Calories, Protein, Carbohydrates, Fat  float64
		Ingredients                            []struct{ Name, Quantity, Unit string }
		Instructions, Tags                     []string
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	out := make([]*mealsync.Recipe, len(raw))
	for i, r := range raw {
		ings := make([]mealsync.Ingredient, len(r.Ingredients))
		for j, in := range r.Ingredients {
			ings[j] = mealsync.Ingredient{Name: in.Name, Quantity: in.Quantity, Unit: in.Unit}
		}
		out[i] = &mealsync.Recipe{
			ID: fmt.Sprintf("r%03d", i+1), Name: r.Name, Description: r.Description,
			Cuisine: r.Cuisine, Difficulty: r.Difficulty, Ingredients: ings,
			Instructions: r.Instructions, Tags: r.Tags, IngredientKey: IngredientKey(r.Name),
			PreparationTime: r.PreparationTime, CookingTime: r.CookingTime, TotalTime: r.TotalTime,
			Servings: r.Servings, Calories: r.Calories, Protein: r.Protein,
			Carbohydrates: r.Carbohydrates, Fat: r.Fat, Source: "catalog",
		}
	}
	return out
}
