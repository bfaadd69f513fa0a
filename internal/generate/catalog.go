package generate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// CandidateSource returns stored recipes that have an ingredient whose name
// contains one of ingredientNames (case-insensitively), at most limit of
// them. run backs it with the recipe store's ingredient filter.
type CandidateSource func(ctx context.Context, ingredientNames []string, limit int) ([]*mealsync.Recipe, error)

// Catalog "generates" recipes by choosing the stored ones that best use what
// the user has. It needs no network and no key, so it is the default.
type Catalog struct {
	candidates CandidateSource
}

var _ mealsync.RecipeProvider = (*Catalog)(nil)

// NewCatalog returns a Catalog that scores the recipes candidates returns.
func NewCatalog(candidates CandidateSource) *Catalog { return &Catalog{candidates: candidates} }

// Name implements mealsync.RecipeProvider.
func (*Catalog) Name() string { return "catalog" }

// candidateLimit bounds how many recipes one request scores.
const candidateLimit = 500

// favouriteBonus is added to the coverage of a recipe of a favourite cuisine:
// it wins over another that covers up to 15 points more of its ingredients.
const favouriteBonus = 0.15

// Generate implements mealsync.RecipeProvider. Candidates are ranked by coverage: the
// fraction of a recipe's main ingredients (all but pantry staples) that the
// given ingredients supply, plus favouriteBonus for a favourite cuisine. Ties
// go to the recipe that uses more of the given ingredients, then to the one
// that needs fewer others, then by name and id, so the same request always
// gets the same answer. Recipes the user may not have are never considered;
// a recipe that uses none of the given ingredients is not a match. From the
// ranking, pickDiverse chooses Count recipes that differ from one another.
// No match is an empty list, not an error.
func (c *Catalog) Generate(ctx context.Context, req mealsync.GenerateRequest) ([]*mealsync.Recipe, error) {
	n, err := wanted(req)
	if err != nil {
		return nil, err
	}
	given, err := usable(req)
	if err != nil {
		return nil, err
	}
	have := make([]string, len(given))
	for i, in := range given {
		have[i] = ranking.NormalizeIngredient(in.Name)
	}
	candidates, err := c.candidates(ctx, have, candidateLimit)
	if err != nil {
		return nil, fmt.Errorf("generate: catalog candidates: %w", err)
	}

	haveWords := make([][]string, len(have))
	for i, h := range have {
		haveWords[i] = strings.Fields(h)
	}
	var matches []match
	seen := make(map[string]bool, len(candidates))
	allowed := ranking.NewFilter(req.Preferences)
	for _, r := range candidates {
		if r == nil || r.ID != "" && seen[r.ID] || !allowed.Allows(r) {
			continue
		}
		seen[r.ID] = true
		if m, ok := score(r, haveWords, req.Preferences); ok {
			matches = append(matches, m)
		}
	}
	slices.SortFunc(matches, compareMatches)
	ranked := make([]*mealsync.Recipe, len(matches))
	for i, m := range matches {
		ranked[i] = m.recipe
	}
	return pickDiverse(ranked, n), nil
}

// match is a candidate recipe scored against the given ingredients.
type match struct {
	recipe   *mealsync.Recipe
	score    float64 // coverage, plus favouriteBonus
	used     int     // given ingredients the recipe uses
	missing  int     // main ingredients the user lacks
	sortName string
}

func compareMatches(a, b match) int {
	return cmp.Or(
		cmp.Compare(b.score, a.score),
		cmp.Compare(b.used, a.used),
		cmp.Compare(a.missing, b.missing),
		cmp.Compare(a.sortName, b.sortName),
		cmp.Compare(a.recipe.ID, b.recipe.ID),
	)
}

// score measures how well r uses have (normalised names, split into
// words). ok is false when r uses none of them, or has nothing but staples.
func score(r *mealsync.Recipe, have [][]string, p mealsync.Preferences) (m match, ok bool) {
	var main [][]string
	for _, in := range r.Ingredients {
		if norm := ranking.NormalizeIngredient(in.Name); norm != "" && !isStaple(norm) {
			main = append(main, strings.Fields(norm))
		}
	}
	if len(main) == 0 {
		return match{}, false
	}
	covered := 0
	for _, need := range main {
		if slices.ContainsFunc(have, func(h []string) bool { return ranking.CoversWords(h, need) }) {
			covered++
		}
	}
	used := 0
	for _, h := range have {
		if slices.ContainsFunc(main, func(need []string) bool { return ranking.CoversWords(h, need) }) {
			used++
		}
	}
	if used == 0 {
		return match{}, false
	}
	s := float64(covered) / float64(len(main))
	if ranking.IsFavouriteCuisine(r.Cuisine, p) {
		s += favouriteBonus
	}
	return match{recipe: r, score: s, used: used, missing: len(main) - covered, sortName: strings.ToLower(r.Name)}, true
}

// staples are what every kitchen is assumed to have, as NormalizeIngredient
// writes them. They neither count against a recipe's coverage nor make a
// recipe a match.
var staples = map[string]bool{
	"salt": true, "sea salt": true, "flaky sea salt": true, "kosher salt": true, "table salt": true,
	"fine salt": true, "pepper": true, "black pepper": true, "white pepper": true,
	"black peppercorn": true, "water": true, "cold water": true, "hot water": true,
	"warm water": true, "boiling water": true, "ice water": true, "lukewarm water": true,
	"ice": true, "ice cube": true, "oil": true, "olive oil": true, "extra virgin olive oil": true,
	"vegetable oil": true, "sunflower oil": true, "canola oil": true, "rapeseed oil": true,
	"neutral oil": true, "cooking oil": true,
}

func isStaple(norm string) bool {
	// Skewers are equipment that recipes list among ingredients.
	return staples[norm] || slices.Contains(strings.Fields(norm), "skewer")
}

// ReadsPhotos implements mealsync.PhotoReader: the catalogue does not.
func (*Catalog) ReadsPhotos() bool { return false }

// DetectIngredients implements mealsync.RecipeProvider: the catalogue cannot look at photos.
func (*Catalog) DetectIngredients(context.Context, []byte, string) ([]mealsync.Ingredient, error) {
	return nil, mealsync.Errorf(mealsync.EUNAVAILABLE, "Ingredient detection needs the openai provider (MEALSYNC_AI_PROVIDER=openai)")
}
