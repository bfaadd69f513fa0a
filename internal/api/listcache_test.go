package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
)

func minimalRecipe(name string) *mealsync.Recipe {
	return &mealsync.Recipe{ID: uuid.NewString(), Name: name, Description: "d", Cuisine: "Italian",
		Difficulty: "EASY", Ingredients: []mealsync.Ingredient{{Name: "tomato", Quantity: "1"}},
		Instructions: []string{"cook"}, IngredientKey: name, Servings: 2, Source: "test", Published: true,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
}

// The list cache never serves a page after the catalogue changed, whoever
// changed it, and answers a matching If-None-Match with 304.
func TestListCacheFollowsTheCatalogue(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if err := e.db.CreateRecipes(ctx, minimalRecipe("Bruschetta")); err != nil {
			t.Fatal(err)
		}
		first := e.expect(e.do("GET", "/api/v1/recipes?cuisines=italian", "", nil), 200)
		tag := first.header.Get("ETag")
		if first.body["totalElements"] != 1.0 || tag == "" {
			t.Fatalf("first page: %s %q", first.raw, tag)
		}
		// Same filter in other case and order: same page, same tag.
		again := e.expect(e.do("GET", "/api/v1/recipes?cuisines=ITALIAN", "", nil), 200)
		if again.header.Get("ETag") != tag || string(again.raw) != string(first.raw) {
			t.Fatal("an equal filter missed the cache")
		}
		e.expect(e.do("GET", "/api/v1/recipes?cuisines=italian", "", nil, "If-None-Match", tag), 304)

		// A change made behind the API's back (another instance) shows.
		if err := e.db.CreateRecipes(ctx, minimalRecipe("Caprese")); err != nil {
			t.Fatal(err)
		}
		after := e.expect(e.do("GET", "/api/v1/recipes?cuisines=italian", "", nil, "If-None-Match", tag), 200)
		if after.body["totalElements"] != 2.0 || after.header.Get("ETag") == tag {
			t.Fatalf("stale page after a change: %s", after.raw)
		}
		// Deletes and updates count as changes too.
		id := after.body["data"].([]any)[0].(map[string]any)["id"].(string)
		if err := e.db.DeleteRecipe(ctx, id); err != nil {
			t.Fatal(err)
		}
		last := e.expect(e.do("GET", "/api/v1/recipes?cuisines=italian", "", nil), 200)
		if last.body["totalElements"] != 1.0 {
			t.Fatalf("deleted recipe still listed: %s", last.raw)
		}
	})
}
