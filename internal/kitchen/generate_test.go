package kitchen_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

// answers is a provider that returns fixed recipes, standing in for a model
// (the OpenAI provider's own tests cover the wire protocol).
type answers []*mealsync.Recipe

func (a answers) Name() string { return "openai" }
func (a answers) Generate(context.Context, mealsync.GenerateRequest) ([]*mealsync.Recipe, error) {
	out := make([]*mealsync.Recipe, len(a))
	for i, r := range a {
		c := *r
		out[i] = &c
	}
	return out, nil
}
func (a answers) DetectIngredients(context.Context, []byte, string) ([]mealsync.Ingredient, error) {
	return nil, nil
}

// now is the tests' clock: UTC, to the microsecond the stores keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// addUser stores an active user with the given id.
func addUser(t *testing.T, db *sqldb.DB, id string) *mealsync.User {
	t.Helper()
	u := &mealsync.User{ID: id, Email: id + "@example.com", Name: "Cook",
		Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "x", CreatedAt: now(), UpdatedAt: now()}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func dish(name string) *mealsync.Recipe {
	return &mealsync.Recipe{Name: name, Description: "d", Cuisine: "Japanese", Difficulty: "EASY",
		Ingredients: []mealsync.Ingredient{{Name: "rice", Quantity: "1"}}, Instructions: []string{"cook"}, Servings: 1}
}

// Generated recipes are stored once: a dish already known by its key is
// reused, two answers with one key become one recipe, and names whose key is
// empty are never merged. Every returned recipe is recorded for the user.
func TestGenerateStoresEachDishOnce(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	u := addUser(t, db, "00000000-0000-4000-8000-000000000001")
	known := dish("Miso Soup")
	known.ID, known.IngredientKey, known.CreatedAt, known.Source = "00000000-0000-4000-8000-0000000000aa", "miso_soup", now(), "catalog"
	known.Published = true
	if err := db.CreateRecipes(ctx, known); err != nil {
		t.Fatal(err)
	}
	provider := answers{dish("Miso Soup"), dish("Onigiri"), dish("onigiri"), dish("寿司"), dish("天ぷら")}
	k := kitchen.New(db, db, db, provider, nil, nil, now, slog.New(slog.NewTextHandler(io.Discard, nil)))

	got, err := k.Generate(ctx, u, mealsync.GenerateRequest{Ingredients: []mealsync.Ingredient{{Name: "rice"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].ID != known.ID {
		t.Fatalf("a known dish was stored again: %s", got[0].ID)
	}
	if got[1].ID != got[2].ID {
		t.Fatal("two answers with one key became two recipes")
	}
	if got[3].ID == got[4].ID {
		t.Fatal("two different names with empty keys were merged")
	}
	if n, _ := db.CountRecipes(ctx); n != 4 { // miso, onigiri, 寿司, 天ぷら
		t.Fatalf("catalogue holds %d recipes, want 4", n)
	}
	recent, err := db.UserRecipes(ctx, u.ID, mealsync.RecipeGenerated, 0, 10)
	if err != nil || recent.Total != 4 {
		t.Fatalf("recorded %d generated recipes (%v), want 4", recent.Total, err)
	}
}

// writesCounted is a recipe store that counts the writes asked of it.
type writesCounted struct {
	mealsync.RecipeStore
	creates int
}

func (w *writesCounted) CreateRecipes(ctx context.Context, rs ...*mealsync.Recipe) error {
	w.creates++
	return w.RecipeStore.CreateRecipes(ctx, rs...)
}

// Generation that answers with catalogue recipes only (the catalogue
// provider, always) writes no recipe and tells nobody the catalogue
// changed: each such write made every instance's index read the catalogue
// again, and lists meanwhile went to the database.
func TestGeneratingKnownDishesLeavesTheCatalogueAlone(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	u := addUser(t, db, "00000000-0000-4000-8000-000000000002")
	known := dish("Miso Soup")
	known.ID, known.IngredientKey, known.CreatedAt, known.Source, known.Published = "00000000-0000-4000-8000-0000000000bb", "miso_soup", now(), "catalog", true
	if err := db.CreateRecipes(ctx, known); err != nil {
		t.Fatal(err)
	}
	store := &writesCounted{RecipeStore: db}
	k := kitchen.New(store, db, db, answers{known}, nil, nil, now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	changes := 0
	k.OnCatalogueChange(func() { changes++ })
	got, err := k.Generate(ctx, u, mealsync.GenerateRequest{Ingredients: []mealsync.Ingredient{{Name: "miso"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != known.ID {
		t.Fatalf("got %v, want the catalogue's recipe", got)
	}
	if store.creates != 0 || changes != 0 {
		t.Errorf("%d recipe writes and %d catalogue changes for a known dish; want none", store.creates, changes)
	}
	if recent, err := db.UserRecipes(ctx, u.ID, mealsync.RecipeGenerated, 0, 10); err != nil || recent.Total != 1 {
		t.Errorf("recorded %d generated recipes (%v), want the dish", recent.Total, err)
	}
}
