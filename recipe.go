package mealsync

import (
	"context"
	"time"
)

// Ingredient is one line of a recipe. Quantity is text ("2 1/2").
type Ingredient struct {
	Name     string
	Quantity string
	Unit     string
}

// Recipe is a catalogue entry. Nutrition is per serving (kcal, grams).
type Recipe struct {
	ID              string
	Name            string
	Description     string
	Cuisine         string
	Difficulty      string // EASY, MEDIUM or HARD
	Ingredients     []Ingredient
	Instructions    []string // in order
	Tags            []string
	IngredientKey   string // the normalised name, used to spot duplicates
	PreparationTime int    // minutes
	CookingTime     int
	TotalTime       int
	Servings        int
	Calories        float64
	Protein         float64
	Carbohydrates   float64
	Fat             float64
	ImageURL        string // empty when there is none
	Source          string // "catalog", "user", "openai", …
	CreatedAt       time.Time
	UpdatedAt       *time.Time
}

// Difficulties a recipe may have.
var Difficulties = []string{"EASY", "MEDIUM", "HARD"}

// RecipeFilter narrows ListRecipes. Zero values match everything. Matching
// is case-insensitive; lists match when any entry matches.
type RecipeFilter struct {
	Name         string   // substring of the name
	Cuisines     []string // equals the cuisine
	Tags         []string // equals a tag
	Ingredients  []string // substring of an ingredient's name
	Difficulty   string
	MaxTotalTime *int
	MinServings  *int
	Offset       int
	Limit        int
}

// Page is a slice of a longer list.
type Page[T any] struct {
	Items  []T
	Offset int
	Limit  int
	Total  int
}

// HasNext reports whether items follow this page.
func (p Page[T]) HasNext() bool { return p.Offset+len(p.Items) < p.Total }

// SavedRecipe is a recipe in a user's collection.
type SavedRecipe struct {
	ID      string
	UserID  string
	Recipe  *Recipe
	Type    string // SAVED or GENERATED
	SavedAt time.Time
}

// Kinds of a user's recipe record.
const (
	RecipeSaved     = "SAVED"
	RecipeGenerated = "GENERATED"
)

// RecipeStore keeps the catalogue and users' collections.
type RecipeStore interface {
	CreateRecipes(ctx context.Context, rs ...*Recipe) error // all or none
	UpdateRecipe(ctx context.Context, r *Recipe) error
	DeleteRecipe(ctx context.Context, id string) error
	RecipeByID(ctx context.Context, id string) (*Recipe, error)
	RecipesByIDs(ctx context.Context, ids []string) ([]*Recipe, error) // in the order of ids, unknown ids skipped
	ListRecipes(ctx context.Context, f RecipeFilter) (Page[*Recipe], error)
	CountRecipes(ctx context.Context) (int, error)
	// CatalogueVersion changes whenever any recipe is created, updated or
	// deleted, in the same transaction, on every instance.
	CatalogueVersion(ctx context.Context) (int64, error)
	// RecipesByIngredientKeys finds existing recipes by their dedupe key.
	RecipesByIngredientKeys(ctx context.Context, keys []string) (map[string]*Recipe, error)

	// SaveRecipe records a user's recipe; saving twice keeps one record.
	SaveRecipe(ctx context.Context, s *SavedRecipe) (*SavedRecipe, error)
	UnsaveRecipe(ctx context.Context, userID, recipeID, kind string) error // ErrNotFound if not saved
	// UserRecipes lists a user's records of one kind, newest first, one per recipe.
	UserRecipes(ctx context.Context, userID, kind string, offset, limit int) (Page[*SavedRecipe], error)
	SavedRecipeIDs(ctx context.Context, userID string) (map[string]bool, error)
}
