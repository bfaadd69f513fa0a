package kitchen

import (
	"context"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// candidatesPerSource bounds how many recipes one recommendation scores:
// the favourite cuisines' recipes, then the catalogue's.
const candidatesPerSource = 300

// Recommend returns up to limit recipes for u, from the catalogue and u's
// own private recipes: never one u may not eat or has saved; favourite
// cuisines first.
func (s *Service) Recommend(ctx context.Context, u *mealsync.User, limit int) ([]*mealsync.Recipe, error) {
	seen := map[string]bool{}
	var candidates []*mealsync.Recipe
	add := func(f mealsync.RecipeFilter) error {
		f.Viewer, f.Limit = mealsync.ViewerOf(u), candidatesPerSource
		p, err := s.recipes.ListRecipes(ctx, f)
		for _, r := range p.Items {
			if !seen[r.ID] {
				seen[r.ID] = true
				candidates = append(candidates, r)
			}
		}
		return err
	}
	if len(u.Preferences.FavoriteCuisines) > 0 {
		if err := add(mealsync.RecipeFilter{Cuisines: u.Preferences.FavoriteCuisines}); err != nil {
			return nil, err
		}
	}
	if err := add(mealsync.RecipeFilter{}); err != nil {
		return nil, err
	}
	saved, savedCuisines, err := s.savedRecipes(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return ranking.Recommend(candidates, u.Preferences, saved, savedCuisines, limit), nil
}

// savedRecipes returns the ids the user saved and the cuisines of those
// recipes (the ranking's history signal).
func (s *Service) savedRecipes(ctx context.Context, userID string) (map[string]bool, map[string]bool, error) {
	saved, err := s.recipes.SavedRecipeIDs(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, 0, len(saved))
	for id := range saved {
		ids = append(ids, id)
	}
	rs, err := s.recipes.RecipesByIDs(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	cuisines := map[string]bool{}
	for _, r := range rs {
		cuisines[r.Cuisine] = true
	}
	return saved, cuisines, nil
}

// TodayPicks returns n recommendations that change daily, the same all day
// for one user.
func (s *Service) TodayPicks(ctx context.Context, u *mealsync.User, n int) ([]*mealsync.Recipe, error) {
	ranked, err := s.Recommend(ctx, u, 30)
	if err != nil {
		return nil, err
	}
	return ranking.TodayPicks(ranked, u.ID, s.now(), n), nil
}
