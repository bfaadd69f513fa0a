package sqldb

import (
	"context"
	"database/sql"
	"strings"

	"github.com/mealsync/mealsync"
)

const savedRecipeColumns = `ur.id, ur.user_id, ur.type, ur.saved_at`

// scanSavedRecipe reads savedRecipeColumns then recipeColumns after the
// destinations in pre; like scanRecipe it returns nil for a row of NULLs.
func scanSavedRecipe(row rowScanner, pre ...any) (*mealsync.SavedRecipe, error) {
	var id, userID, kind sql.Null[string]
	var savedAt sql.NullTime
	r, err := scanRecipe(row, append(pre, &id, &userID, &kind, &savedAt)...)
	if err != nil || !id.Valid {
		return nil, err
	}
	return &mealsync.SavedRecipe{ID: id.V, UserID: userID.V, Type: kind.V, SavedAt: savedAt.Time.UTC(), Recipe: r}, nil
}

// SaveRecipe records s.Recipe.ID in s.UserID's collection of kind s.Type.
// Saving again is not an error: it returns the record that exists, with its
// own ID and SavedAt. ON CONFLICT DO NOTHING makes concurrent saves of the
// same recipe safe on both databases. An unknown user or recipe is
// ErrNotFound (the foreign keys say so), and so is another user's private
// recipe. A recipe never turns private again once published, so the check
// cannot go stale before the insert.
func (db *DB) SaveRecipe(ctx context.Context, s *mealsync.SavedRecipe) (*mealsync.SavedRecipe, error) {
	if s.Recipe == nil {
		return nil, mealsync.Errorf(mealsync.EINVALID, "no recipe to save")
	}
	var saved *mealsync.SavedRecipe
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM recipes WHERE id = $1 AND (published OR owner_id = $2)`,
			s.Recipe.ID, s.UserID).Scan(&one)
		if err != nil {
			return db.wrap("save recipe", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO user_recipes (id, user_id, recipe_id, type, saved_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, type, recipe_id) DO NOTHING`,
			s.ID, s.UserID, s.Recipe.ID, s.Type, s.SavedAt.UTC())
		if err != nil {
			return db.wrap("save recipe", err)
		}
		saved, err = scanSavedRecipe(tx.QueryRowContext(ctx, `SELECT `+savedRecipeColumns+`, `+recipeColumns+`
			FROM user_recipes ur JOIN recipes r ON r.id = ur.recipe_id
			WHERE ur.user_id = $1 AND ur.type = $2 AND ur.recipe_id = $3`, s.UserID, s.Type, s.Recipe.ID))
		return db.wrap("read saved recipe", err)
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// UnsaveRecipe removes one record; ErrNotFound when there was none.
func (db *DB) UnsaveRecipe(ctx context.Context, userID, recipeID, kind string) error {
	res, err := db.exec(ctx, `DELETE FROM user_recipes
		WHERE user_id = $1 AND type = $2 AND recipe_id = $3`, userID, kind, recipeID)
	return db.expectOne(res, err, "unsave recipe")
}

// UserRecipes lists a user's records of one kind with their recipes, newest
// first (then by id), from index user_recipes_list_idx. As in ListRecipes,
// the total is LEFT JOINed to the page so that a page past the end still
// has it, in one round trip.
func (db *DB) UserRecipes(ctx context.Context, userID, kind string, offset, limit int) (mealsync.Page[*mealsync.SavedRecipe], error) {
	page := mealsync.Page[*mealsync.SavedRecipe]{Items: []*mealsync.SavedRecipe{}, Offset: offset, Limit: limit}
	pageColumns := "p.ur_id, p.user_id, p.type, p.saved_at, " + strings.ReplaceAll(recipeColumns, "r.", "p.")
	rows, err := db.conn(ctx).QueryContext(ctx, `SELECT t.total, `+pageColumns+`
FROM (SELECT count(*) AS total FROM user_recipes WHERE user_id = $1 AND type = $2) t
LEFT JOIN (SELECT ur.id AS ur_id, ur.user_id, ur.type, ur.saved_at, `+recipeColumns+`
	FROM user_recipes ur JOIN recipes r ON r.id = ur.recipe_id
	WHERE ur.user_id = $3 AND ur.type = $4
	ORDER BY ur.saved_at DESC, ur.id LIMIT $5 OFFSET $6) p ON 1 = 1
ORDER BY p.saved_at DESC, p.ur_id`, userID, kind, userID, kind, limit, offset)
	if err != nil {
		return page, db.wrap("user recipes", err)
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanSavedRecipe(rows, &page.Total)
		if err != nil {
			return page, db.wrap("user recipes", err)
		}
		if s != nil {
			page.Items = append(page.Items, s)
		}
	}
	if err := rows.Err(); err != nil {
		return page, db.wrap("user recipes", err)
	}
	return page, nil
}

// SavedRecipeIDs returns the ids of the recipes userID saved (kind SAVED),
// for marking them in lists.
func (db *DB) SavedRecipeIDs(ctx context.Context, userID string) (map[string]bool, error) {
	rows, err := db.conn(ctx).QueryContext(ctx, `SELECT recipe_id FROM user_recipes
		WHERE user_id = $1 AND type = $2`, userID, mealsync.RecipeSaved)
	if err != nil {
		return nil, db.wrap("saved recipe ids", err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, db.wrap("saved recipe ids", err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap("saved recipe ids", err)
	}
	return ids, nil
}
