package sqldb

import "github.com/mealsync/mealsync"

// ListRecipesQuery exposes the statement ListRecipes runs, so that the
// plan test (package sqldb_test, which needs testdb) can EXPLAIN exactly it.
func ListRecipesQuery(f mealsync.RecipeFilter) (string, []any) {
	return listRecipesQuery(f, ` COLLATE "C"`) // PostgreSQL's: the plans are checked there
}
