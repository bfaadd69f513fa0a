package generate

import (
	"slices"
	"strings"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// pickDiverse returns up to n recipes from ranked (best first), in ranking
// order, no two of them alike. The rule:
//
//  1. Never two with the same ingredient key, or the same name signature:
//     the set of words of the name less filler words ("easy", "classic",
//     "the"…) and a trailing number ("II", "2"). "Chicken Curry", "Chicken
//     Curry II", "Easy Chicken Curry" and "Curry Chicken" are all one dish.
//  2. Preferably not two of the same cuisine with the same main protein
//     (two Thai chicken dishes). This is relaxed, in a second pass down the
//     ranking, only when the first pass found fewer than n recipes.
func pickDiverse(ranked []*mealsync.Recipe, n int) []*mealsync.Recipe {
	// Fingerprints are taken as the walk reaches them: it usually stops
	// after the first few of hundreds.
	prints := make([]*fingerprint, len(ranked))
	printOf := func(i int) *fingerprint {
		if prints[i] == nil {
			f := fingerprintOf(ranked[i])
			prints[i] = &f
		}
		return prints[i]
	}
	var chosen []int
	for _, strict := range []bool{true, false} {
		for i := range ranked {
			if len(chosen) == n {
				break
			}
			if slices.Contains(chosen, i) {
				continue
			}
			if !slices.ContainsFunc(chosen, func(j int) bool { return printOf(i).alike(*printOf(j), strict) }) {
				chosen = append(chosen, i)
			}
		}
	}
	slices.Sort(chosen)
	out := make([]*mealsync.Recipe, len(chosen))
	for k, i := range chosen {
		out[k] = ranked[i]
	}
	return out
}

// fingerprint is what two recipes are compared by.
type fingerprint struct {
	key       string // ingredient key
	signature string // name signature
	cuisine   string // lower case
	protein   string // main protein class, "" when none
}

func fingerprintOf(r *mealsync.Recipe) fingerprint {
	key := r.IngredientKey
	if key == "" {
		key = ranking.IngredientKey(r.Name)
	}
	return fingerprint{
		key:       key,
		signature: nameSignature(r.Name),
		cuisine:   strings.ToLower(strings.TrimSpace(r.Cuisine)),
		protein:   mainProtein(r),
	}
}

// alike reports whether two recipes are too similar to offer together;
// strict adds the cuisine-and-protein rule.
func (a fingerprint) alike(b fingerprint, strict bool) bool {
	switch {
	case a.key == b.key, a.signature != "" && a.signature == b.signature:
		return true
	case strict && a.protein != "" && a.protein == b.protein && a.cuisine == b.cuisine:
		return true
	}
	return false
}

// fillerWords say nothing about which dish a name is.
var fillerWords = map[string]bool{
	"easy": true, "quick": true, "simple": true, "best": true, "classic": true, "homemade": true,
	"authentic": true, "traditional": true, "perfect": true, "ultimate": true, "favourite": true,
	"favorite": true, "delicious": true, "tasty": true, "my": true, "the": true, "a": true,
	"an": true, "and": true, "with": true, "style": true, "recipe": true, "version": true,
}

var trailingNumbers = map[string]bool{
	"ii": true, "iii": true, "iv": true, "v": true, "vi": true, "vii": true, "viii": true, "ix": true, "x": true,
}

// nameSignature is the sorted set of a name's significant words.
func nameSignature(name string) string {
	ws := strings.Fields(ranking.NormalizeIngredient(name))
	for len(ws) > 1 && (trailingNumbers[ws[len(ws)-1]] || isDigits(ws[len(ws)-1])) {
		ws = ws[:len(ws)-1]
	}
	ws = slices.DeleteFunc(ws, func(w string) bool { return fillerWords[w] })
	slices.Sort(ws)
	return strings.Join(slices.Compact(ws), " ")
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// proteinClasses name the main protein of a dish, by words of its
// ingredients. Meat and fish come first: a dish with both chicken and egg is
// a chicken dish.
var (
	animalProteins = []proteinClass{
		{"chicken", []string{"chicken", "hen"}},
		{"turkey", []string{"turkey"}},
		{"duck", []string{"duck", "goose"}},
		{"beef", []string{"beef", "veal", "steak", "brisket", "sirloin", "ribeye", "oxtail"}},
		{"pork", []string{"pork", "bacon", "ham", "guanciale", "pancetta", "prosciutto", "chorizo", "sausage", "salami"}},
		{"lamb", []string{"lamb", "mutton", "goat"}},
		{"fish", []string{"fish", "salmon", "tuna", "cod", "haddock", "catfish", "mackerel", "sardine", "trout", "tilapia", "halibut", "snapper", "anchovy", "herring"}},
		{"seafood", []string{"shrimp", "prawn", "crab", "lobster", "clam", "mussel", "squid", "octopus", "scallop", "oyster", "calamari"}},
	}
	plantProteins = []proteinClass{
		{"tofu", []string{"tofu", "tempeh", "seitan"}},
		{"legume", []string{"bean", "lentil", "chickpea", "dal", "edamame"}},
		{"egg", []string{"egg"}},
		{"cheese", []string{"cheese", "paneer", "halloumi", "feta"}},
	}
)

type proteinClass struct {
	name  string
	words []string
}

// notProtein marks ingredients that carry a protein's name but not its
// substance: "chicken stock", "fish sauce", "oyster mushroom", "green bean".
var notProtein = []string{
	"stock", "broth", "sauce", "paste", "powder", "bouillon", "fat", "oil", "extract", "dashi",
	"flake", "juice", "mushroom", "sprout", "green", "vanilla", "coffee",
}

// mainProtein returns the class of the first animal protein among r's
// ingredients, else of the first plant protein, else "".
func mainProtein(r *mealsync.Recipe) string {
	for _, classes := range [][]proteinClass{animalProteins, plantProteins} {
		for _, in := range r.Ingredients {
			ws := strings.Fields(ranking.NormalizeIngredient(in.Name))
			if slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(notProtein, w) }) {
				continue
			}
			for _, c := range classes {
				if slices.ContainsFunc(ws, func(w string) bool { return slices.Contains(c.words, w) }) {
					return c.name
				}
			}
		}
	}
	return ""
}
