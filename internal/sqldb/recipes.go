package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mealsync/mealsync"
)

var (
	_ mealsync.RecipeStore   = (*DB)(nil)
	_ mealsync.CatalogueFeed = (*DB)(nil)
)

// Ingredients, instructions and tags are stored as JSON with their recipe:
// they are always read and replaced whole. Searching goes through the side
// tables recipe_tags and recipe_ingredient_names instead, which hold the
// normalised (trimmed, lower-cased) terms.
const recipeColumns = `r.id, r.name, r.description, r.cuisine, r.difficulty, r.ingredient_key,
	r.preparation_time, r.cooking_time, r.total_time, r.servings,
	r.calories, r.protein, r.carbohydrates, r.fat, r.image_url, r.source,
	r.ingredients, r.instructions, r.tags, r.created_at, r.updated_at, r.owner_id, r.published`

// recipeInsertColumns are recipeColumns without the alias, in the same
// order as recipeValues.
var recipeInsertColumns = strings.ReplaceAll(recipeColumns, "r.", "")

// Rows per multi-row INSERT. Both databases cap the parameters of one
// statement (PostgreSQL at 65535, SQLite at 32766): 500 recipes take 11,500,
// 5,000 side rows 10,000.
const (
	recipesPerInsert  = 500
	sideRowsPerInsert = 5000
)

// storedIngredient fixes the JSON shape of an ingredient, so that renaming a
// domain field cannot change what is on disk.
type storedIngredient struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
}

func recipeValues(r *mealsync.Recipe) []any {
	ings := make([]storedIngredient, len(r.Ingredients))
	for i, in := range r.Ingredients {
		ings[i] = storedIngredient(in)
	}
	ingJSON, _ := json.Marshal(ings) // structs of strings always marshal
	var image any
	if r.ImageURL != "" {
		image = r.ImageURL
	}
	var updated any
	if r.UpdatedAt != nil {
		updated = r.UpdatedAt.UTC()
	}
	var owner any
	if r.OwnerID != "" {
		owner = r.OwnerID
	}
	return []any{r.ID, r.Name, r.Description, r.Cuisine, r.Difficulty, r.IngredientKey,
		r.PreparationTime, r.CookingTime, r.TotalTime, r.Servings,
		r.Calories, r.Protein, r.Carbohydrates, r.Fat, image, r.Source,
		string(ingJSON), jsonList(r.Instructions), jsonList(r.Tags), r.CreatedAt.UTC(), updated,
		owner, r.Published}
}

// scanRecipe reads recipeColumns after the destinations in pre. Every column
// is scanned as nullable because the list queries LEFT JOIN their page to
// its total: an empty page is one row of NULLs, for which scanRecipe
// returns a nil recipe.
func scanRecipe(row rowScanner, pre ...any) (*mealsync.Recipe, error) {
	var (
		id, name, description, cuisine, difficulty, key sql.Null[string]
		image, source, ingredients, instructions, tags  sql.Null[string]
		owner                                           sql.Null[string]
		prep, cook, total, servings                     sql.Null[int]
		calories, protein, carbohydrates, fat           sql.Null[float64]
		created, updated                                sql.NullTime
		published                                       sql.Null[bool]
	)
	dest := append(pre, &id, &name, &description, &cuisine, &difficulty, &key,
		&prep, &cook, &total, &servings, &calories, &protein, &carbohydrates, &fat,
		&image, &source, &ingredients, &instructions, &tags, &created, &updated, &owner, &published)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if !id.Valid {
		return nil, nil
	}
	r := &mealsync.Recipe{
		ID: id.V, Name: name.V, Description: description.V, Cuisine: cuisine.V,
		Difficulty: difficulty.V, IngredientKey: key.V,
		PreparationTime: prep.V, CookingTime: cook.V, TotalTime: total.V, Servings: servings.V,
		Calories: calories.V, Protein: protein.V, Carbohydrates: carbohydrates.V, Fat: fat.V,
		ImageURL: image.V, Source: source.V, OwnerID: owner.V, Published: published.V,
		CreatedAt: created.Time.UTC(), UpdatedAt: nullTime(updated),
	}
	var ings []storedIngredient
	if err := json.Unmarshal([]byte(ingredients.V), &ings); err != nil {
		return nil, fmt.Errorf("recipe %s: ingredients: %w", r.ID, err)
	}
	r.Ingredients = make([]mealsync.Ingredient, len(ings))
	for i, in := range ings {
		r.Ingredients[i] = mealsync.Ingredient(in)
	}
	if err := json.Unmarshal([]byte(instructions.V), &r.Instructions); err != nil {
		return nil, fmt.Errorf("recipe %s: instructions: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(tags.V), &r.Tags); err != nil {
		return nil, fmt.Errorf("recipe %s: tags: %w", r.ID, err)
	}
	return r, nil
}

func ingredientNames(r *mealsync.Recipe) []string {
	names := make([]string, len(r.Ingredients))
	for i, in := range r.Ingredients {
		names[i] = in.Name
	}
	return mealsync.SearchTerms(names)
}

// insertRows writes rows (each of the same width) into table with
// multi-row INSERTs of at most perStatement rows: one round trip per batch
// instead of per row.
func insertRows(ctx context.Context, x execer, table, columns string, rows [][]any, perStatement int) error {
	for len(rows) > 0 {
		batch := rows[:min(perStatement, len(rows))]
		rows = rows[len(batch):]
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
		args := make([]any, 0, len(batch)*len(batch[0]))
		for i, row := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					q.WriteString(", ")
				}
				args = append(args, v)
				q.WriteString("$" + strconv.Itoa(len(args)))
			}
			q.WriteByte(')')
		}
		if _, err := x.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// insertRecipes writes rs and their side rows; the caller's transaction
// makes it all or none.
func insertRecipes(ctx context.Context, x execer, rs []*mealsync.Recipe) error {
	for len(rs) > 0 {
		batch := rs[:min(recipesPerInsert, len(rs))]
		rs = rs[len(batch):]
		rows := make([][]any, len(batch))
		for i, r := range batch {
			rows[i] = recipeValues(r)
		}
		if err := insertRows(ctx, x, "recipes", recipeInsertColumns, rows, recipesPerInsert); err != nil {
			return err
		}
		if err := insertSideRows(ctx, x, batch); err != nil {
			return err
		}
	}
	return nil
}

// insertSideRows writes the search terms of rs, whose rows must exist and
// have none yet.
func insertSideRows(ctx context.Context, x execer, rs []*mealsync.Recipe) error {
	var tags, names [][]any
	for _, r := range rs {
		for _, t := range mealsync.SearchTerms(r.Tags) {
			tags = append(tags, []any{t, r.ID})
		}
		for _, n := range ingredientNames(r) {
			names = append(names, []any{r.ID, n})
		}
	}
	if err := insertRows(ctx, x, "recipe_tags", "tag, recipe_id", tags, sideRowsPerInsert); err != nil {
		return err
	}
	return insertRows(ctx, x, "recipe_ingredient_names", "recipe_id, name", names, sideRowsPerInsert)
}

// CreateRecipes inserts rs and their search terms in one transaction. IDs
// and CreatedAt must be set.
func (db *DB) CreateRecipes(ctx context.Context, rs ...*mealsync.Recipe) error {
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("create recipe %s: %w", r.ID, err)
		}
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertRecipes(ctx, tx, rs); err != nil {
			return db.wrap("create recipes", err)
		}
		ids := make([]string, len(rs))
		for i, r := range rs {
			ids[i] = r.ID
		}
		return db.recordRecipeChanges(ctx, tx, ids...)
	})
}

// UpdateRecipe replaces every field of r but CreatedAt, OwnerID and
// Published, and its search terms. UpdatedAt is written as given. The row
// must still have r's Published: an owner's edit authorised while the
// recipe was private must not land on it once it is in the catalogue.
func (db *DB) UpdateRecipe(ctx context.Context, r *mealsync.Recipe) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("update recipe %s: %w", r.ID, err)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		v := recipeValues(r)
		res, err := tx.ExecContext(ctx, `UPDATE recipes SET name = $2, description = $3,
			cuisine = $4, difficulty = $5, ingredient_key = $6, preparation_time = $7,
			cooking_time = $8, total_time = $9, servings = $10, calories = $11, protein = $12,
			carbohydrates = $13, fat = $14, image_url = $15, source = $16, ingredients = $17,
			instructions = $18, tags = $19, updated_at = $20 WHERE id = $1 AND published = $21`,
			append(v[:19:19], v[20], r.Published)...)
		if err := db.expectOne(res, err, "update recipe"); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM recipe_tags WHERE recipe_id = $1`,
			`DELETE FROM recipe_ingredient_names WHERE recipe_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, r.ID); err != nil {
				return db.wrap("update recipe", err)
			}
		}
		if err := insertSideRows(ctx, tx, []*mealsync.Recipe{r}); err != nil {
			return db.wrap("update recipe", err)
		}
		return db.recordRecipeChanges(ctx, tx, r.ID)
	})
}

// DeleteRecipe removes a recipe; its search terms and users' records of it
// go with it (ON DELETE CASCADE).
func (db *DB) DeleteRecipe(ctx context.Context, id string) error {
	return db.deleteRecipe(ctx, id, `DELETE FROM recipes WHERE id = $1`, id)
}

// DeletePrivateRecipe removes a recipe only while it is private to
// ownerID, in the same statement that checks it.
func (db *DB) DeletePrivateRecipe(ctx context.Context, id, ownerID string) error {
	return db.deleteRecipe(ctx, id, `DELETE FROM recipes WHERE id = $1 AND owner_id = $2 AND NOT published`, id, ownerID)
}

func (db *DB) deleteRecipe(ctx context.Context, id, q string, args ...any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err := db.expectOne(res, err, "delete recipe"); err != nil {
			return err
		}
		return db.recordRecipeChanges(ctx, tx, id)
	})
}

// PublishRecipe puts a recipe in the catalogue. Publishing a published
// recipe changes nothing but the catalogue version.
func (db *DB) PublishRecipe(ctx context.Context, id string) (*mealsync.Recipe, error) {
	var r *mealsync.Recipe
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recipes SET published = $2 WHERE id = $1`, id, true)
		if err := db.expectOne(res, err, "publish recipe"); err != nil {
			return err
		}
		if r, err = scanRecipe(tx.QueryRowContext(ctx, `SELECT `+recipeColumns+` FROM recipes r WHERE r.id = $1`, id)); err != nil {
			return db.wrap("publish recipe", err)
		}
		return db.recordRecipeChanges(ctx, tx, r.ID)
	})
	return r, err
}

// HasPrivateRecipes asks index recipes_owner_idx whether ownerID owns an
// unpublished recipe.
func (db *DB) HasPrivateRecipes(ctx context.Context, ownerID string) (bool, error) {
	var one int
	err := db.conn(ctx).QueryRowContext(ctx, `SELECT 1 FROM recipes
		WHERE owner_id = $1 AND NOT published LIMIT 1`, ownerID).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, db.wrap("has private recipes", err)
}

// recordRecipeChanges marks the catalogue changed, inside the change's own
// transaction — a reader sees the new version only with the new rows — and
// records which recipes changed under it (see feed).
func (db *DB) recordRecipeChanges(ctx context.Context, tx *sql.Tx, ids ...string) error {
	return db.record(ctx, tx, recipeFeed, time.Now(), ids...)
}

// Catalogue returns every published recipe and the catalogue version, read
// in one snapshot (a repeatable-read transaction on PostgreSQL; SQLite's
// transactions are snapshots already).
func (db *DB) Catalogue(ctx context.Context) ([]*mealsync.Recipe, int64, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.dialect.Name == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, db.wrap("catalogue", err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT version FROM catalogue_version WHERE id = 1`).Scan(&version); err != nil {
		return nil, 0, db.wrap("catalogue version", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+recipeColumns+` FROM recipes r WHERE r.published`)
	if err != nil {
		return nil, 0, db.wrap("catalogue", err)
	}
	defer rows.Close()
	var rs []*mealsync.Recipe
	for rows.Next() {
		r, err := scanRecipe(rows)
		if err != nil {
			return nil, 0, db.wrap("catalogue", err)
		}
		rs = append(rs, r)
	}
	return rs, version, db.wrap("catalogue", rows.Err())
}

// RecipeChangesSince returns the recipes changed after catalogue version
// after, the latest version, and whether every change after after is still
// recorded (false once pruned: the caller must read the catalogue again).
func (db *DB) RecipeChangesSince(ctx context.Context, after int64) ([]string, int64, bool, error) {
	return db.changesSince(ctx, recipeFeed, after)
}

// PruneRecipeChanges deletes entries recorded before before.
func (db *DB) PruneRecipeChanges(ctx context.Context, before time.Time) (int64, error) {
	return db.prune(ctx, recipeFeed, before)
}

// CatalogueVersion returns the catalogue's change counter.
func (db *DB) CatalogueVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.conn(ctx).QueryRowContext(ctx, `SELECT version FROM catalogue_version WHERE id = 1`).Scan(&v)
	return v, db.wrap("catalogue version", err)
}

// RecipeByID returns ErrNotFound for an unknown id.
func (db *DB) RecipeByID(ctx context.Context, id string) (*mealsync.Recipe, error) {
	r, err := scanRecipe(db.conn(ctx).QueryRowContext(ctx, `SELECT `+recipeColumns+` FROM recipes r WHERE r.id = $1`, id))
	if err != nil {
		return nil, db.wrap("recipe by id", err)
	}
	return r, nil
}

// recipesPerLookup bounds the ids of one RecipesByIDs query, far above any
// meal plan, far below the databases' parameter limits.
const recipesPerLookup = 1000

// RecipesByIDs returns the recipes in the order of ids, once per occurrence;
// unknown ids are skipped.
func (db *DB) RecipesByIDs(ctx context.Context, ids []string) ([]*mealsync.Recipe, error) {
	// PostgreSQL returns a UUID in its canonical lower-case form, whatever
	// the case it was asked in.
	found := make(map[string]*mealsync.Recipe, len(ids))
	for rest := ids; len(rest) > 0; {
		batch := rest[:min(recipesPerLookup, len(rest))]
		rest = rest[len(batch):]
		args := make([]any, len(batch))
		marks := make([]string, len(batch))
		for i, id := range batch {
			args[i], marks[i] = id, "$"+strconv.Itoa(i+1)
		}
		rows, err := db.conn(ctx).QueryContext(ctx, `SELECT `+recipeColumns+` FROM recipes r
			WHERE r.id IN (`+strings.Join(marks, ", ")+`)`, args...)
		if err != nil {
			return nil, db.wrap("recipes by ids", err)
		}
		for rows.Next() {
			r, err := scanRecipe(rows)
			if err != nil {
				rows.Close()
				return nil, db.wrap("recipes by ids", err)
			}
			found[strings.ToLower(r.ID)] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, db.wrap("recipes by ids", err)
		}
	}
	rs := make([]*mealsync.Recipe, 0, len(ids))
	for _, id := range ids {
		if r, ok := found[strings.ToLower(id)]; ok {
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// CountRecipes counts every stored recipe, private ones included.
func (db *DB) CountRecipes(ctx context.Context) (int, error) {
	var n int
	if err := db.conn(ctx).QueryRowContext(ctx, `SELECT count(*) FROM recipes`).Scan(&n); err != nil {
		return 0, db.wrap("count recipes", err)
	}
	return n, nil
}

// ListRecipes returns one page of the recipes matching f, ordered by name
// then id, with the count of all matches, in one round trip.
func (db *DB) ListRecipes(ctx context.Context, f mealsync.RecipeFilter) (mealsync.Page[*mealsync.Recipe], error) {
	f = f.Normalized()
	page := mealsync.Page[*mealsync.Recipe]{Items: []*mealsync.Recipe{}, Offset: f.Offset, Limit: f.Limit}
	q, args := listRecipesQuery(f, db.dialect.ByteOrder)
	rows, err := db.conn(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return page, db.wrap("list recipes", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecipe(rows, &page.Total)
		if err != nil {
			return page, db.wrap("list recipes", err)
		}
		if r != nil {
			page.Items = append(page.Items, r)
		}
	}
	if err := rows.Err(); err != nil {
		return page, db.wrap("list recipes", err)
	}
	return page, nil
}

// queryArgs collects a statement's arguments; add returns the placeholder
// of the one it appends.
type queryArgs []any

func (a *queryArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// likeEscaper makes user input literal inside a LIKE pattern (ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// recipeFilterSQL turns f, Normalized, into conditions on recipes r,
// joined with AND, and appends their arguments to a. Each condition has an index behind it
// on PostgreSQL (see migrations/002_recipes.sql); the substring filters
// use trigram indexes there and scan on SQLite.
func recipeFilterSQL(f mealsync.RecipeFilter, a *queryArgs) string {
	conds := []string{visibilitySQL(f, a)}
	if f.Name != "" {
		conds = append(conds, `lower(r.name) LIKE '%' || lower(`+a.add(likeEscaper.Replace(f.Name))+`) || '%' ESCAPE '\'`)
	}
	if len(f.Cuisines) > 0 {
		cuisines := make([]string, len(f.Cuisines))
		for i, c := range f.Cuisines {
			cuisines[i] = "lower(" + a.add(c) + ")"
		}
		conds = append(conds, "lower(r.cuisine) IN ("+strings.Join(cuisines, ", ")+")")
	}
	if d := f.Difficulty; d != "" {
		conds = append(conds, "lower(r.difficulty) = lower("+a.add(d)+")")
	}
	if f.MaxTotalTime != nil {
		conds = append(conds, "r.total_time <= "+a.add(*f.MaxTotalTime))
	}
	if f.MinServings != nil {
		conds = append(conds, "r.servings >= "+a.add(*f.MinServings))
	}
	if tags := f.Tags; len(tags) > 0 {
		marks := make([]string, len(tags))
		for i, t := range tags {
			marks[i] = a.add(t)
		}
		conds = append(conds, "r.id IN (SELECT recipe_id FROM recipe_tags WHERE tag IN ("+strings.Join(marks, ", ")+"))")
	}
	if names := f.Ingredients; len(names) > 0 {
		likes := make([]string, len(names))
		for i, n := range names {
			likes[i] = "name LIKE " + a.add("%"+likeEscaper.Replace(n)+"%") + ` ESCAPE '\'`
		}
		conds = append(conds, "r.id IN (SELECT recipe_id FROM recipe_ingredient_names WHERE "+strings.Join(likes, " OR ")+")")
	}
	return strings.Join(conds, "\n\tAND ")
}

// visibilitySQL keeps the recipes f.Viewer may list: the catalogue and
// the viewer's own private recipes, narrowed by f.Published. A private list
// of one owner is served by recipes_owner_idx.
func visibilitySQL(f mealsync.RecipeFilter, a *queryArgs) string {
	v := f.Viewer
	switch {
	case f.Published != nil && *f.Published:
		return "r.published"
	case f.Published != nil && v.Admin:
		// Every private recipe has an owner (a CHECK says so); saying it
		// here lets PostgreSQL read the partial recipes_owner_idx.
		return "r.owner_id IS NOT NULL AND NOT r.published"
	case f.Published != nil && v.UserID != "":
		return "r.owner_id = " + a.add(v.UserID) + " AND NOT r.published"
	case f.Published != nil: // an anonymous caller has no private recipes
		return "1 = 0"
	case v.UserID != "":
		return "(r.published OR r.owner_id = " + a.add(v.UserID) + ")"
	}
	return "r.published"
}

// listRecipesQuery is ListRecipes' statement: the count of all matches
// LEFT JOINed to the page, so that a page past the end still brings its
// total (as one row of NULL recipe columns). Count and page are separate
// subqueries, each free to take its best plan: the page can walk
// recipes_name_bytes_idx and stop after offset+limit matches, the count
// can use whatever index is most selective; neither has to keep wide rows
// of every match, as count(*) OVER () would. Names sort by code point
// (byteOrder), whatever the database's locale.
func listRecipesQuery(f mealsync.RecipeFilter, byteOrder string) (string, []any) {
	var a queryArgs
	countWhere := recipeFilterSQL(f, &a)
	pageWhere := recipeFilterSQL(f, &a)
	limit, offset := a.add(f.Limit), a.add(f.Offset)
	return `SELECT t.total, ` + strings.ReplaceAll(recipeColumns, "r.", "p.") + `
FROM (SELECT count(*) AS total FROM recipes r WHERE ` + countWhere + `) t
LEFT JOIN (SELECT ` + recipeColumns + ` FROM (SELECT r.id FROM recipes r WHERE ` + pageWhere + `
	ORDER BY r.name` + byteOrder + `, r.id LIMIT ` + limit + ` OFFSET ` + offset + `) ids JOIN recipes r ON r.id = ids.id) p ON 1 = 1
ORDER BY p.name` + byteOrder + `, p.id`, a
}
