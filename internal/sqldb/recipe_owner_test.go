package sqldb_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// ownedFixture is a catalogue recipe, a recipe of alice's in the catalogue
// and one private to her, and a private recipe of bob's.
type ownedFixture struct {
	alice, bob, admin                    *mealsync.User
	catalogue, alicePublic, alicePrivate *mealsync.Recipe
	bobPrivate                           *mealsync.Recipe
	aliceViewer, bobViewer, adminViewer  mealsync.Viewer
	// Expected list contents, in list order.
	catalogueNames, aliceNames, bobNames, privateNames, alicePrivates []string
}

func newOwnedFixture(t *testing.T, db *sqldb.DB) *ownedFixture {
	t.Helper()
	at := now()
	f := &ownedFixture{
		alice: mustCreateUser(t, db, at, nil),
		bob:   mustCreateUser(t, db, at, nil),
		admin: mustCreateUser(t, db, at, func(u *mealsync.User) { u.Role = mealsync.RoleAdmin }),
	}
	// The names start with different letters so the order is the same
	// under any collation; every recipe shares the ingredient key "stew".
	recipe := func(name, owner string, published bool) *mealsync.Recipe {
		return newRecipe(at, func(r *mealsync.Recipe) {
			r.Name, r.OwnerID, r.Published, r.IngredientKey = name, owner, published, "stew"
		})
	}
	f.catalogue = recipe("Catalogue Stew", "", true)
	f.alicePublic = recipe("Alice's Published Stew", f.alice.ID, true)
	f.alicePrivate = recipe("Alice's Secret Stew", f.alice.ID, false)
	f.bobPrivate = recipe("Bob's Secret Stew", f.bob.ID, false)
	// The private ones are the oldest: a lookup by key must skip them, not
	// merely prefer another.
	f.alicePrivate.CreatedAt = at.Add(-2 * time.Hour)
	f.bobPrivate.CreatedAt = at.Add(-time.Hour)
	mustCreateRecipes(t, db, f.catalogue, f.alicePublic, f.alicePrivate, f.bobPrivate)
	f.aliceViewer = mealsync.ViewerOf(f.alice)
	f.bobViewer = mealsync.ViewerOf(f.bob)
	f.adminViewer = mealsync.ViewerOf(f.admin)
	f.catalogueNames = []string{"Alice's Published Stew", "Catalogue Stew"}
	f.aliceNames = []string{"Alice's Published Stew", "Alice's Secret Stew", "Catalogue Stew"}
	f.bobNames = []string{"Alice's Published Stew", "Bob's Secret Stew", "Catalogue Stew"}
	f.alicePrivates = []string{"Alice's Secret Stew"}
	f.privateNames = []string{"Alice's Secret Stew", "Bob's Secret Stew"}
	return f
}

func listNames(t *testing.T, db *sqldb.DB, f mealsync.RecipeFilter) ([]string, int) {
	t.Helper()
	f.Limit = 10
	page, err := db.ListRecipes(t.Context(), f)
	if err != nil {
		t.Fatalf("ListRecipes(%+v): %v", f, err)
	}
	return recipeNames(page.Items), page.Total
}

// Lists hold the catalogue and the viewer's own private recipes; an admin
// sees every private recipe only when asking for them.
func TestListRecipesVisibility(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		yes, no := true, false
		tests := []struct {
			name   string
			filter mealsync.RecipeFilter
			want   []string
		}{
			{"anonymous", mealsync.RecipeFilter{}, f.catalogueNames},
			{"alice", mealsync.RecipeFilter{Viewer: f.aliceViewer}, f.aliceNames},
			{"bob", mealsync.RecipeFilter{Viewer: f.bobViewer}, f.bobNames},
			{"admin: the catalogue, no one's private recipes", mealsync.RecipeFilter{Viewer: f.adminViewer}, f.catalogueNames},
			{"alice, catalogue only", mealsync.RecipeFilter{Viewer: f.aliceViewer, Published: &yes}, f.catalogueNames},
			{"alice, private only", mealsync.RecipeFilter{Viewer: f.aliceViewer, Published: &no}, f.alicePrivates},
			{"admin, private only: everyone's", mealsync.RecipeFilter{Viewer: f.adminViewer, Published: &no}, f.privateNames},
			{"anonymous, private only", mealsync.RecipeFilter{Published: &no}, []string{}},
			{"alice, with another filter", mealsync.RecipeFilter{Viewer: f.aliceViewer, Name: "secret"}, f.alicePrivates},
			{"bob searching for alice's", mealsync.RecipeFilter{Viewer: f.bobViewer, Name: "alice"}, []string{"Alice's Published Stew"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total := listNames(t, db, tt.filter)
				if !slices.Equal(got, tt.want) || total != len(tt.want) {
					t.Errorf("got %q (total %d), want %q", got, total, tt.want)
				}
			})
		}
		// The fields come back as stored.
		got, err := db.RecipeByID(t.Context(), f.alicePrivate.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRecipe(t, got, f.alicePrivate)
	})
}

func TestHasPrivateRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		carol := mustCreateUser(t, db, now(), nil)
		mustCreateRecipes(t, db, newRecipe(now(), func(r *mealsync.Recipe) { r.OwnerID, r.Published = carol.ID, true }))
		for _, tt := range []struct {
			who  string
			id   string
			want bool
		}{{"alice", f.alice.ID, true}, {"bob", f.bob.ID, true}, {"admin", f.admin.ID, false}, {"carol, published only", carol.ID, false}} {
			if got, err := db.HasPrivateRecipes(t.Context(), tt.id); err != nil || got != tt.want {
				t.Errorf("%s: HasPrivateRecipes = %v, %v; want %v", tt.who, got, err, tt.want)
			}
		}
		if _, err := db.PublishRecipe(t.Context(), f.bobPrivate.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := db.HasPrivateRecipes(t.Context(), f.bob.ID); err != nil || got {
			t.Errorf("after publishing bob's only private recipe: %v, %v", got, err)
		}
	})
}

// A recipe that is not published must have an owner: the database refuses
// one that would be visible to no one.
func TestPrivateRecipeNeedsAnOwner(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		orphan := newRecipe(now(), func(r *mealsync.Recipe) { r.Published = false })
		if err := db.CreateRecipes(t.Context(), orphan); err == nil {
			t.Fatal("stored a private recipe without an owner")
		}
		if n, _ := db.CountRecipes(t.Context()); n != 0 {
			t.Fatalf("%d recipes stored", n)
		}
	})
}

// Generation reuses catalogue recipes by key; a private recipe is never
// matched, even when it is the oldest with that key.
func TestRecipesByIngredientKeysSkipsPrivateRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		got, err := db.RecipesByIngredientKeys(t.Context(), []string{"stew"})
		if err != nil {
			t.Fatal(err)
		}
		if r := got["stew"]; r == nil || !r.Published {
			t.Fatalf("key stew matched %+v, want a catalogue recipe", r)
		}
		// Only private recipes have the key: nothing matches.
		for _, r := range []*mealsync.Recipe{f.catalogue, f.alicePublic} {
			if err := db.DeleteRecipe(t.Context(), r.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := db.RecipesByIngredientKeys(t.Context(), []string{"stew"}); err != nil || len(got) != 0 {
			t.Fatalf("with only private recipes left: %v, %v; want none", got, err)
		}
	})
}

// A collection holds only recipes its user may see without admin rights.
func TestSaveRecipeRefusesAnotherUsersPrivateRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		for _, kind := range []string{mealsync.RecipeSaved, mealsync.RecipeGenerated} {
			for _, who := range []*mealsync.User{f.bob, f.admin} {
				_, err := db.SaveRecipe(t.Context(), newSavedRecipe(who.ID, f.alicePrivate, kind, now()))
				wantCode(t, err, mealsync.ENOTFOUND)
				page, err := db.UserRecipes(t.Context(), who.ID, kind, 0, 10)
				if err != nil || page.Total != 0 {
					t.Fatalf("%s's %s records: %d, %v; want none", who.Email, kind, page.Total, err)
				}
			}
			mustSaveRecipe(t, db, f.alice.ID, f.alicePrivate, kind, now())
			mustSaveRecipe(t, db, f.bob.ID, f.alicePublic, kind, now())
		}
	})
}

func TestUpdateRecipeKeepsOwnershipAndChecksPublication(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		before, err := db.CatalogueVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// An edit authorised while the recipe was private does not land
		// once it is published.
		edit := *f.alicePrivate
		edit.Name = "Alice's Edited Stew"
		if _, err := db.PublishRecipe(t.Context(), f.alicePrivate.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.UpdateRecipe(t.Context(), &edit), mealsync.ENOTFOUND)
		got, err := db.RecipeByID(t.Context(), f.alicePrivate.ID)
		if err != nil || got.Name != f.alicePrivate.Name {
			t.Fatalf("the stale edit landed: %+v, %v", got, err)
		}
		// UpdateRecipe writes neither owner nor publication.
		edit.Published, edit.OwnerID = true, f.bob.ID
		if err := db.UpdateRecipe(t.Context(), &edit); err != nil {
			t.Fatal(err)
		}
		if got, err = db.RecipeByID(t.Context(), edit.ID); err != nil || got.OwnerID != f.alice.ID || got.Name != edit.Name {
			t.Fatalf("after the update: %+v, %v; want alice's, renamed", got, err)
		}
		edit = *f.bobPrivate
		edit.Published = true
		wantCode(t, db.UpdateRecipe(t.Context(), &edit), mealsync.ENOTFOUND)
		if got, err = db.RecipeByID(t.Context(), f.bobPrivate.ID); err != nil || got.Published {
			t.Fatalf("an update published a recipe: %+v, %v", got, err)
		}
		after, err := db.CatalogueVersion(t.Context())
		if err != nil || after != before+2 { // the publish and the one update that landed
			t.Fatalf("catalogue version %d -> %d (%v), want +2", before, after, err)
		}
	})
}

func TestPublishRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		before, err := db.CatalogueVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.PublishRecipe(t.Context(), f.alicePrivate.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *f.alicePrivate
		want.Published = true
		sameRecipe(t, got, &want)
		if names, _ := listNames(t, db, mealsync.RecipeFilter{Viewer: f.bobViewer}); !slices.Contains(names, want.Name) {
			t.Fatalf("bob's list after publishing: %q", names)
		}
		if after, err := db.CatalogueVersion(t.Context()); err != nil || after != before+1 {
			t.Fatalf("catalogue version %d -> %d (%v), want one more", before, after, err)
		}
		// Again: no change, no error.
		if got, err := db.PublishRecipe(t.Context(), f.alicePrivate.ID); err != nil || !got.Published {
			t.Fatalf("publishing again: %+v, %v", got, err)
		}
		_, err = db.PublishRecipe(t.Context(), "3fa85f64-5717-4562-b3fc-2c963f66afa6")
		wantCode(t, err, mealsync.ENOTFOUND)
	})
}

func TestDeletePrivateRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		for _, tt := range []struct {
			name      string
			recipe    *mealsync.Recipe
			ownerID   string
			deletable bool
		}{
			{"another user's", f.alicePrivate, f.bob.ID, false},
			{"the owner's, published", f.alicePublic, f.alice.ID, false},
			{"a catalogue recipe", f.catalogue, f.alice.ID, false},
			{"the owner's, private", f.alicePrivate, f.alice.ID, true},
		} {
			err := db.DeletePrivateRecipe(t.Context(), tt.recipe.ID, tt.ownerID)
			_, lookup := db.RecipeByID(t.Context(), tt.recipe.ID)
			if tt.deletable {
				if err != nil || mealsync.ErrorCode(lookup) != mealsync.ENOTFOUND {
					t.Errorf("%s: DeletePrivateRecipe = %v, still there: %v", tt.name, err, lookup == nil)
				}
				continue
			}
			if mealsync.ErrorCode(err) != mealsync.ENOTFOUND || lookup != nil {
				t.Errorf("%s: DeletePrivateRecipe = %v, lookup %v; want ENOTFOUND and the recipe kept", tt.name, err, lookup)
			}
		}
	})
}

// Deleting a user deletes their private recipes and keeps the ones they
// published, ownerless, in the catalogue.
func TestDeleteUserTakesPrivateRecipesOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		f := newOwnedFixture(t, db)
		mustSaveRecipe(t, db, f.bob.ID, f.alicePublic, mealsync.RecipeSaved, now())
		before, err := db.CatalogueVersion(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteUser(t.Context(), f.alice.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err = db.RecipeByID(t.Context(), f.alicePrivate.ID)
		wantCode(t, err, mealsync.ENOTFOUND)
		kept, err := db.RecipeByID(t.Context(), f.alicePublic.ID)
		if err != nil || !kept.Published || kept.OwnerID != "" {
			t.Fatalf("alice's published recipe: %+v, %v; want it kept, published, ownerless", kept, err)
		}
		if page, err := db.UserRecipes(t.Context(), f.bob.ID, mealsync.RecipeSaved, 0, 10); err != nil || page.Total != 1 {
			t.Fatalf("bob's saved recipes: %d, %v; want alice's published one kept", page.Total, err)
		}
		if got, _ := listNames(t, db, mealsync.RecipeFilter{Viewer: f.bobViewer}); !slices.Equal(got, f.bobNames) {
			t.Fatalf("bob's list: %q, want %q", got, f.bobNames)
		}
		if after, err := db.CatalogueVersion(t.Context()); err != nil || after <= before {
			t.Fatalf("catalogue version %d -> %d (%v), want it bumped", before, after, err)
		}
		wantCode(t, db.DeleteUser(t.Context(), f.alice.ID), mealsync.ENOTFOUND)
	})
}
