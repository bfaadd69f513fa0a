// Package kitchen is the business layer of the recipe domain: it combines
// the stores with the ranking rules, the generation provider, the meal
// planner and the image store. Handlers call it; it calls no handler.
//
// It imports the domain and its rule packages (internal/ranking,
// internal/mealplan) only: never an adapter (internal/api, internal/sqldb,
// internal/blob, internal/generate), net/http or an SQL driver. What it
// needs from adapters is an interface of the domain's (mealsync.RecipeStore,
// mealsync.RecipeProvider, mealsync.ImageStore), built in run.
package kitchen

import (
	"context"
	"log/slog"
	"strings"

	"github.com/mealsync/mealsync"
)

// Service is the recipe domain's logic.
type Service struct {
	recipes    mealsync.RecipeStore
	plans      mealsync.MealPlanStore
	households mealsync.HouseholdStore // whose plans a member may use
	gen        mealsync.RecipeProvider
	images     mealsync.ImageStore
	imageHosts map[string]bool // besides images, where a recipe's image may be
	now        mealsync.Clock
	log        *slog.Logger
	// onChange is told, once each change commits, that this instance
	// changed the catalogue (OnCatalogueChange).
	onChange []func()
}

// New builds the service. imageHosts are the host names, besides the image
// store, that a recipe's imageUrl may point at (config
// MEALSYNC_IMAGE_URL_HOSTS).
func New(recipes mealsync.RecipeStore, plans mealsync.MealPlanStore, households mealsync.HouseholdStore, gen mealsync.RecipeProvider,
	images mealsync.ImageStore, imageHosts []string, now mealsync.Clock, log *slog.Logger) *Service {
	hosts := make(map[string]bool, len(imageHosts))
	for _, h := range imageHosts {
		hosts[strings.ToLower(h)] = true
	}
	return &Service{recipes: recipes, plans: plans, households: households, gen: gen, images: images, imageHosts: hosts, now: now, log: log}
}

// CatalogSource backs the catalog generator with the store's ingredient
// filter: the candidates are catalogue recipes that use any of the names.
// Generation hands its answers to whoever asked, so it never draws on
// anyone's private recipes.
func CatalogSource(recipes mealsync.RecipeStore) func(ctx context.Context, names []string, limit int) ([]*mealsync.Recipe, error) {
	catalogue := true
	return func(ctx context.Context, names []string, limit int) ([]*mealsync.Recipe, error) {
		p, err := recipes.ListRecipes(ctx, mealsync.RecipeFilter{Published: &catalogue, Ingredients: names, Limit: limit})
		return p.Items, err
	}
}

// OnCatalogueChange has fn called after every recipe change this service
// makes (create, update, delete, publish, a new image, generated recipes)
// has committed: caches on this instance stop serving the old catalogue at
// once, rather than when they next read the catalogue version. Call it
// while building, before the service is used.
func (s *Service) OnCatalogueChange(fn func()) { s.onChange = append(s.onChange, fn) }

// catalogueChanged tells the OnCatalogueChange listeners once what ctx
// wrote has committed.
func (s *Service) catalogueChanged(ctx context.Context) {
	for _, fn := range s.onChange {
		mealsync.AfterCommit(ctx, fn)
	}
}

// Provider says which generation provider is in use.
func (s *Service) Provider() string { return s.gen.Name() }

// ReadsPhotos reports whether the provider reads the ingredients in a
// photo (DetectIngredients); the offline catalogue does not.
func (s *Service) ReadsPhotos() bool {
	p, ok := s.gen.(mealsync.PhotoReader)
	return !ok || p.ReadsPhotos()
}
