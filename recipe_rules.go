package mealsync

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of a recipe. They are the contract with clients (docs/API.md): a
// recipe the API accepted is valid everywhere, and a recipe generated,
// seeded or stored by any other path must meet the same limits.
const (
	MaxRecipeName     = 100
	MaxCuisine        = 50
	MaxDescription    = 500
	MaxImageURL       = 2048
	MaxIngredients    = 50
	MaxIngredientName = 100
	MaxQuantity       = 50
	MaxUnit           = 50
	MaxInstructions   = 30
	MaxInstruction    = 2000 // characters in one step
	MaxTags           = 10
	MaxTag            = 30
	MaxMinutes        = 7 * 24 * 60 // preparation or cooking time
	// MaxTotalTime bounds the total time: preparation plus cooking, each
	// at its limit (the total defaults to their sum).
	MaxTotalTime = 2 * MaxMinutes
	MaxServings  = 100
	MaxNutrition = 100_000 // kcal or grams per serving
)

// Validate reports every problem with r's content at once, as an EINVALID
// error whose fields are named as the API names them ("ingredients[2].name")
// and whose messages are fit for clients. Text is checked as stored:
// trimmed. What the server assigns (ID, Source, IngredientKey, times) is
// not checked here.
func (r *Recipe) Validate() error {
	var v Validation
	recipeText(&v, "name", "Recipe name", r.Name, MaxRecipeName, true)
	recipeText(&v, "cuisine", "Cuisine", r.Cuisine, MaxCuisine, true)
	recipeText(&v, "description", "Description", r.Description, MaxDescription, true)
	if len(r.Ingredients) == 0 {
		v.Add("ingredients", "Ingredients list cannot be empty")
	} else if len(r.Ingredients) > MaxIngredients {
		v.Add("ingredients", fmt.Sprintf("At most %d ingredients", MaxIngredients))
	}
	for i, g := range r.Ingredients {
		f := fmt.Sprintf("ingredients[%d]", i)
		recipeText(&v, f+".name", "Ingredient name", g.Name, MaxIngredientName, true)
		recipeText(&v, f+".quantity", "Quantity", g.Quantity, MaxQuantity, true)
		recipeText(&v, f+".unit", "Unit", g.Unit, MaxUnit, false)
	}
	if len(r.Instructions) == 0 {
		v.Add("instructions", "Instructions cannot be empty")
	} else if len(r.Instructions) > MaxInstructions {
		v.Add("instructions", fmt.Sprintf("At most %d instructions", MaxInstructions))
	}
	for i, s := range r.Instructions {
		recipeText(&v, fmt.Sprintf("instructions[%d]", i), "Each instruction", s, MaxInstruction, true)
	}
	if msg := checkImageURL(r.ImageURL); msg != "" {
		v.Add("imageUrl", msg)
	}
	timesOK := true
	for _, n := range []struct {
		field, label  string
		val, min, max int
	}{
		{"preparationTime", "Preparation time", r.PreparationTime, 0, MaxMinutes},
		{"cookingTime", "Cooking time", r.CookingTime, 0, MaxMinutes},
		{"totalTime", "Total time", r.TotalTime, 0, MaxTotalTime},
		{"servings", "Servings", r.Servings, 1, MaxServings},
	} {
		// A total derived from wrong parts is wrong because of them: the
		// parts are reported, not the total too.
		if n.field == "totalTime" && !timesOK {
			continue
		}
		if n.val < n.min || n.val > n.max {
			v.Add(n.field, fmt.Sprintf("%s must be between %d and %d", n.label, n.min, n.max))
			if n.field != "servings" {
				timesOK = false
			}
		}
	}
	for _, n := range []struct {
		field, label string
		val          float64
	}{{"calories", "Calories", r.Calories}, {"protein", "Protein", r.Protein},
		{"carbohydrates", "Carbohydrates", r.Carbohydrates}, {"fat", "Fat", r.Fat}} {
		if !(n.val >= 0 && n.val <= MaxNutrition) { // NaN too
			v.Add(n.field, fmt.Sprintf("%s cannot be negative or absurdly large", n.label))
		}
	}
	if d := strings.TrimSpace(r.Difficulty); d == "" {
		v.Add("difficulty", "Difficulty cannot be blank")
	} else if !slices.Contains(Difficulties, d) {
		v.Add("difficulty", "Difficulty must be EASY, MEDIUM or HARD")
	}
	if len(r.Tags) > MaxTags {
		v.Add("tags", fmt.Sprintf("You can have up to %d tags", MaxTags))
	}
	for i, t := range r.Tags {
		recipeText(&v, fmt.Sprintf("tags[%d]", i), "Each tag", t, MaxTag, true)
	}
	return v.Err()
}

// recipeText records a problem with one text field of a recipe; label
// names it in the "cannot exceed" message, as the reference's messages do
// ("Each tag cannot exceed 30 characters").
func recipeText(v *Validation, field, label, s string, limit int, required bool) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(s)); {
	case !ValidText(s):
		v.Add(field, "Must be valid UTF-8 text without NUL characters")
	case required && n == 0:
		v.Add(field, blankMessage(label))
	case n > limit:
		v.Add(field, fmt.Sprintf("%s cannot exceed %d characters", label, limit))
	}
}

// blankMessage is the reference's word for a blank required field.
func blankMessage(label string) string {
	switch label {
	case "Each instruction":
		return "Instruction cannot be blank"
	case "Each tag":
		return "Tag cannot be blank"
	}
	return label + " cannot be blank"
}

// checkImageURL checks the form of an image URL ("" is no image): an http
// or https URL, or a path on this server (how the local image store's URLs
// look). Where it may point is the kitchen's rule, which knows the image
// store and the allowed hosts.
func checkImageURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case len(raw) > MaxImageURL:
		return fmt.Sprintf("Image URL cannot exceed %d characters", MaxImageURL)
	case err != nil:
		return "Image URL must be a valid URL"
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
		return ""
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "Image URL must be a valid URL"
	}
	return ""
}
