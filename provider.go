package mealsync

import "context"

// RecipeProvider writes recipes from the ingredients a user has, and reads
// the ingredients in a photo. internal/generate implements it (the offline
// catalogue, an OpenAI-compatible model); the kitchen uses it.
type RecipeProvider interface {
	// Name says which provider this is ("catalog", "openai"), for logs and
	// as the Source of the recipes it writes.
	Name() string
	// Generate returns up to GenerateRequest.Count recipes that use the
	// request's ingredients and that the user's preferences allow. Each
	// meets Recipe.Validate.
	Generate(ctx context.Context, req GenerateRequest) ([]*Recipe, error)
	// DetectIngredients lists the food ingredients visible in an image of
	// contentType (one ImageStore.CheckImage accepted).
	DetectIngredients(ctx context.Context, image []byte, contentType string) ([]Ingredient, error)
}

// PhotoReader is implemented by a RecipeProvider that knows whether it
// reads photos at all; one that does not implement it is taken to read
// them. Clients ask before offering a photo upload (the web app does).
type PhotoReader interface {
	ReadsPhotos() bool
}

// GenerateRequest asks for recipes.
type GenerateRequest struct {
	Ingredients []Ingredient
	Preferences Preferences
	Count       int // how many recipes; 0 means DefaultGenerateCount
}

// Limits of a GenerateRequest.
const (
	DefaultGenerateCount = 3
	MaxGenerateCount     = 10
)

// ImageStore keeps recipe pictures. internal/blob implements it; it
// decides what an acceptable image is (by its bytes, never by a name or a
// client's Content-Type) and names each by its content, so a picture's URL
// never changes meaning.
type ImageStore interface {
	// CheckImage returns the Content-Type of data if it is an image the
	// service accepts: EUNSUPPORTED for another type, EINVALID for an
	// empty, broken or oversized one.
	CheckImage(data []byte) (contentType string, err error)
	// PutImage checks data as CheckImage does, stores it and returns the
	// URL clients fetch it from.
	PutImage(ctx context.Context, data []byte) (url string, err error)
	// IsImageURL reports whether raw is the URL of an image PutImage
	// stored (or would store): a recipe may point there.
	IsImageURL(raw string) bool
}
