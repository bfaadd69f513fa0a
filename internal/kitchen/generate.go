package kitchen

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// Generate asks the provider for recipes from what u has, stores the new
// ones in the catalogue (a dish already in the catalogue, by ingredient
// key, is reused, not duplicated; a private recipe is never reused), and
// records them as u's generated recipes — all in that order, so a failure
// leaves no record pointing at a missing recipe.
func (s *Service) Generate(ctx context.Context, u *mealsync.User, req mealsync.GenerateRequest) ([]*mealsync.Recipe, error) {
	got, err := s.gen.Generate(ctx, req)
	if err != nil {
		return nil, err
	}
	var fresh []*mealsync.Recipe
	var keys []string
	for _, r := range got {
		if r.ID == "" {
			if r.IngredientKey == "" {
				r.IngredientKey = ranking.IngredientKey(r.Name)
			}
			if r.IngredientKey != "" {
				keys = append(keys, r.IngredientKey)
			}
		}
	}
	existing, err := s.recipes.RecipesByIngredientKeys(ctx, keys)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i, r := range got {
		if r.ID != "" {
			continue
		}
		// The reference's key keeps only [a-z0-9]: a name without any (寿司)
		// has an empty key, which says nothing about sameness.
		if old, ok := existing[r.IngredientKey]; ok && r.IngredientKey != "" {
			got[i] = old
			continue
		}
		// Generated recipes belong to the catalogue, whoever asked.
		r.ID, r.CreatedAt, r.OwnerID, r.Published = uuid.NewString(), now, "", true
		if r.Source == "" {
			r.Source = s.gen.Name()
		}
		if r.IngredientKey != "" {
			existing[r.IngredientKey] = r // two answers with one key: store it once
		}
		fresh = append(fresh, r)
	}
	// Usually nothing is new (the catalogue provider answers with catalogue
	// recipes): then the catalogue has not changed, and is not told so.
	if len(fresh) > 0 {
		if err := s.recipes.CreateRecipes(ctx, fresh...); err != nil {
			return nil, fmt.Errorf("store generated recipes: %w", err)
		}
		s.catalogueChanged(ctx)
	}
	for _, r := range got {
		_, err := s.recipes.SaveRecipe(ctx, &mealsync.SavedRecipe{
			ID: uuid.NewString(), UserID: u.ID, Recipe: r, Type: mealsync.RecipeGenerated, SavedAt: now,
		})
		if err != nil {
			return nil, fmt.Errorf("record generated recipe: %w", err)
		}
	}
	return got, nil
}

// DetectIngredients lists the ingredients in a photo (openai provider
// only), once the image store accepts it as an image.
func (s *Service) DetectIngredients(ctx context.Context, image []byte) ([]mealsync.Ingredient, error) {
	ct, err := s.images.CheckImage(image)
	if err != nil {
		return nil, err
	}
	return s.gen.DetectIngredients(ctx, image, ct)
}

// CleanIngredients returns list as recipes name ingredients: names
// normalised, blanks dropped, the same ingredient in the same unit given
// once.
func CleanIngredients(list []mealsync.Ingredient) []mealsync.Ingredient {
	seen := map[string]bool{}
	out := []mealsync.Ingredient{}
	for _, in := range list {
		name := ranking.NormalizeIngredient(in.Name)
		if name == "" {
			continue
		}
		if k := name + "\x00" + strings.ToLower(in.Unit); !seen[k] {
			seen[k] = true
			out = append(out, mealsync.Ingredient{Name: name, Quantity: in.Quantity, Unit: in.Unit})
		}
	}
	return out
}
