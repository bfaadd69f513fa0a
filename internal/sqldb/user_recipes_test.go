package sqldb_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// newSavedRecipe returns an unsaved record of r in userID's collection.
func newSavedRecipe(userID string, r *mealsync.Recipe, kind string, at time.Time) *mealsync.SavedRecipe {
	return &mealsync.SavedRecipe{ID: uuid.NewString(), UserID: userID, Recipe: r, Type: kind, SavedAt: at}
}

// mustSaveRecipe records r in userID's collection and returns the record.
func mustSaveRecipe(t *testing.T, db *sqldb.DB, userID string, r *mealsync.Recipe, kind string, at time.Time) *mealsync.SavedRecipe {
	t.Helper()
	s, err := db.SaveRecipe(t.Context(), newSavedRecipe(userID, r, kind, at))
	if err != nil {
		t.Fatalf("SaveRecipe(%s, %s): %v", r.Name, kind, err)
	}
	return s
}

// sameSavedRecipe fails t unless got is the record want, recipe included.
func sameSavedRecipe(t *testing.T, got, want *mealsync.SavedRecipe) {
	t.Helper()
	if got == nil {
		t.Fatal("got no saved recipe")
	}
	if got.ID != want.ID || got.UserID != want.UserID || got.Type != want.Type {
		t.Errorf("record = {ID %s, UserID %s, Type %s}, want {%s, %s, %s}", got.ID, got.UserID, got.Type, want.ID, want.UserID, want.Type)
	}
	if !got.SavedAt.Equal(want.SavedAt) || got.SavedAt.Location() != time.UTC {
		t.Errorf("SavedAt = %v, want %v in UTC", got.SavedAt, want.SavedAt)
	}
	sameRecipe(t, got.Recipe, want.Recipe)
}

// userRecipeRows counts a user's records straight from the table.
func userRecipeRows(t *testing.T, db *sqldb.DB, userID string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM user_recipes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSaveRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		r := mustCreateRecipes(t, db, newRecipe(at, func(r *mealsync.Recipe) {
			r.Name = "Saved Soup"
			r.Tags = []string{"soup"}
			r.ImageURL = "https://images.example.com/soup.jpg"
		}))[0]

		first := newSavedRecipe(u.ID, &mealsync.Recipe{ID: r.ID}, mealsync.RecipeSaved, at.Add(-time.Hour))
		got, err := db.SaveRecipe(t.Context(), first)
		if err != nil {
			t.Fatalf("SaveRecipe: %v", err)
		}
		// The whole recipe comes back, though only its id went in.
		want := *first
		want.Recipe = r
		sameSavedRecipe(t, got, &want)

		// Saving again keeps the first record, its id and its time.
		again, err := db.SaveRecipe(t.Context(), newSavedRecipe(u.ID, r, mealsync.RecipeSaved, at))
		if err != nil {
			t.Fatalf("SaveRecipe again: %v", err)
		}
		sameSavedRecipe(t, again, &want)
		if n := userRecipeRows(t, db, u.ID); n != 1 {
			t.Errorf("user_recipes rows after saving twice = %d, want 1", n)
		}

		// The same recipe as another kind is another record.
		generated := mustSaveRecipe(t, db, u.ID, r, mealsync.RecipeGenerated, at)
		if generated.ID == first.ID || generated.Type != mealsync.RecipeGenerated {
			t.Errorf("GENERATED record = %+v, want a record of its own", generated)
		}
		if n := userRecipeRows(t, db, u.ID); n != 2 {
			t.Errorf("user_recipes rows = %d, want 2", n)
		}
	})
}

func TestSaveRecipeNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		r := mustCreateRecipes(t, db, newRecipe(at, nil))[0]
		tests := []struct {
			name   string
			userID string
			recipe *mealsync.Recipe
		}{
			{"unknown recipe", u.ID, &mealsync.Recipe{ID: uuid.NewString()}},
			{"unknown user", uuid.NewString(), r},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.SaveRecipe(t.Context(), newSavedRecipe(tt.userID, tt.recipe, mealsync.RecipeSaved, at))
				wantCode(t, err, mealsync.ENOTFOUND)
				if n := userRecipeRows(t, db, tt.userID); n != 0 {
					t.Errorf("user_recipes rows = %d, want 0", n)
				}
			})
		}
	})
}

func TestUnsaveRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		other := mustCreateUser(t, db, at, nil)
		rs := mustCreateRecipes(t, db, newRecipe(at, nil), newRecipe(at, nil))
		mine, kept := rs[0], rs[1]
		mustSaveRecipe(t, db, u.ID, mine, mealsync.RecipeSaved, at)
		mustSaveRecipe(t, db, u.ID, mine, mealsync.RecipeGenerated, at)
		mustSaveRecipe(t, db, u.ID, kept, mealsync.RecipeSaved, at)
		mustSaveRecipe(t, db, other.ID, mine, mealsync.RecipeSaved, at)

		if err := db.UnsaveRecipe(t.Context(), u.ID, mine.ID, mealsync.RecipeSaved); err != nil {
			t.Fatalf("UnsaveRecipe: %v", err)
		}
		wantCode(t, db.UnsaveRecipe(t.Context(), u.ID, mine.ID, mealsync.RecipeSaved), mealsync.ENOTFOUND)
		wantCode(t, db.UnsaveRecipe(t.Context(), u.ID, uuid.NewString(), mealsync.RecipeSaved), mealsync.ENOTFOUND)

		// Only that one record went.
		ids, err := db.SavedRecipeIDs(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]bool{kept.ID: true}; !maps.Equal(ids, want) {
			t.Errorf("SavedRecipeIDs(user) = %v, want %v", ids, want)
		}
		if ids, err := db.SavedRecipeIDs(t.Context(), other.ID); err != nil || !ids[mine.ID] {
			t.Errorf("SavedRecipeIDs(other user) = %v, %v; want it still saved", ids, err)
		}
		page, err := db.UserRecipes(t.Context(), u.ID, mealsync.RecipeGenerated, 0, 10)
		if err != nil || page.Total != 1 {
			t.Errorf("GENERATED records = %d, %v; want 1 kept", page.Total, err)
		}
		if _, err := db.RecipeByID(t.Context(), mine.ID); err != nil {
			t.Errorf("the recipe itself: %v", err)
		}
	})
}

func TestUserRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		base := now().Add(-time.Hour)
		u := mustCreateUser(t, db, base, nil)
		other := mustCreateUser(t, db, base, nil)
		var rs []*mealsync.Recipe
		for i := range 7 {
			rs = append(rs, newRecipe(base, func(r *mealsync.Recipe) { r.Name = fmt.Sprintf("Recipe %d", i) }))
		}
		mustCreateRecipes(t, db, rs...)

		// Saved out of order; two records share a time, so that the id
		// decides, and the larger id is saved first.
		saves := []struct {
			id     string
			recipe int
			at     time.Duration // after base
		}{
			{uuid.NewString(), 0, 3 * time.Minute},
			{"ffffffff-0000-4000-8000-000000000000", 1, 5 * time.Minute},
			{uuid.NewString(), 2, time.Minute},
			{"00000000-0000-4000-8000-000000000000", 3, 5 * time.Minute},
			{uuid.NewString(), 4, 4 * time.Minute},
			{uuid.NewString(), 5, 2*time.Minute + time.Microsecond},
		}
		records := map[string]*mealsync.SavedRecipe{}
		for _, s := range saves {
			rec := newSavedRecipe(u.ID, rs[s.recipe], mealsync.RecipeSaved, base.Add(s.at))
			rec.ID = s.id
			if _, err := db.SaveRecipe(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			records[rec.ID] = rec
		}
		// Records that must not show: another kind, another user.
		mustSaveRecipe(t, db, u.ID, rs[6], mealsync.RecipeGenerated, base.Add(time.Hour))
		mustSaveRecipe(t, db, other.ID, rs[6], mealsync.RecipeSaved, base.Add(time.Hour))

		want := []string{ // newest first, then by id
			"00000000-0000-4000-8000-000000000000", "ffffffff-0000-4000-8000-000000000000",
			saves[4].id, saves[0].id, saves[5].id, saves[2].id,
		}
		var got []string
		for offset := 0; ; offset += 4 {
			page, err := db.UserRecipes(t.Context(), u.ID, mealsync.RecipeSaved, offset, 4)
			if err != nil {
				t.Fatalf("UserRecipes(offset %d): %v", offset, err)
			}
			if page.Total != len(saves) || page.Offset != offset || page.Limit != 4 {
				t.Fatalf("page at %d = {Total %d, Offset %d, Limit %d}, want {%d, %d, 4}", offset, page.Total, page.Offset, page.Limit, len(saves), offset)
			}
			for _, s := range page.Items {
				got = append(got, s.ID)
				sameSavedRecipe(t, s, records[s.ID])
			}
			if !page.HasNext() {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("records in order = %q,\nwant %q", got, want)
		}

		tests := []struct {
			name      string
			userID    string
			kind      string
			offset    int
			wantItems int
			wantTotal int
		}{
			{"offset past the end", u.ID, mealsync.RecipeSaved, 50, 0, len(saves)},
			{"other kind", u.ID, mealsync.RecipeGenerated, 0, 1, 1},
			{"other user", other.ID, mealsync.RecipeSaved, 0, 1, 1},
			{"user without records", uuid.NewString(), mealsync.RecipeSaved, 0, 0, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := db.UserRecipes(t.Context(), tt.userID, tt.kind, tt.offset, 10)
				if err != nil {
					t.Fatalf("UserRecipes: %v", err)
				}
				if page.Items == nil || len(page.Items) != tt.wantItems || page.Total != tt.wantTotal {
					t.Errorf("UserRecipes = %d items (nil: %v) of %d, want %d of %d",
						len(page.Items), page.Items == nil, page.Total, tt.wantItems, tt.wantTotal)
				}
				for _, s := range page.Items {
					if s.UserID != tt.userID || s.Type != tt.kind || s.Recipe.ID != rs[6].ID {
						t.Errorf("record %+v, want %s's %s record of %s", s, tt.userID, tt.kind, rs[6].Name)
					}
				}
			})
		}
	})
}

func TestSavedRecipeIDs(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		other := mustCreateUser(t, db, at, nil)
		rs := mustCreateRecipes(t, db, newRecipe(at, nil), newRecipe(at, nil), newRecipe(at, nil), newRecipe(at, nil))
		mustSaveRecipe(t, db, u.ID, rs[0], mealsync.RecipeSaved, at)
		mustSaveRecipe(t, db, u.ID, rs[1], mealsync.RecipeSaved, at)
		mustSaveRecipe(t, db, u.ID, rs[2], mealsync.RecipeGenerated, at)
		mustSaveRecipe(t, db, other.ID, rs[3], mealsync.RecipeSaved, at)

		got, err := db.SavedRecipeIDs(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("SavedRecipeIDs: %v", err)
		}
		if want := map[string]bool{rs[0].ID: true, rs[1].ID: true}; !maps.Equal(got, want) {
			t.Errorf("SavedRecipeIDs = %v, want %v", got, want)
		}
		none, err := db.SavedRecipeIDs(t.Context(), uuid.NewString())
		if err != nil || none == nil || len(none) != 0 {
			t.Errorf("SavedRecipeIDs(user without records) = %v, %v; want an empty set", none, err)
		}
	})
}
