package api

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mealsync/mealsync"
)

// Limits of a recipe, from the reference's DTO and entity rules.
const (
	maxRecipeName      = 100
	maxCuisine         = 50
	maxDescription     = 500
	maxImageURL        = 2048
	maxIngredients     = 50
	maxIngredientName  = 100
	maxQuantity        = 50
	maxUnit            = 50
	maxInstructions    = 30
	maxInstructionLen  = 2000
	maxTags            = 10
	maxTagLen          = 30
	maxMinutes         = 7 * 24 * 60
	maxServings        = 100
	maxNutritionAmount = 100_000
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

func (r recipeRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	// label names the field in the "cannot exceed" message, as the
	// reference's messages do ("Each tag cannot exceed 30 characters").
	text := func(field, label, val string, max int, blank string) {
		switch n := utf8.RuneCountInString(strings.TrimSpace(val)); {
		case n == 0 && blank != "":
			v.Add(field, blank)
		case n > max:
			v.Add(field, fmt.Sprintf("%s cannot exceed %d characters", label, max))
		}
	}
	text("name", "Recipe name", r.Name, maxRecipeName, "Recipe name cannot be blank")
	text("cuisine", "Cuisine", r.Cuisine, maxCuisine, "Cuisine cannot be blank")
	text("description", "Description", r.Description, maxDescription, "Description cannot be blank")
	if len(r.Ingredients) == 0 {
		v.Add("ingredients", "Ingredients list cannot be empty")
	} else if len(r.Ingredients) > maxIngredients {
		v.Add("ingredients", fmt.Sprintf("At most %d ingredients", maxIngredients))
	}
	for i, g := range r.Ingredients {
		f := fmt.Sprintf("ingredients[%d]", i)
		text(f+".name", "Ingredient name", g.Name, maxIngredientName, "Ingredient name cannot be blank")
		text(f+".quantity", "Quantity", g.Quantity, maxQuantity, "Quantity cannot be blank")
		text(f+".unit", "Unit", g.Unit, maxUnit, "")
	}
	if len(r.Instructions) == 0 {
		v.Add("instructions", "Instructions cannot be empty")
	} else if len(r.Instructions) > maxInstructions {
		v.Add("instructions", fmt.Sprintf("At most %d instructions", maxInstructions))
	}
	for i, s := range r.Instructions {
		text(fmt.Sprintf("instructions[%d]", i), "Each instruction", s, maxInstructionLen, "Instruction cannot be blank")
	}
	if r.ImageURL != nil && *r.ImageURL != "" {
		// The form only; where it may point is kitchen's rule. A path on
		// this server is how the local image store's URLs look.
		u, err := url.Parse(*r.ImageURL)
		switch {
		case len(*r.ImageURL) > maxImageURL:
			v.Add("imageUrl", fmt.Sprintf("Image URL cannot exceed %d characters", maxImageURL))
		case err != nil:
			v.Add("imageUrl", "Image URL must be a valid URL")
		case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
		case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			v.Add("imageUrl", "Image URL must be a valid URL")
		}
	}
	for _, n := range []struct {
		field string
		val   *int
		min   int
		max   int
	}{{"preparationTime", r.PreparationTime, 0, maxMinutes}, {"cookingTime", r.CookingTime, 0, maxMinutes},
		{"totalTime", r.TotalTime, 0, maxMinutes}, {"servings", r.Servings, 1, maxServings}} {
		if n.val != nil && (*n.val < n.min || *n.val > n.max) {
			v.Add(n.field, fmt.Sprintf("%s must be between %d and %d", fieldLabel(n.field), n.min, n.max))
		}
	}
	for _, n := range []struct {
		field string
		val   *float64
	}{{"calories", r.Calories}, {"protein", r.Protein}, {"carbohydrates", r.Carbohydrates}, {"fat", r.Fat}} {
		if n.val != nil && (*n.val < 0 || *n.val > maxNutritionAmount) {
			v.Add(n.field, fmt.Sprintf("%s cannot be negative or absurdly large", fieldLabel(n.field)))
		}
	}
	if d := strings.ToUpper(strings.TrimSpace(r.Difficulty)); d == "" {
		v.Add("difficulty", "Difficulty cannot be blank")
	} else if !slices.Contains(mealsync.Difficulties, d) {
		v.Add("difficulty", "Difficulty must be EASY, MEDIUM or HARD")
	}
	if len(r.Tags) > maxTags {
		v.Add("tags", fmt.Sprintf("You can have up to %d tags", maxTags))
	}
	for i, t := range r.Tags {
		text(fmt.Sprintf("tags[%d]", i), "Each tag", t, maxTagLen, "Tag cannot be blank")
	}
	return v
}

func fieldLabel(field string) string {
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		field = field[i+1:]
	}
	var b strings.Builder
	for i, r := range field {
		switch {
		case i == 0:
			b.WriteString(strings.ToUpper(string(r)))
		case r >= 'A' && r <= 'Z':
			b.WriteString(" " + strings.ToLower(string(r)))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
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
	if r.Servings == 0 {
		r.Servings = 1
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
