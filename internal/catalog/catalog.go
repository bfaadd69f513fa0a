// Package catalog is MealSync's starter catalogue: real recipes across many
// cuisines, kept as a data file in this folder and embedded in the binary.
// `mealsync seed` loads it, and so does the first start on an empty SQLite
// database, so a new server has something to recommend and plan with.
package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// recipes.json is the catalogue's source, the file to read and edit; the
// binary embeds it gzipped (a sixth of the size — the image has a size
// budget). TestEmbeddedCatalogueIsCurrent fails when the two differ.
//
//go:generate sh -c "gzip -9nc recipes.json > recipes.json.gz"
//go:embed recipes.json.gz
var compressed []byte

// source returns the catalogue's JSON.
func source() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return io.ReadAll(zr)
}

// namespace makes recipe ids from names: every server seeds the same ids, so
// seeding again — or on another instance — adds only what is missing.
var namespace = uuid.MustParse("6f1c2a4e-1b7d-4e5a-9c0e-2d9b8f3a7c11")

type entry struct {
	Name            string                `json:"name"`
	Description     string                `json:"description"`
	Cuisine         string                `json:"cuisine"`
	Difficulty      string                `json:"difficulty"`
	PreparationTime int                   `json:"preparationTime"`
	CookingTime     int                   `json:"cookingTime"`
	TotalTime       int                   `json:"totalTime"`
	Servings        int                   `json:"servings"`
	Calories        float64               `json:"calories"`
	Protein         float64               `json:"protein"`
	Carbohydrates   float64               `json:"carbohydrates"`
	Fat             float64               `json:"fat"`
	Ingredients     []mealsync.Ingredient `json:"ingredients"`
	Instructions    []string              `json:"instructions"`
	Tags            []string              `json:"tags"`
}

// Recipes returns the catalogue, stamped with createdAt.
func Recipes(createdAt time.Time) ([]*mealsync.Recipe, error) {
	data, err := source()
	if err != nil {
		return nil, err
	}
	var entries []entry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	out := make([]*mealsync.Recipe, len(entries))
	for i, e := range entries {
		out[i] = &mealsync.Recipe{
			ID: uuid.NewSHA1(namespace, []byte(e.Name)).String(), Name: e.Name, Description: e.Description,
			Cuisine: e.Cuisine, Difficulty: e.Difficulty, Ingredients: e.Ingredients, Instructions: e.Instructions,
			Tags: e.Tags, IngredientKey: ranking.IngredientKey(e.Name), PreparationTime: e.PreparationTime,
			CookingTime: e.CookingTime, TotalTime: e.TotalTime, Servings: e.Servings, Calories: e.Calories,
			Protein: e.Protein, Carbohydrates: e.Carbohydrates, Fat: e.Fat, Source: "catalog", Published: true, CreatedAt: createdAt,
		}
		if err := out[i].Validate(); err != nil {
			return nil, fmt.Errorf("catalog: %q: %w", e.Name, err)
		}
	}
	return out, nil
}

// Seed adds the catalogue's recipes that the store lacks, in one
// transaction, and returns how many it added.
func Seed(ctx context.Context, store mealsync.RecipeStore, now time.Time) (int, error) {
	rs, err := Recipes(now)
	if err != nil {
		return 0, err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	have, err := store.RecipesByIDs(ctx, ids)
	if err != nil {
		return 0, err
	}
	present := make(map[string]bool, len(have))
	for _, r := range have {
		present[r.ID] = true
	}
	var missing []*mealsync.Recipe
	for _, r := range rs {
		if !present[r.ID] {
			missing = append(missing, r)
		}
	}
	if err := store.CreateRecipes(ctx, missing...); err != nil {
		return 0, err
	}
	return len(missing), nil
}
