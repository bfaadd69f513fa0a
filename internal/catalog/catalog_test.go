package catalog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/catalog"
	"github.com/mealsync/mealsync/internal/ranking"
	"github.com/mealsync/mealsync/internal/testdb"
)

// The catalogue is real data: it must be big, varied and truthful about
// its diet tags, or recommendations and plans built on it mislead people.
func TestCatalogueIsVariedAndValid(t *testing.T) {
	rs, err := catalog.Recipes(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 150 {
		t.Fatalf("%d recipes, want at least 150", len(rs))
	}
	cuisines, names, ids := map[string]int{}, map[string]bool{}, map[string]bool{}
	meals := map[string]int{}
	for _, r := range rs {
		cuisines[r.Cuisine]++
		if names[strings.ToLower(r.Name)] || ids[r.ID] {
			t.Errorf("duplicate %q", r.Name)
		}
		names[strings.ToLower(r.Name)], ids[r.ID] = true, true
		if r.Name == "" || r.Description == "" || len(r.Ingredients) == 0 || len(r.Instructions) == 0 ||
			r.Servings < 1 || r.TotalTime != r.PreparationTime+r.CookingTime || r.IngredientKey == "" {
			t.Errorf("%q is incomplete: %+v", r.Name, r)
		}
		for _, tag := range r.Tags {
			meals[tag]++
		}
		if bad := ranking.ContradictedTags(r); len(bad) > 0 {
			t.Errorf("%q is tagged %v but an ingredient breaks that", r.Name, bad)
		}
	}
	if len(cuisines) < 10 {
		t.Fatalf("%d cuisines, want at least 10: %v", len(cuisines), cuisines)
	}
	for _, m := range []string{"breakfast", "lunch", "dinner", "vegetarian", "vegan", "gluten-free"} {
		if meals[m] < 20 {
			t.Errorf("only %d recipes tagged %s", meals[m], m)
		}
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) {
			db := st.Open(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Microsecond)
			n, err := catalog.Seed(ctx, db, now)
			if err != nil || n < 150 {
				t.Fatalf("seed: %d, %v", n, err)
			}
			again, err := catalog.Seed(ctx, db, now)
			if err != nil || again != 0 {
				t.Fatalf("second seed added %d (%v), want 0", again, err)
			}
			if count, _ := db.CountRecipes(ctx); count != n {
				t.Fatalf("store holds %d, seeded %d", count, n)
			}
			page, err := db.ListRecipes(ctx, mealsync.RecipeFilter{Cuisines: []string{"italian"}, Tags: []string{"vegetarian"}, Limit: 5})
			if err != nil || page.Total == 0 {
				t.Fatalf("vegetarian Italian recipes: %v %v", page.Total, err)
			}
		})
	}
}
