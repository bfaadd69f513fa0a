package sqldb_test

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// newRecipe returns a valid recipe with a unique id; change sets it up further.
func newRecipe(at time.Time, change func(r *mealsync.Recipe)) *mealsync.Recipe {
	r := &mealsync.Recipe{
		ID:              uuid.NewString(),
		Name:            "Test Recipe",
		Description:     "A recipe for tests.",
		Cuisine:         "Italian",
		Difficulty:      "EASY",
		Ingredients:     []mealsync.Ingredient{{Name: "salt", Quantity: "1", Unit: "pinch"}},
		Instructions:    []string{"Cook it."},
		Tags:            []string{"quick"},
		IngredientKey:   "test recipe",
		PreparationTime: 5,
		CookingTime:     10,
		TotalTime:       15,
		Servings:        2,
		Source:          "catalog",
		Published:       true,
		CreatedAt:       at,
	}
	if change != nil {
		change(r)
	}
	return r
}

// mustCreateRecipes stores rs and returns them.
func mustCreateRecipes(t *testing.T, db *sqldb.DB, rs ...*mealsync.Recipe) []*mealsync.Recipe {
	t.Helper()
	if err := db.CreateRecipes(t.Context(), rs...); err != nil {
		t.Fatalf("CreateRecipes: %v", err)
	}
	return rs
}

// sameRecipe fails t unless got matches want field by field. Lists compare
// by content: a missing list and an empty one mean the same.
func sameRecipe(t *testing.T, got, want *mealsync.Recipe) {
	t.Helper()
	if got == nil {
		t.Fatal("got no recipe")
	}
	type field struct {
		name      string
		got, want any
	}
	for _, f := range []field{
		{"ID", got.ID, want.ID},
		{"Name", got.Name, want.Name},
		{"Description", got.Description, want.Description},
		{"Cuisine", got.Cuisine, want.Cuisine},
		{"Difficulty", got.Difficulty, want.Difficulty},
		{"IngredientKey", got.IngredientKey, want.IngredientKey},
		{"PreparationTime", got.PreparationTime, want.PreparationTime},
		{"CookingTime", got.CookingTime, want.CookingTime},
		{"TotalTime", got.TotalTime, want.TotalTime},
		{"Servings", got.Servings, want.Servings},
		{"Calories", got.Calories, want.Calories},
		{"Protein", got.Protein, want.Protein},
		{"Carbohydrates", got.Carbohydrates, want.Carbohydrates},
		{"Fat", got.Fat, want.Fat},
		{"ImageURL", got.ImageURL, want.ImageURL},
		{"Source", got.Source, want.Source},
		{"OwnerID", got.OwnerID, want.OwnerID},
		{"Published", got.Published, want.Published},
	} {
		if f.got != f.want {
			t.Errorf("recipe %s: %s = %v, want %v", want.Name, f.name, f.got, f.want)
		}
	}
	if !slices.Equal(got.Ingredients, want.Ingredients) {
		t.Errorf("recipe %s: Ingredients = %q, want %q", want.Name, got.Ingredients, want.Ingredients)
	}
	if !slices.Equal(got.Instructions, want.Instructions) {
		t.Errorf("recipe %s: Instructions = %q, want %q", want.Name, got.Instructions, want.Instructions)
	}
	if !slices.Equal(got.Tags, want.Tags) {
		t.Errorf("recipe %s: Tags = %q, want %q", want.Name, got.Tags, want.Tags)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("recipe %s: CreatedAt = %v, want %v in UTC", want.Name, got.CreatedAt, want.CreatedAt)
	}
	switch {
	case want.UpdatedAt == nil && got.UpdatedAt != nil:
		t.Errorf("recipe %s: UpdatedAt = %s, want none", want.Name, fmtTime(got.UpdatedAt))
	case want.UpdatedAt != nil && (!sameTime(got.UpdatedAt, *want.UpdatedAt) || got.UpdatedAt.Location() != time.UTC):
		t.Errorf("recipe %s: UpdatedAt = %s, want %s in UTC", want.Name, fmtTime(got.UpdatedAt), fmtTime(want.UpdatedAt))
	}
}

// recipeNames lists the names of rs, for comparing orders.
func recipeNames(rs []*mealsync.Recipe) []string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return names
}

// searchRows reads the search terms stored for a recipe straight from a
// side table (column is "tag" or "name"), sorted.
func searchRows(t *testing.T, db *sqldb.DB, table, column, recipeID string) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(),
		`SELECT `+column+` FROM `+table+` WHERE recipe_id = $1 ORDER BY `+column, recipeID)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	terms := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		terms = append(terms, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return terms
}

func TestRecipeRoundTrip(t *testing.T) {
	at := now()
	tests := []struct {
		name   string
		change func(r *mealsync.Recipe)
	}{
		{"every field set", func(r *mealsync.Recipe) {
			r.Name = `Crème Brûlée "Deluxe" O'Neill`
			r.Description = "Line one.\nLine two, with ünïcödé and a backslash \\."
			r.Cuisine = "French"
			r.Difficulty = "HARD"
			r.Ingredients = []mealsync.Ingredient{
				{Name: "double cream", Quantity: "2 1/2", Unit: "cups"},
				{Name: "egg yolks", Quantity: "6", Unit: ""},
				{Name: `vanilla "bourbon" pod`, Quantity: "1", Unit: "pod"},
			}
			r.Instructions = []string{"Heat the cream.", "Whisk the yolks.", "Bake in a bain-marie."}
			r.Tags = []string{"Dessert", "classic", "dinner party"}
			r.IngredientKey = "creme brulee"
			r.PreparationTime, r.CookingTime, r.TotalTime, r.Servings = 20, 40, 60, 6
			r.Calories, r.Protein, r.Carbohydrates, r.Fat = 412.5, 5.25, 30.125, 31.75
			r.ImageURL = "https://images.example.com/creme-brulee.jpg?w=640&h=480"
			r.Source = "openai"
			r.CreatedAt = at.Add(-48 * time.Hour)
			updated := at.Add(-time.Microsecond)
			r.UpdatedAt = &updated
		}},
		// The least a valid recipe holds (mealsync.Recipe.Validate).
		{"one ingredient and step, no tags, no image, never updated", func(r *mealsync.Recipe) {
			r.Ingredients = []mealsync.Ingredient{{Name: "water", Quantity: "1"}}
			r.Instructions, r.Tags = []string{"Boil."}, nil
			r.ImageURL = ""
			r.Calories, r.Protein, r.Carbohydrates, r.Fat = 0, 0, 0, 0
			r.PreparationTime, r.CookingTime, r.TotalTime, r.Servings = 0, 0, 0, 1
		}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				want := mustCreateRecipes(t, db, newRecipe(at, tt.change))[0]
				got, err := db.RecipeByID(t.Context(), want.ID)
				if err != nil {
					t.Fatalf("RecipeByID: %v", err)
				}
				sameRecipe(t, got, want)
				byIDs, err := db.RecipesByIDs(t.Context(), []string{want.ID})
				if err != nil || len(byIDs) != 1 {
					t.Fatalf("RecipesByIDs = %d recipes, %v; want 1", len(byIDs), err)
				}
				sameRecipe(t, byIDs[0], want)
				page, err := db.ListRecipes(t.Context(), mealsync.RecipeFilter{Name: want.Name, Limit: 10})
				if err != nil || len(page.Items) != 1 {
					t.Fatalf("ListRecipes by name = %d recipes, %v; want 1", len(page.Items), err)
				}
				sameRecipe(t, page.Items[0], want)
				var image *string
				err = db.SQL().QueryRowContext(t.Context(), `SELECT image_url FROM recipes WHERE id = $1`, want.ID).Scan(&image)
				if err != nil {
					t.Fatal(err)
				}
				if (want.ImageURL == "") != (image == nil) {
					t.Errorf("image_url stored as %v for ImageURL %q, want NULL exactly when empty", image, want.ImageURL)
				}
			})
		}
	})
}

func TestRecipeSearchTermsAreNormalised(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		r := mustCreateRecipes(t, db, newRecipe(now(), func(r *mealsync.Recipe) {
			r.Tags = []string{" Vegan ", "vegan", "VEGAN", "Quick"}
			r.Ingredients = []mealsync.Ingredient{
				{Name: "Olive Oil", Quantity: "1", Unit: "tbsp"},
				{Name: " olive oil", Quantity: "2", Unit: "tbsp"},
				{Name: "Garlic ", Quantity: "2", Unit: "cloves"},
			}
		}))[0]
		if got, want := searchRows(t, db, "recipe_tags", "tag", r.ID), []string{"quick", "vegan"}; !slices.Equal(got, want) {
			t.Errorf("recipe_tags = %q, want %q", got, want)
		}
		if got, want := searchRows(t, db, "recipe_ingredient_names", "name", r.ID), []string{"garlic", "olive oil"}; !slices.Equal(got, want) {
			t.Errorf("recipe_ingredient_names = %q, want %q", got, want)
		}
		// The recipe itself keeps its lists as given.
		got, err := db.RecipeByID(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRecipe(t, got, r)
	})
}

func TestCreateRecipesIsAllOrNone(t *testing.T) {
	at := now()
	tests := []struct {
		name string
		// batch returns recipes whose insert must fail as a whole.
		batch func(existing *mealsync.Recipe) []*mealsync.Recipe
	}{
		{"an id already stored, last of many batches", func(existing *mealsync.Recipe) []*mealsync.Recipe {
			var rs []*mealsync.Recipe
			for i := range 1234 { // more than one multi-row INSERT of recipes
				rs = append(rs, newRecipe(at, func(r *mealsync.Recipe) {
					r.Name = fmt.Sprintf("Batch %04d", i)
					r.Tags = []string{"batch", fmt.Sprintf("t%d", i)}
				}))
			}
			return append(rs, newRecipe(at, func(r *mealsync.Recipe) { r.ID = existing.ID }))
		}},
		{"the same id twice", func(*mealsync.Recipe) []*mealsync.Recipe {
			r := newRecipe(at, func(r *mealsync.Recipe) { r.Tags = []string{"batch"} })
			return []*mealsync.Recipe{r, newRecipe(at, func(s *mealsync.Recipe) { s.ID = r.ID })}
		}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		existing := mustCreateRecipes(t, db, newRecipe(at, nil))[0]
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateRecipes(t.Context(), tt.batch(existing)...), mealsync.ECONFLICT)
				if n, err := db.CountRecipes(t.Context()); err != nil || n != 1 {
					t.Errorf("CountRecipes = %d, %v; want only the existing recipe", n, err)
				}
				page, err := db.ListRecipes(t.Context(), mealsync.RecipeFilter{Tags: []string{"batch"}, Limit: 10})
				if err != nil || page.Total != 0 {
					t.Errorf("recipes tagged by the failed batch: %d, %v; want none", page.Total, err)
				}
			})
		}
	})
}

func TestCreateManyRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		rs := generatedRecipes(1234, 7, now()) // several multi-row INSERTs of each table
		mustCreateRecipes(t, db, rs...)
		if n, err := db.CountRecipes(t.Context()); err != nil || n != len(rs) {
			t.Fatalf("CountRecipes = %d, %v; want %d", n, err, len(rs))
		}
		for _, i := range []int{0, 499, 500, 1000, len(rs) - 1} {
			got, err := db.RecipeByID(t.Context(), rs[i].ID)
			if err != nil {
				t.Fatalf("RecipeByID(#%d): %v", i, err)
			}
			sameRecipe(t, got, rs[i])
			wantNames := []string{}
			for _, in := range rs[i].Ingredients {
				if !slices.Contains(wantNames, in.Name) {
					wantNames = append(wantNames, in.Name)
				}
			}
			slices.Sort(wantNames)
			if got := searchRows(t, db, "recipe_ingredient_names", "name", rs[i].ID); !slices.Equal(got, wantNames) {
				t.Errorf("#%d: recipe_ingredient_names = %q, want %q", i, got, wantNames)
			}
		}
	})
}

func TestRecipeNotFound(t *testing.T) {
	unknown := uuid.NewString()
	tests := []struct {
		name string
		call func(t *testing.T, db *sqldb.DB) error
	}{
		{"RecipeByID", func(t *testing.T, db *sqldb.DB) error {
			_, err := db.RecipeByID(t.Context(), unknown)
			return err
		}},
		{"UpdateRecipe", func(t *testing.T, db *sqldb.DB) error {
			return db.UpdateRecipe(t.Context(), newRecipe(now(), func(r *mealsync.Recipe) { r.ID = unknown }))
		}},
		{"DeleteRecipe", func(t *testing.T, db *sqldb.DB) error {
			return db.DeleteRecipe(t.Context(), unknown)
		}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		// Another recipe exists, so "not found" is not just "table empty".
		mustCreateRecipes(t, db, newRecipe(now(), nil))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(t, db), mealsync.ENOTFOUND) })
		}
		// A failed update wrote no search terms for the unknown id.
		if got := searchRows(t, db, "recipe_tags", "tag", unknown); len(got) != 0 {
			t.Errorf("recipe_tags of an unknown recipe: %q", got)
		}
	})
}

func TestRecipesByIDs(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		var rs []*mealsync.Recipe
		for _, name := range []string{"Alpha", "Bravo", "Charlie", "Delta"} {
			rs = append(rs, newRecipe(at, func(r *mealsync.Recipe) { r.Name = name }))
		}
		mustCreateRecipes(t, db, rs...)
		a, b, c, d := rs[0].ID, rs[1].ID, rs[2].ID, rs[3].ID
		unknown := uuid.NewString()
		tests := []struct {
			name string
			ids  []string
			want []string
		}{
			{"reverse order", []string{d, c, b, a}, []string{"Delta", "Charlie", "Bravo", "Alpha"}},
			{"shuffled with unknown ids", []string{unknown, c, a, uuid.NewString(), d}, []string{"Charlie", "Alpha", "Delta"}},
			{"an id twice", []string{b, a, b}, []string{"Bravo", "Alpha", "Bravo"}},
			{"only unknown", []string{unknown}, []string{}},
			{"none", nil, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.RecipesByIDs(t.Context(), tt.ids)
				if err != nil {
					t.Fatalf("RecipesByIDs: %v", err)
				}
				if got == nil {
					t.Error("RecipesByIDs returned nil, want an empty list")
				}
				if names := recipeNames(got); !slices.Equal(names, tt.want) {
					t.Fatalf("RecipesByIDs = %q, want %q", names, tt.want)
				}
				for _, r := range got {
					sameRecipe(t, r, rs[slices.IndexFunc(rs, func(s *mealsync.Recipe) bool { return s.ID == r.ID })])
				}
			})
		}
	})
}

func TestCountRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		if n, err := db.CountRecipes(t.Context()); err != nil || n != 0 {
			t.Fatalf("CountRecipes of an empty catalogue = %d, %v; want 0", n, err)
		}
		rs := mustCreateRecipes(t, db, newRecipe(now(), nil), newRecipe(now(), nil), newRecipe(now(), nil))
		if n, err := db.CountRecipes(t.Context()); err != nil || n != 3 {
			t.Fatalf("CountRecipes = %d, %v; want 3", n, err)
		}
		if err := db.DeleteRecipe(t.Context(), rs[0].ID); err != nil {
			t.Fatal(err)
		}
		if n, err := db.CountRecipes(t.Context()); err != nil || n != 2 {
			t.Fatalf("CountRecipes after a delete = %d, %v; want 2", n, err)
		}
	})
}

// filterCatalogue is the catalogue of TestListRecipesFilters. Tags and
// ingredients mix cases on purpose; the "50%", "_" and "\" recipes and
// their decoys ("1950s…", "ripe figs") catch LIKE wildcards that are not
// escaped.
func filterCatalogue(at time.Time) []*mealsync.Recipe {
	type seed struct {
		name, cuisine, difficulty string
		total, servings           int
		tags, ingredients         []string
	}
	seeds := []seed{
		{"Apple Pie", "British", "MEDIUM", 90, 8, []string{"Dessert", "baking"}, []string{"Bramley apples", "plain flour", "butter"}},
		{"Beef Stew", "British", "HARD", 180, 6, []string{"Comfort Food", "winter"}, []string{"beef chuck", "carrots", "onion"}},
		{"Chicken Curry", "Indian", "MEDIUM", 45, 4, []string{"spicy"}, []string{"chicken thigh", "onion", "garam masala"}},
		{"Chicken Tikka", "indian", "HARD", 60, 2, []string{"Spicy", "BBQ"}, []string{"Chicken Breast", "yoghurt"}},
		{"Green Salad", "French", "EASY", 10, 2, []string{"vegan", "Quick"}, []string{"lettuce", "olive oil", "ripe figs"}},
		{"Pad Thai", "Thai", "MEDIUM", 30, 2, []string{"quick"}, []string{"rice noodles", "prawns", "peanuts"}},
		{"50% Rye Bread", "German", "HARD", 240, 12, []string{"baking"}, []string{"rye_flour", "water"}},
		{"1950s Meatloaf", "American", "EASY", 75, 6, []string{"retro"}, []string{"beef mince", "breadcrumbs"}},
		{`Back\slash Brownies`, "American", "EASY", 40, 9, []string{"dessert"}, []string{"dark chocolate", "eggs"}},
	}
	rs := make([]*mealsync.Recipe, len(seeds))
	for i, s := range seeds {
		rs[i] = newRecipe(at, func(r *mealsync.Recipe) {
			r.Name, r.Cuisine, r.Difficulty, r.TotalTime, r.Servings, r.Tags =
				s.name, s.cuisine, s.difficulty, s.total, s.servings, s.tags
			r.Ingredients = nil
			for _, n := range s.ingredients {
				r.Ingredients = append(r.Ingredients, mealsync.Ingredient{Name: n, Quantity: "1", Unit: "g"})
			}
		})
	}
	return rs
}

func TestListRecipesFilters(t *testing.T) {
	all := []string{"1950s Meatloaf", "50% Rye Bread", "Apple Pie", `Back\slash Brownies`, "Beef Stew",
		"Chicken Curry", "Chicken Tikka", "Green Salad", "Pad Thai"}
	tests := []struct {
		name   string
		filter mealsync.RecipeFilter
		want   []string // names, in order
	}{
		{"no filter", mealsync.RecipeFilter{}, all},
		{"blank entries are no filter", mealsync.RecipeFilter{Name: "  ", Tags: []string{" "}, Cuisines: []string{""}, Ingredients: []string{" "}}, all},

		{"name", mealsync.RecipeFilter{Name: "chicken"}, []string{"Chicken Curry", "Chicken Tikka"}},
		{"name, other case", mealsync.RecipeFilter{Name: "CHICKEN"}, []string{"Chicken Curry", "Chicken Tikka"}},
		{"name, middle of a word, padded", mealsync.RecipeFilter{Name: " ikk "}, []string{"Chicken Tikka"}},
		{"name with % is literal", mealsync.RecipeFilter{Name: "50%"}, []string{"50% Rye Bread"}},
		{"name % alone is literal", mealsync.RecipeFilter{Name: "%"}, []string{"50% Rye Bread"}},
		{"name _ is literal", mealsync.RecipeFilter{Name: "_"}, []string{}},
		{`name \ is literal`, mealsync.RecipeFilter{Name: `\`}, []string{`Back\slash Brownies`}},

		{"cuisine", mealsync.RecipeFilter{Cuisines: []string{"Indian"}}, []string{"Chicken Curry", "Chicken Tikka"}},
		{"cuisines, any matches, other case", mealsync.RecipeFilter{Cuisines: []string{"THAI", "french"}}, []string{"Green Salad", "Pad Thai"}},
		{"cuisine is not a substring match", mealsync.RecipeFilter{Cuisines: []string{"Brit"}}, []string{}},

		{"difficulty", mealsync.RecipeFilter{Difficulty: "HARD"}, []string{"50% Rye Bread", "Beef Stew", "Chicken Tikka"}},
		{"difficulty, other case", mealsync.RecipeFilter{Difficulty: "medium"}, []string{"Apple Pie", "Chicken Curry", "Pad Thai"}},

		{"max total time, inclusive", mealsync.RecipeFilter{MaxTotalTime: intp(30)}, []string{"Green Salad", "Pad Thai"}},
		{"min servings, inclusive", mealsync.RecipeFilter{MinServings: intp(9)}, []string{"50% Rye Bread", `Back\slash Brownies`}},

		{"tag, any stored case", mealsync.RecipeFilter{Tags: []string{"SPICY"}}, []string{"Chicken Curry", "Chicken Tikka"}},
		{"tags, any matches", mealsync.RecipeFilter{Tags: []string{"bbq", " Vegan "}}, []string{"Chicken Tikka", "Green Salad"}},
		{"tag is not a substring match", mealsync.RecipeFilter{Tags: []string{"spic"}}, []string{}},

		{"ingredient substring, any stored case", mealsync.RecipeFilter{Ingredients: []string{"CHICKEN"}}, []string{"Chicken Curry", "Chicken Tikka"}},
		{"ingredients, any matches", mealsync.RecipeFilter{Ingredients: []string{"peanut", "Lettuce"}}, []string{"Green Salad", "Pad Thai"}},
		{"ingredient shared by two", mealsync.RecipeFilter{Ingredients: []string{"onion"}}, []string{"Beef Stew", "Chicken Curry"}},
		{"ingredient _ is literal", mealsync.RecipeFilter{Ingredients: []string{"e_f"}}, []string{"50% Rye Bread"}},
		{"ingredient % is literal", mealsync.RecipeFilter{Ingredients: []string{"%"}}, []string{}},

		{"name and difficulty", mealsync.RecipeFilter{Name: "chicken", Difficulty: "hard"}, []string{"Chicken Tikka"}},
		{"time and servings", mealsync.RecipeFilter{MaxTotalTime: intp(90), MinServings: intp(6)}, []string{"1950s Meatloaf", "Apple Pie", `Back\slash Brownies`}},
		{"cuisine, tag and ingredient", mealsync.RecipeFilter{Cuisines: []string{"british", "indian"}, Tags: []string{"spicy", "winter"}, Ingredients: []string{"onion"}},
			[]string{"Beef Stew", "Chicken Curry"}},
		{"every filter", mealsync.RecipeFilter{
			Name: "Chick", Cuisines: []string{"Indian", "Thai"}, Tags: []string{"spicy"}, Ingredients: []string{"thigh", "breast"},
			Difficulty: "Medium", MaxTotalTime: intp(45), MinServings: intp(4),
		}, []string{"Chicken Curry"}},
		{"every filter, one not matching", mealsync.RecipeFilter{
			Name: "Chick", Cuisines: []string{"Indian", "Thai"}, Tags: []string{"spicy"}, Ingredients: []string{"thigh", "breast"},
			Difficulty: "Medium", MaxTotalTime: intp(44), MinServings: intp(4),
		}, []string{}},
		{"nothing matches", mealsync.RecipeFilter{Cuisines: []string{"Klingon"}}, []string{}},
	}
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		stored := mustCreateRecipes(t, db, filterCatalogue(now())...)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := tt.filter
				f.Limit = 100
				page, err := db.ListRecipes(t.Context(), f)
				if err != nil {
					t.Fatalf("ListRecipes: %v", err)
				}
				if got := recipeNames(page.Items); !slices.Equal(got, tt.want) {
					t.Fatalf("ListRecipes(%+v) = %q, want %q", tt.filter, got, tt.want)
				}
				if page.Total != len(tt.want) || page.Offset != 0 || page.Limit != 100 {
					t.Errorf("page = {Total %d, Offset %d, Limit %d}, want {%d, 0, 100}", page.Total, page.Offset, page.Limit, len(tt.want))
				}
				for _, r := range page.Items {
					sameRecipe(t, r, stored[slices.IndexFunc(stored, func(s *mealsync.Recipe) bool { return s.ID == r.ID })])
				}
			})
		}
	})
}

func TestListRecipesPaging(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		// 23 recipes, inserted out of order; two pairs share a name, so
		// that the id decides, and the larger id is inserted first.
		var rs []*mealsync.Recipe
		for i := 20; i >= 0; i-- {
			rs = append(rs, newRecipe(at, func(r *mealsync.Recipe) {
				r.Name = fmt.Sprintf("Dish %02d", i)
				r.Difficulty = []string{"EASY", "HARD"}[i%2]
			}))
		}
		for _, id := range []string{"ffffffff-0000-4000-8000-000000000000", "00000000-0000-4000-8000-000000000000"} {
			rs = append(rs, newRecipe(at, func(r *mealsync.Recipe) { r.ID, r.Name = id, "Dish 10" }))
		}
		mustCreateRecipes(t, db, rs...)
		// The order is by name, then id.
		sorted := slices.Clone(rs)
		slices.SortFunc(sorted, func(a, b *mealsync.Recipe) int {
			return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
		})
		want := make([]string, len(sorted))
		for i, r := range sorted {
			want[i] = r.ID
		}
		if want[10] != "00000000-0000-4000-8000-000000000000" || want[12] != "ffffffff-0000-4000-8000-000000000000" {
			t.Fatalf("test setup: the ties are not where expected: %q", want[9:14])
		}

		var got []string
		for offset := 0; ; offset += 5 {
			page, err := db.ListRecipes(t.Context(), mealsync.RecipeFilter{Offset: offset, Limit: 5})
			if err != nil {
				t.Fatalf("ListRecipes(offset %d): %v", offset, err)
			}
			if page.Total != len(rs) || page.Offset != offset || page.Limit != 5 {
				t.Fatalf("page at %d = {Total %d, Offset %d, Limit %d}, want {%d, %d, 5}", offset, page.Total, page.Offset, page.Limit, len(rs), offset)
			}
			for _, r := range page.Items {
				got = append(got, r.ID)
			}
			if wantNext := offset+5 < len(rs); page.HasNext() != wantNext {
				t.Errorf("page at %d: HasNext = %v, want %v", offset, page.HasNext(), wantNext)
			}
			if !page.HasNext() {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages in order = %q,\nwant %q", got, want)
		}

		// Empty pages still count every match.
		tests := []struct {
			name      string
			filter    mealsync.RecipeFilter
			wantTotal int
			wantNext  bool
		}{
			{"offset at the end", mealsync.RecipeFilter{Offset: len(rs), Limit: 5}, len(rs), false},
			{"offset past the end", mealsync.RecipeFilter{Offset: 100, Limit: 5}, len(rs), false},
			{"offset past the end of a filter", mealsync.RecipeFilter{Difficulty: "hard", Offset: 50, Limit: 5}, 10, false},
			{"limit 0", mealsync.RecipeFilter{Limit: 0}, len(rs), true},
			{"filter matching nothing", mealsync.RecipeFilter{Name: "nothing like it", Limit: 5}, 0, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := db.ListRecipes(t.Context(), tt.filter)
				if err != nil {
					t.Fatalf("ListRecipes: %v", err)
				}
				if page.Items == nil || len(page.Items) != 0 {
					t.Errorf("Items = %v, want an empty list", page.Items)
				}
				if page.Total != tt.wantTotal || page.HasNext() != tt.wantNext {
					t.Errorf("Total = %d, HasNext = %v; want %d, %v", page.Total, page.HasNext(), tt.wantTotal, tt.wantNext)
				}
			})
		}
		// A filtered page: the odd dishes are HARD.
		page, err := db.ListRecipes(t.Context(), mealsync.RecipeFilter{Difficulty: "HARD", Offset: 2, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := recipeNames(page.Items), []string{"Dish 05", "Dish 07", "Dish 09"}; !slices.Equal(got, want) || page.Total != 10 {
			t.Errorf("HARD, offset 2, limit 3 = %q of %d, want %q of 10", got, page.Total, want)
		}
	})
}

func TestUpdateRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		created := now().Add(-time.Hour)
		old := mustCreateRecipes(t, db, newRecipe(created, func(r *mealsync.Recipe) {
			r.Name = "Old Name"
			r.Tags = []string{"OldTag", "kept"}
			r.Ingredients = []mealsync.Ingredient{{Name: "parsnip", Quantity: "2", Unit: ""}, {Name: "Kept Thing", Quantity: "1", Unit: ""}}
			r.ImageURL = "https://images.example.com/old.jpg"
		}))[0]
		other := mustCreateRecipes(t, db, newRecipe(created, func(r *mealsync.Recipe) {
			r.Name = "Other"
			r.Tags = []string{"oldtag"}
		}))[0]

		updated := now()
		change := *newRecipe(updated, func(r *mealsync.Recipe) {
			r.ID = old.ID
			r.Name = "New Name"
			r.Description = "Rewritten."
			r.Cuisine, r.Difficulty = "Thai", "HARD"
			r.Tags = []string{"NewTag", "Kept"}
			r.Ingredients = []mealsync.Ingredient{{Name: "Kept thing", Quantity: "3", Unit: "kg"}, {Name: "lemongrass", Quantity: "1", Unit: "stalk"}}
			r.Instructions = []string{"New step one.", "New step two."}
			r.IngredientKey = "new name"
			r.PreparationTime, r.CookingTime, r.TotalTime, r.Servings = 1, 2, 3, 4
			r.Calories, r.Protein, r.Carbohydrates, r.Fat = 1.5, 2.5, 3.5, 4.5
			r.ImageURL = ""
			r.Source = "user"
			r.UpdatedAt = &updated
		})
		if err := db.UpdateRecipe(t.Context(), &change); err != nil {
			t.Fatalf("UpdateRecipe: %v", err)
		}

		// Everything is replaced but the creation time.
		want := change
		want.CreatedAt = old.CreatedAt
		got, err := db.RecipeByID(t.Context(), old.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameRecipe(t, got, &want)
		if got, err := db.RecipeByID(t.Context(), other.ID); err != nil {
			t.Fatal(err)
		} else {
			sameRecipe(t, got, other)
		}

		tests := []struct {
			name   string
			filter mealsync.RecipeFilter
			want   []string
		}{
			{"old tag", mealsync.RecipeFilter{Tags: []string{"oldtag"}}, []string{"Other"}},
			{"new tag", mealsync.RecipeFilter{Tags: []string{"newtag"}}, []string{"New Name"}},
			{"kept tag", mealsync.RecipeFilter{Tags: []string{"kept"}}, []string{"New Name"}},
			{"old ingredient", mealsync.RecipeFilter{Ingredients: []string{"parsnip"}}, []string{}},
			{"new ingredient", mealsync.RecipeFilter{Ingredients: []string{"lemongrass"}}, []string{"New Name"}},
			{"old name", mealsync.RecipeFilter{Name: "old name"}, []string{}},
			{"new cuisine", mealsync.RecipeFilter{Cuisines: []string{"thai"}}, []string{"New Name"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.filter.Limit = 10
				page, err := db.ListRecipes(t.Context(), tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if got := recipeNames(page.Items); !slices.Equal(got, tt.want) {
					t.Errorf("ListRecipes(%+v) = %q, want %q", tt.filter, got, tt.want)
				}
			})
		}
		if got, want := searchRows(t, db, "recipe_tags", "tag", old.ID), []string{"kept", "newtag"}; !slices.Equal(got, want) {
			t.Errorf("recipe_tags = %q, want %q", got, want)
		}
		if got, want := searchRows(t, db, "recipe_ingredient_names", "name", old.ID), []string{"kept thing", "lemongrass"}; !slices.Equal(got, want) {
			t.Errorf("recipe_ingredient_names = %q, want %q", got, want)
		}
	})
}

func TestDeleteRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		at := now()
		u := mustCreateUser(t, db, at, nil)
		rs := mustCreateRecipes(t, db,
			newRecipe(at, func(r *mealsync.Recipe) { r.Name, r.Tags = "Doomed", []string{"shared"} }),
			newRecipe(at, func(r *mealsync.Recipe) { r.Name, r.Tags = "Survivor", []string{"shared"} }))
		doomed, survivor := rs[0], rs[1]
		for _, r := range rs {
			for _, kind := range []string{mealsync.RecipeSaved, mealsync.RecipeGenerated} {
				mustSaveRecipe(t, db, u.ID, r, kind, at)
			}
		}

		if err := db.DeleteRecipe(t.Context(), doomed.ID); err != nil {
			t.Fatalf("DeleteRecipe: %v", err)
		}
		_, err := db.RecipeByID(t.Context(), doomed.ID)
		wantCode(t, err, mealsync.ENOTFOUND)
		wantCode(t, db.DeleteRecipe(t.Context(), doomed.ID), mealsync.ENOTFOUND)

		for _, table := range []struct{ name, column string }{{"recipe_tags", "tag"}, {"recipe_ingredient_names", "name"}} {
			if got := searchRows(t, db, table.name, table.column, doomed.ID); len(got) != 0 {
				t.Errorf("%s of the deleted recipe: %q, want none", table.name, got)
			}
		}
		for _, kind := range []string{mealsync.RecipeSaved, mealsync.RecipeGenerated} {
			page, err := db.UserRecipes(t.Context(), u.ID, kind, 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 1 || page.Items[0].Recipe.ID != survivor.ID || page.Total != 1 {
				t.Errorf("%s records after the delete: %d of %d, want only the survivor's", kind, len(page.Items), page.Total)
			}
		}
		saved, err := db.SavedRecipeIDs(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(saved) != 1 || !saved[survivor.ID] {
			t.Errorf("SavedRecipeIDs = %v, want only the survivor", saved)
		}
		page, err := db.ListRecipes(t.Context(), mealsync.RecipeFilter{Tags: []string{"shared"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got := recipeNames(page.Items); !slices.Equal(got, []string{"Survivor"}) {
			t.Errorf("recipes tagged shared = %q, want only the survivor", got)
		}
	})
}

// The store holds every recipe to the domain's rules, whoever calls it: an
// invalid recipe is refused with EINVALID and nothing is written.
func TestRecipeStoreRefusesInvalidRecipes(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		valid := newRecipe(now(), nil)
		tooLong := newRecipe(now(), func(r *mealsync.Recipe) { r.Instructions = []string{strings.Repeat("i", mealsync.MaxInstruction+1)} })
		if err := db.CreateRecipes(t.Context(), valid, tooLong); mealsync.ErrorCode(err) != mealsync.EINVALID {
			t.Fatalf("CreateRecipes with an invalid recipe: %v, want EINVALID", err)
		}
		if n, err := db.CountRecipes(t.Context()); err != nil || n != 0 {
			t.Fatalf("%d recipes stored (%v), want none", n, err)
		}
		mustCreateRecipes(t, db, valid)
		changed := *valid
		changed.Name, changed.Servings = "Renamed", mealsync.MaxServings+1
		if err := db.UpdateRecipe(t.Context(), &changed); mealsync.ErrorCode(err) != mealsync.EINVALID {
			t.Fatalf("UpdateRecipe with too many servings: %v, want EINVALID", err)
		}
		if got, err := db.RecipeByID(t.Context(), valid.ID); err != nil || got.Name != valid.Name {
			t.Fatalf("stored recipe %v (%v), want it unchanged", got, err)
		}
	})
}
