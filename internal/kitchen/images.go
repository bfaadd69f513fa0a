package kitchen

import (
	"context"

	"github.com/mealsync/mealsync"
)

// SetImage stores an uploaded picture under a content-addressed name (so it
// can be cached forever) and points the recipe at it. The content is checked
// by its bytes, never by its name.
func (s *Service) SetImage(ctx context.Context, recipeID string, data []byte) (*mealsync.Recipe, error) {
	if _, err := s.images.CheckImage(data); err != nil {
		return nil, err
	}
	r, err := s.recipes.RecipeByID(ctx, recipeID)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, recipeNotFound(recipeID)
	}
	if err != nil {
		return nil, err
	}
	url, err := s.images.PutImage(ctx, data)
	if err != nil {
		return nil, err
	}
	now := s.now()
	r.ImageURL, r.UpdatedAt = url, &now
	if err := s.recipes.UpdateRecipe(ctx, r); err != nil {
		return nil, err
	}
	s.catalogueChanged(ctx)
	return r, nil
}
