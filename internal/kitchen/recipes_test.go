package kitchen_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/testdb"
)

func intp(n int) *int { return &n }

// The kitchen, not the handler, decides what a client may not: the id,
// source, owner and dedupe key of a recipe; it refuses invalid recipes and
// false diet tags; and it tells its listeners of every change it makes.
func TestKitchenOwnsRecipeWrites(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	u := addUser(t, db, "00000000-0000-4000-8000-000000000002")
	k := kitchen.New(db, db, db, answers{}, nil, nil, now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	changes := 0
	k.OnCatalogueChange(func() { changes++ })

	in := kitchen.RecipeInput{Name: " Leek Soup ", Description: "Warm", Cuisine: "French", Difficulty: "easy",
		Ingredients: []mealsync.Ingredient{{Name: "leek", Quantity: "2"}}, Instructions: []string{"Simmer."},
		PreparationTime: intp(10), CookingTime: intp(20)}
	r, err := k.CreateRecipe(ctx, u, in)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" || r.Source != mealsync.SourceUser || r.OwnerID != u.ID || r.Published ||
		r.IngredientKey == "" || r.Name != "Leek Soup" || r.Difficulty != "EASY" || r.TotalTime != 30 || r.Servings != 1 {
		t.Fatalf("created %+v", r)
	}
	if changes != 1 {
		t.Fatalf("%d change notices after a create, want 1", changes)
	}

	bad := in
	bad.Servings = intp(0)
	if _, err := k.CreateRecipe(ctx, u, bad); mealsync.ErrorCode(err) != mealsync.EINVALID {
		t.Fatalf("servings 0: %v, want EINVALID", err)
	}
	honey := in
	honey.Ingredients, honey.Tags = []mealsync.Ingredient{{Name: "honey", Quantity: "1"}}, []string{"vegan"}
	if _, err := k.CreateRecipe(ctx, u, honey); mealsync.ErrorCode(err) != mealsync.EINVALID {
		t.Fatalf("a vegan recipe with honey: %v, want EINVALID", err)
	}

	renamed := in
	renamed.Name = "Leek and Potato Soup"
	got, err := k.UpdateRecipe(ctx, u, r.ID, func() (kitchen.RecipeInput, error) { return renamed, nil })
	if err != nil || got.IngredientKey == r.IngredientKey || got.UpdatedAt == nil {
		t.Fatalf("update: %+v, %v; want a new key and an update time", got, err)
	}
	other := &mealsync.User{ID: "00000000-0000-4000-8000-000000000003", Role: mealsync.RoleUser}
	read := false
	if _, err := k.UpdateRecipe(ctx, other, r.ID, func() (kitchen.RecipeInput, error) { read = true; return in, nil }); mealsync.ErrorCode(err) != mealsync.ENOTFOUND || read {
		t.Fatalf("another user's update: %v (body read: %v), want not found without reading", err, read)
	}
	if err := k.DeleteRecipe(ctx, u, r.ID); err != nil {
		t.Fatal(err)
	}
	if changes != 3 {
		t.Fatalf("%d change notices after create, update and delete, want 3 (refusals make none)", changes)
	}
}
