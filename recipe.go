package mealsync

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Ingredient is one line of a recipe. Quantity is text ("2 1/2").
type Ingredient struct {
	Name     string
	Quantity string
	Unit     string
}

// Recipe is a dish. Nutrition is per serving (kcal, grams).
//
// Every recipe is either in the shared catalogue (Published) or private to
// its owner. The catalogue is curated: the starter catalogue, generated
// recipes, recipes an admin creates, and user recipes an admin publishes.
// A recipe a user creates is private: only its owner and admins see it, and
// nothing (lists, recommendations, meal plans, generation) hands it to
// anyone else. Publishing is one-way: other users may save a published
// recipe or plan it, so it never turns private again.
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
	// OwnerID is the user who created the recipe through the API ("" for
	// the starter catalogue and generated recipes). It stays set after the
	// recipe is published. Deleting the user deletes their private recipes
	// and leaves their published ones in the catalogue, ownerless.
	OwnerID   string
	Published bool // in the shared catalogue; false: private to OwnerID
	CreatedAt time.Time
	UpdatedAt *time.Time
}

// SearchTerms normalises what tag and ingredient filters look for and what
// they are matched against: trimmed, lower-cased (Go's Unicode folding, the
// same on every store), blanks dropped, each once, in first-seen order.
func SearchTerms(list []string) []string {
	seen := make(map[string]bool, len(list))
	var terms []string
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !seen[s] {
			seen[s] = true
			terms = append(terms, s)
		}
	}
	return terms
}

// Difficulties a recipe may have.
var Difficulties = []string{"EASY", "MEDIUM", "HARD"}

// SourceUser is the Source of recipes created through the API.
const SourceUser = "user"

// Viewer is who recipes are shown to: the zero Viewer is an anonymous
// caller, who sees the catalogue only.
type Viewer struct {
	UserID string
	Admin  bool
}

// ViewerOf returns u as a Viewer; nil is anonymous.
func ViewerOf(u *User) Viewer {
	if u == nil {
		return Viewer{}
	}
	return Viewer{UserID: u.ID, Admin: u.Role == RoleAdmin}
}

// CanSee reports whether v may see r: anyone a published recipe, a private
// one only its owner and admins.
func (v Viewer) CanSee(r *Recipe) bool {
	return r.Published || v.Admin || (v.UserID != "" && r.OwnerID == v.UserID)
}

// CanEdit reports whether v may change or delete r: an admin any recipe,
// the owner their recipe while it is private (the catalogue is curated).
func (v Viewer) CanEdit(r *Recipe) bool {
	return v.Admin || (!r.Published && v.UserID != "" && r.OwnerID == v.UserID)
}

// RecipeFilter narrows ListRecipes. Zero values match everything the
// viewer may see. Matching is case-insensitive; lists match when any entry
// matches.
type RecipeFilter struct {
	// Viewer is who the list is for: it holds the catalogue and the
	// viewer's own private recipes. Admins too see only their own here;
	// every user's private recipes only with Published set to false.
	Viewer Viewer
	// Published, when set, keeps only catalogue recipes (true) or only
	// private ones (false): the viewer's own, or every user's for an admin.
	Published    *bool
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

// Normalized returns f with its search terms as every store matches them
// and every cache keys them, defined here once: the name trimmed and
// lower-cased, the difficulty trimmed and upper-cased, and each list
// SearchTerms'd and sorted (order and repeats do not change a result).
// Stores normalise the filters they are given; callers that key a cache by
// a filter normalise it first, so equal questions get equal keys.
func (f RecipeFilter) Normalized() RecipeFilter {
	f.Name = strings.ToLower(strings.TrimSpace(f.Name))
	f.Difficulty = strings.ToUpper(strings.TrimSpace(f.Difficulty))
	for _, l := range []*[]string{&f.Cuisines, &f.Tags, &f.Ingredients} {
		*l = SearchTerms(*l)
		slices.Sort(*l)
	}
	return f
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

// CatalogueFeed serves copies of the catalogue kept in memory: the whole of
// it once, then which recipes changed. Every change to a recipe records its
// id under the catalogue version it takes, in the change's own transaction;
// versions become visible in order.
type CatalogueFeed interface {
	// Catalogue returns every published recipe and the catalogue version
	// they were read at, together.
	Catalogue(ctx context.Context) ([]*Recipe, int64, error)
	// RecipeChangesSince returns the recipes changed after version after,
	// the latest version, and whether every change after after is still
	// recorded (false once pruned: read the Catalogue again).
	RecipeChangesSince(ctx context.Context, after int64) (ids []string, latest int64, complete bool, err error)
}

// RecipeStore keeps the catalogue, users' private recipes and users'
// collections. Lookups by id (RecipeByID, RecipesByIDs) return private
// recipes too: the caller checks Viewer.CanSee.
type RecipeStore interface {
	// CreateRecipes stores rs, all or none. A recipe that is not Published
	// must have an OwnerID.
	CreateRecipes(ctx context.Context, rs ...*Recipe) error
	// UpdateRecipe writes every field of r but ID, CreatedAt, OwnerID and
	// Published, only while the stored recipe's Published equals r's (the
	// state the caller authorised the change against); else ErrNotFound.
	UpdateRecipe(ctx context.Context, r *Recipe) error
	DeleteRecipe(ctx context.Context, id string) error
	// DeletePrivateRecipe deletes the recipe only if it is still private to
	// ownerID; else ErrNotFound.
	DeletePrivateRecipe(ctx context.Context, id, ownerID string) error
	// PublishRecipe puts a recipe in the catalogue (again is a no-op) and
	// returns it.
	PublishRecipe(ctx context.Context, id string) (*Recipe, error)
	RecipeByID(ctx context.Context, id string) (*Recipe, error)
	RecipesByIDs(ctx context.Context, ids []string) ([]*Recipe, error) // in the order of ids, unknown ids skipped
	ListRecipes(ctx context.Context, f RecipeFilter) (Page[*Recipe], error)
	CountRecipes(ctx context.Context) (int, error) // every stored recipe, private ones included
	// HasPrivateRecipes reports whether ownerID owns a recipe that is not
	// published (whether their lists differ from the catalogue's).
	HasPrivateRecipes(ctx context.Context, ownerID string) (bool, error)
	// CatalogueVersion changes whenever any recipe is created, updated,
	// published or deleted, in the same transaction, on every instance.
	CatalogueVersion(ctx context.Context) (int64, error)
	// RecipesByIngredientKeys finds catalogue recipes by their dedupe key;
	// private recipes are never matched.
	RecipesByIngredientKeys(ctx context.Context, keys []string) (map[string]*Recipe, error)

	// SaveRecipe records a user's recipe; saving twice keeps one record. A
	// recipe the user could not see without admin rights (another user's
	// private one) is ErrNotFound: a collection never holds one.
	SaveRecipe(ctx context.Context, s *SavedRecipe) (*SavedRecipe, error)
	UnsaveRecipe(ctx context.Context, userID, recipeID, kind string) error // ErrNotFound if not saved
	// UserRecipes lists a user's records of one kind, newest first, one per recipe.
	UserRecipes(ctx context.Context, userID, kind string, offset, limit int) (Page[*SavedRecipe], error)
	SavedRecipeIDs(ctx context.Context, userID string) (map[string]bool, error)
}
