package api

import (
	"strings"

	"github.com/mealsync/mealsync"
)

type ingredientRequest struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
}

// recipeRequest is the body of POST and PUT /recipes. Numbers are pointers
// so that an update can tell "absent, keep" from "zero". The reference's
// ingredientKey and source are not read: the server assigns them.
type recipeRequest struct {
	Name            string              `json:"name"`
	Ingredients     []ingredientRequest `json:"ingredients"`
	Instructions    []string            `json:"instructions"`
	Cuisine         string              `json:"cuisine"`
	ImageURL        *string             `json:"imageUrl"`
	Description     string              `json:"description"`
	PreparationTime *int                `json:"preparationTime"`
	CookingTime     *int                `json:"cookingTime"`
	TotalTime       *int                `json:"totalTime"`
	Servings        *int                `json:"servings"`
	Calories        *float64            `json:"calories"`
	Protein         *float64            `json:"protein"`
	Carbohydrates   *float64            `json:"carbohydrates"`
	Fat             *float64            `json:"fat"`
	Difficulty      string              `json:"difficulty"`
	Tags            []string            `json:"tags"`
}

// Valid checks the recipe the request describes against the domain's one
// definition of a valid recipe (mealsync.Recipe.Validate).
func (r recipeRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	rec := &mealsync.Recipe{}
	r.apply(rec)
	v.Include("", rec.Validate())
	return v
}

// apply writes the request onto r. Absent numbers keep r's values, so the
// same code serves create (on a zero recipe) and update.
func (req recipeRequest) apply(r *mealsync.Recipe) {
	r.Name = strings.TrimSpace(req.Name)
	r.Cuisine = strings.TrimSpace(req.Cuisine)
	r.Description = strings.TrimSpace(req.Description)
	r.Difficulty = strings.ToUpper(strings.TrimSpace(req.Difficulty))
	r.Ingredients = make([]mealsync.Ingredient, len(req.Ingredients))
	for i, g := range req.Ingredients {
		r.Ingredients[i] = mealsync.Ingredient{Name: strings.TrimSpace(g.Name), Quantity: strings.TrimSpace(g.Quantity), Unit: strings.TrimSpace(g.Unit)}
	}
	r.Instructions = make([]string, len(req.Instructions))
	for i, s := range req.Instructions {
		r.Instructions[i] = strings.TrimSpace(s)
	}
	r.Tags = make([]string, 0, len(req.Tags))
	for _, t := range req.Tags {
		r.Tags = append(r.Tags, strings.TrimSpace(t))
	}
	if req.ImageURL != nil {
		r.ImageURL = strings.TrimSpace(*req.ImageURL)
	}
	setInt := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setInt(&r.PreparationTime, req.PreparationTime)
	setInt(&r.CookingTime, req.CookingTime)
	setInt(&r.Servings, req.Servings)
	if req.Servings == nil && r.Servings == 0 {
		r.Servings = 1 // the default; a 0 sent is refused
	}
	if req.TotalTime != nil {
		r.TotalTime = *req.TotalTime
	} else {
		r.TotalTime = r.PreparationTime + r.CookingTime
	}
	for _, f := range []struct {
		dst *float64
		src *float64
	}{{&r.Calories, req.Calories}, {&r.Protein, req.Protein}, {&r.Carbohydrates, req.Carbohydrates}, {&r.Fat, req.Fat}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
}

// saveRequest is the body of POST and DELETE /recipes/save.
type saveRequest struct {
	UserID   string `json:"userId"`
	RecipeID string `json:"recipeId"`
}

func (r saveRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	for _, f := range []struct{ name, val, blank string }{
		{"userId", r.UserID, "User ID must not be null"}, {"recipeId", r.RecipeID, "Recipe ID must not be null"},
	} {
		if f.val == "" {
			v.Add(f.name, f.blank)
		} else if _, err := parseID(f.val); err != nil {
			v.Add(f.name, "Must be a UUID")
		}
	}
	return v
}
