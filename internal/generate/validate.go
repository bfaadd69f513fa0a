package generate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// Limits on what a model may return, those of a recipe created through the
// API (the reference's RecipeCreateDto) plus bounds on list sizes.
const (
	maxNameLen        = 100
	maxDescriptionLen = 500
	maxCuisineLen     = 50
	maxKeyLen         = 255
	maxIngredients    = 50
	maxInstructions   = 30
	maxInstructionLen = 1000
	maxTags           = 10
	maxTagLen         = 30
	maxQuantityLen    = 50
	maxUnitLen        = 50
	maxDetected       = 50
)

// SourceOpenAI is the Source of recipes the OpenAI provider writes.
const SourceOpenAI = "openai"

// aiRecipe is a recipe as the model writes it. Numbers are pointers so that
// a missing one is told apart from a zero.
type aiRecipe struct {
	Name            string         `json:"name"`
	Description     string         `json:"description"`
	Cuisine         string         `json:"cuisine"`
	Difficulty      string         `json:"difficulty"`
	PreparationTime *int           `json:"preparationTime"`
	CookingTime     *int           `json:"cookingTime"`
	Servings        *int           `json:"servings"`
	Calories        *float64       `json:"calories"`
	Protein         *float64       `json:"protein"`
	Carbohydrates   *float64       `json:"carbohydrates"`
	Fat             *float64       `json:"fat"`
	Ingredients     []aiIngredient `json:"ingredients"`
	Instructions    []string       `json:"instructions"`
	Tags            []string       `json:"tags"`
}

type aiIngredient struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
}

// errUnparseable: the reply is not the JSON object the schema asked for.
var errUnparseable = errors.New("reply is not the requested JSON")

// decodeList reads {"<field>": [ … ]} from a model's reply and returns the
// list's items undecoded, so that one bad item does not sink the others.
// A Markdown code fence around the JSON, which some servers add, is removed.
func decodeList(content, field string) ([]json.RawMessage, error) {
	content = strings.TrimSpace(content)
	if strings.HasPrefix(content, "```") {
		content = strings.TrimPrefix(strings.TrimPrefix(content, "```json"), "```")
		content = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(content), "```"))
	}
	var reply map[string]json.RawMessage
	if err := json.Unmarshal([]byte(content), &reply); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnparseable, err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(reply[field], &items); err != nil || items == nil {
		return nil, fmt.Errorf("%w: no %q list", errUnparseable, field)
	}
	return items, nil
}

// recipeFromAI decodes and validates one recipe. The error lists every
// problem, as mealsync field errors named after the JSON fields.
func recipeFromAI(raw json.RawMessage) (*mealsync.Recipe, error) {
	var a aiRecipe
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var v mealsync.Validation
	name := text(&v, "name", a.Name, maxNameLen, true)
	key := ranking.IngredientKey(name)
	if name != "" && (key == "" || len(key) > maxKeyLen) {
		v.Add("name", "has no letters or digits for an ingredient key")
	}
	description := text(&v, "description", a.Description, maxDescriptionLen, true)
	cuisine := text(&v, "cuisine", a.Cuisine, maxCuisineLen, true)
	difficulty := strings.ToUpper(strings.TrimSpace(a.Difficulty))
	if !slices.Contains(mealsync.Difficulties, difficulty) {
		v.Add("difficulty", "must be EASY, MEDIUM or HARD")
	}
	prep := count(&v, "preparationTime", a.PreparationTime, 0)
	cook := count(&v, "cookingTime", a.CookingTime, 0)
	servings := count(&v, "servings", a.Servings, 1)
	calories := amount(&v, "calories", a.Calories)
	protein := amount(&v, "protein", a.Protein)
	carbs := amount(&v, "carbohydrates", a.Carbohydrates)
	fat := amount(&v, "fat", a.Fat)

	if n := len(a.Ingredients); n < 1 || n > maxIngredients {
		v.Add("ingredients", fmt.Sprintf("must have 1 to %d items", maxIngredients))
	}
	ings := make([]mealsync.Ingredient, 0, len(a.Ingredients))
	for i, in := range a.Ingredients {
		ing, ok := ingredientFromAI(&v, fmt.Sprintf("ingredients[%d]", i), in)
		if ok && ing.Quantity == "" {
			ing.Quantity = "to taste"
		}
		ings = append(ings, ing)
	}
	if n := len(a.Instructions); n < 1 || n > maxInstructions {
		v.Add("instructions", fmt.Sprintf("must have 1 to %d steps", maxInstructions))
	}
	steps := make([]string, len(a.Instructions))
	for i, s := range a.Instructions {
		steps[i] = text(&v, fmt.Sprintf("instructions[%d]", i), s, maxInstructionLen, true)
	}
	tags := normalizeTags(a.Tags)
	if len(tags) > maxTags {
		v.Add("tags", fmt.Sprintf("must have at most %d tags", maxTags))
	}
	for i, t := range tags {
		if !mealsync.ValidText(t) {
			v.Add(fmt.Sprintf("tags[%d]", i), "must be UTF-8 text without NUL characters")
		}
		if utf8.RuneCountInString(t) > maxTagLen {
			v.Add(fmt.Sprintf("tags[%d]", i), fmt.Sprintf("must be at most %d characters", maxTagLen))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &mealsync.Recipe{
		Name: name, Description: description, Cuisine: cuisine, Difficulty: difficulty,
		Ingredients: ings, Instructions: steps, Tags: tags, IngredientKey: key,
		PreparationTime: prep, CookingTime: cook, TotalTime: prep + cook, Servings: servings,
		Calories: calories, Protein: protein, Carbohydrates: carbs, Fat: fat,
		Source: SourceOpenAI,
	}, nil
}

// ingredientFromAI validates one ingredient line; ok is false when it has a
// problem (recorded in v).
func ingredientFromAI(v *mealsync.Validation, field string, in aiIngredient) (ing mealsync.Ingredient, ok bool) {
	before := len(*v)
	ing = mealsync.Ingredient{
		Name:     text(v, field+".name", in.Name, maxNameLen, true),
		Quantity: text(v, field+".quantity", in.Quantity, maxQuantityLen, false),
		Unit:     text(v, field+".unit", in.Unit, maxUnitLen, false),
	}
	return ing, len(*v) == before
}

// text trims s and checks it is present (when required) and not too long.
func text(v *mealsync.Validation, field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	switch {
	case !mealsync.ValidText(s): // a store must never see it (PostgreSQL refuses it)
		v.Add(field, "must be UTF-8 text without NUL characters")
	case required && s == "":
		v.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		v.Add(field, fmt.Sprintf("must be at most %d characters", max))
	}
	return s
}

func count(v *mealsync.Validation, field string, n *int, min int) int {
	switch {
	case n == nil:
		v.Add(field, "is required")
		return 0
	case *n < min:
		v.Add(field, fmt.Sprintf("must be at least %d", min))
	}
	return *n
}

func amount(v *mealsync.Validation, field string, x *float64) float64 {
	switch {
	case x == nil:
		v.Add(field, "is required")
		return 0
	case *x < 0:
		v.Add(field, "must not be negative")
	}
	return *x
}

// normalizeTags writes tags as the catalogue does — lower case, words joined
// by "-" ("Gluten Free" → "gluten-free") — and drops blanks and repeats.
func normalizeTags(tags []string) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.Join(strings.Fields(strings.ToLower(t)), "-")
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// problems summarises a validation error for a log line: field names and
// messages only, never the model's text.
func problems(err error) string {
	var e *mealsync.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err.Error()
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return strings.Join(parts, "; ")
}
