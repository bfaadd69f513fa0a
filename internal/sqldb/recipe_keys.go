package sqldb

import (
	"context"
	"strings"

	"github.com/mealsync/mealsync"
)

// RecipesByIngredientKeys returns the oldest catalogue recipe for each key
// that exists (index recipes_ingredient_key_idx). Generated recipes are
// matched against it so that asking twice does not store the same dish
// twice. Private recipes are never matched: a user's own recipe must not
// claim a dish that generation then hands to everyone else.
func (db *DB) RecipesByIngredientKeys(ctx context.Context, keys []string) (map[string]*mealsync.Recipe, error) {
	out := make(map[string]*mealsync.Recipe, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var a queryArgs
	marks := make([]string, len(keys))
	for i, k := range keys {
		marks[i] = a.add(k)
	}
	rows, err := db.conn(ctx).QueryContext(ctx, `SELECT `+recipeColumns+` FROM recipes r
		WHERE r.ingredient_key IN (`+strings.Join(marks, ", ")+`) AND r.published
		ORDER BY r.created_at, r.id`, a...)
	if err != nil {
		return nil, db.wrap("recipes by ingredient key", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecipe(rows)
		if err != nil {
			return nil, db.wrap("recipes by ingredient key", err)
		}
		if _, seen := out[r.IngredientKey]; !seen {
			out[r.IngredientKey] = r
		}
	}
	return out, db.wrap("recipes by ingredient key", rows.Err())
}
