package kitchen

import (
	"strings"

	"github.com/mealsync/mealsync"
)

// RecipeInput is what a client writes to create or change a recipe: the
// content only, never what the server decides (id, owner, source, dedupe
// key, times). Numbers are pointers so that an update can tell "absent,
// keep" from "zero".
type RecipeInput struct {
	Name, Description, Cuisine, Difficulty string
	Ingredients                            []mealsync.Ingredient
	Instructions, Tags                     []string
	ImageURL                               *string // nil keeps the image; "" removes it
	PreparationTime, CookingTime           *int
	TotalTime                              *int // nil: preparation plus cooking
	Servings                               *int // nil on create: 1
	Calories, Protein, Carbohydrates, Fat  *float64
}

// apply writes in onto r, text trimmed and the difficulty upper-cased.
// Absent numbers keep r's values, so the same code serves create (on a
// zero recipe) and update.
func (in RecipeInput) apply(r *mealsync.Recipe) {
	r.Name = strings.TrimSpace(in.Name)
	r.Cuisine = strings.TrimSpace(in.Cuisine)
	r.Description = strings.TrimSpace(in.Description)
	r.Difficulty = strings.ToUpper(strings.TrimSpace(in.Difficulty))
	r.Ingredients = make([]mealsync.Ingredient, len(in.Ingredients))
	for i, g := range in.Ingredients {
		r.Ingredients[i] = mealsync.Ingredient{Name: strings.TrimSpace(g.Name), Quantity: strings.TrimSpace(g.Quantity), Unit: strings.TrimSpace(g.Unit)}
	}
	r.Instructions = make([]string, len(in.Instructions))
	for i, s := range in.Instructions {
		r.Instructions[i] = strings.TrimSpace(s)
	}
	r.Tags = make([]string, 0, len(in.Tags))
	for _, t := range in.Tags {
		r.Tags = append(r.Tags, strings.TrimSpace(t))
	}
	if in.ImageURL != nil {
		r.ImageURL = strings.TrimSpace(*in.ImageURL)
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setInt(&r.PreparationTime, in.PreparationTime)
	setInt(&r.CookingTime, in.CookingTime)
	setInt(&r.Servings, in.Servings)
	if in.Servings == nil && r.Servings == 0 {
		r.Servings = 1 // the default; a 0 sent is refused
	}
	if in.TotalTime != nil {
		r.TotalTime = *in.TotalTime
	} else {
		r.TotalTime = r.PreparationTime + r.CookingTime
	}
	for _, f := range []struct {
		dst *float64
		src *float64
	}{{&r.Calories, in.Calories}, {&r.Protein, in.Protein}, {&r.Carbohydrates, in.Carbohydrates}, {&r.Fat, in.Fat}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}
