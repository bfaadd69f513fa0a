// Package generate turns the ingredients a user has into recipes, and a
// photo of them into a list of ingredients. Two providers implement
// mealsync.RecipeProvider and run picks one (MEALSYNC_AI_PROVIDER): Catalog,
// the offline default, chooses from stored recipes; OpenAI asks any
// OpenAI-compatible chat-completions endpoint.
//
// It imports the domain and internal/ranking, never a storage or HTTP
// adapter: Catalog reads recipes through a function its caller supplies.
package generate

import (
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// wanted returns how many recipes req asks for.
func wanted(req mealsync.GenerateRequest) (int, error) {
	switch {
	case req.Count == 0:
		return mealsync.DefaultGenerateCount, nil
	case req.Count < 0 || req.Count > mealsync.MaxGenerateCount:
		return 0, mealsync.Errorf(mealsync.EINVALID, "Count must be between 1 and %d", mealsync.MaxGenerateCount)
	}
	return req.Count, nil
}

// usable returns the request's ingredients that are named and not disliked,
// each once (by normalised name), in the order given. It fails when none is
// named, or when every one is disliked: no recipe could use them.
func usable(req mealsync.GenerateRequest) ([]mealsync.Ingredient, error) {
	seen := make(map[string]bool, len(req.Ingredients))
	var named, usable []mealsync.Ingredient
	dislikes := mealsync.Preferences{DislikedIngredients: req.Preferences.DislikedIngredients}
	for _, in := range req.Ingredients {
		norm := ranking.NormalizeIngredient(in.Name)
		if norm == "" || seen[norm] {
			continue
		}
		seen[norm] = true
		in.Name = strings.TrimSpace(in.Name)
		named = append(named, in)
		// A one-ingredient recipe is Allowed exactly when the ingredient is not disliked.
		if ranking.Allowed(&mealsync.Recipe{Ingredients: []mealsync.Ingredient{in}}, dislikes) {
			usable = append(usable, in)
		}
	}
	switch {
	case len(named) == 0:
		return nil, mealsync.Errorf(mealsync.EINVALID, "Give at least one ingredient")
	case len(usable) == 0:
		return nil, mealsync.Errorf(mealsync.EINVALID, "Every ingredient given is on your disliked list")
	}
	return usable, nil
}
