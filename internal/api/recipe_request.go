package api

import (
	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/kitchen"
)

type ingredientRequest struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
}

// recipeRequest is the body of POST and PUT /recipes. Numbers are pointers
// so that an update can tell "absent, keep" from "zero". The reference's
// ingredientKey and source are not read: the server assigns them.
type recipeRequest struct {
	Name            string              `json:"name"`
	Ingredients     []ingredientRequest `json:"ingredients"`
	Instructions    []string            `json:"instructions"`
	Cuisine         string              `json:"cuisine"`
	ImageURL        *string             `json:"imageUrl"`
	Description     string              `json:"description"`
	PreparationTime *int                `json:"preparationTime"`
	CookingTime     *int                `json:"cookingTime"`
	TotalTime       *int                `json:"totalTime"`
	Servings        *int                `json:"servings"`
	Calories        *float64            `json:"calories"`
	Protein         *float64            `json:"protein"`
	Carbohydrates   *float64            `json:"carbohydrates"`
	Fat             *float64            `json:"fat"`
	Difficulty      string              `json:"difficulty"`
	Tags            []string            `json:"tags"`
}

// Valid checks nothing beyond decoding: what makes a recipe valid is
// mealsync.Recipe.Validate, which the kitchen applies to the recipe the
// request describes (after authorising an update, so a refused caller's
// body is never judged).
func (r recipeRequest) Valid() mealsync.Validation { return nil }

// input converts the request to the kitchen's.
func (r recipeRequest) input() kitchen.RecipeInput {
	in := kitchen.RecipeInput{
		Name: r.Name, Description: r.Description, Cuisine: r.Cuisine, Difficulty: r.Difficulty,
		Instructions: r.Instructions, Tags: r.Tags, ImageURL: r.ImageURL,
		PreparationTime: r.PreparationTime, CookingTime: r.CookingTime, TotalTime: r.TotalTime, Servings: r.Servings,
		Calories: r.Calories, Protein: r.Protein, Carbohydrates: r.Carbohydrates, Fat: r.Fat,
		Ingredients: make([]mealsync.Ingredient, len(r.Ingredients)),
	}
	for i, g := range r.Ingredients {
		in.Ingredients[i] = mealsync.Ingredient(g)
	}
	return in
}

// saveRequest is the body of POST and DELETE /recipes/save.
type saveRequest struct {
	UserID   string `json:"userId"`
	RecipeID string `json:"recipeId"`
}

func (r saveRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	for _, f := range []struct{ name, val, blank string }{
		{"userId", r.UserID, "User ID must not be null"}, {"recipeId", r.RecipeID, "Recipe ID must not be null"},
	} {
		if f.val == "" {
			v.Add(f.name, f.blank)
		} else if _, err := parseID(f.val); err != nil {
			v.Add(f.name, "Must be a UUID")
		}
	}
	return v
}
