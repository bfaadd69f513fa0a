// Package kitchen is the business layer of the recipe domain: it combines
// the stores with the ranking rules, the generation provider, the meal
// planner and the image store. Handlers call it; it calls no handler.
//
// It imports the domain and the rule packages, never net/http or an SQL
// driver.
package kitchen

import (
	"context"
	"log/slog"
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/generate"
)

// Service is the recipe domain's logic.
type Service struct {
	recipes    mealsync.RecipeStore
	plans      mealsync.MealPlanStore
	households mealsync.HouseholdStore // whose plans a member may use
	gen        generate.Provider
	images     blob.Store
	imageHosts map[string]bool // besides images, where a recipe's image may be
	now        mealsync.Clock
	log        *slog.Logger
}

// New builds the service. imageHosts are the host names, besides the image
// store, that a recipe's imageUrl may point at (config
// MEALSYNC_IMAGE_URL_HOSTS).
func New(recipes mealsync.RecipeStore, plans mealsync.MealPlanStore, households mealsync.HouseholdStore, gen generate.Provider,
	images blob.Store, imageHosts []string, now mealsync.Clock, log *slog.Logger) *Service {
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
func CatalogSource(recipes mealsync.RecipeStore) generate.CandidateSource {
	catalogue := true
	return func(ctx context.Context, names []string, limit int) ([]*mealsync.Recipe, error) {
		p, err := recipes.ListRecipes(ctx, mealsync.RecipeFilter{Published: &catalogue, Ingredients: names, Limit: limit})
		return p.Items, err
	}
}

// Provider says which generation provider is in use.
func (s *Service) Provider() string { return s.gen.Name() }
