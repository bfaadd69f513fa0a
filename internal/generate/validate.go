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

// Limits on what a model may return beyond a recipe's own
// (mealsync.Recipe.Validate, the limits of a recipe created through the API).
const (
	maxKeyLen   = 255 // the stored ingredient key
	maxDetected = 50  // ingredients detected in one photo
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

// recipeFromAI decodes and validates one recipe: the domain's rules
// (mealsync.Recipe.Validate), and that the model gave every number and a
// name with an ingredient key. The error lists every problem, as mealsync
// field errors named after the JSON fields.
func recipeFromAI(raw json.RawMessage) (*mealsync.Recipe, error) {
	var a aiRecipe
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var v mealsync.Validation
	r := &mealsync.Recipe{
		Name: strings.TrimSpace(a.Name), Description: strings.TrimSpace(a.Description),
		Cuisine: strings.TrimSpace(a.Cuisine), Difficulty: strings.ToUpper(strings.TrimSpace(a.Difficulty)),
		PreparationTime: count(&v, "preparationTime", a.PreparationTime),
		CookingTime:     count(&v, "cookingTime", a.CookingTime),
		Servings:        count(&v, "servings", a.Servings),
		Calories:        amount(&v, "calories", a.Calories),
		Protein:         amount(&v, "protein", a.Protein),
		Carbohydrates:   amount(&v, "carbohydrates", a.Carbohydrates),
		Fat:             amount(&v, "fat", a.Fat),
		Tags:            normalizeTags(a.Tags),
		Source:          SourceOpenAI,
	}
	r.TotalTime = r.PreparationTime + r.CookingTime
	r.IngredientKey = ranking.IngredientKey(r.Name)
	if r.Name != "" && (r.IngredientKey == "" || len(r.IngredientKey) > maxKeyLen) {
		v.Add("name", "has no letters or digits for an ingredient key")
	}
	for _, in := range a.Ingredients {
		ing := mealsync.Ingredient{Name: strings.TrimSpace(in.Name), Quantity: strings.TrimSpace(in.Quantity), Unit: strings.TrimSpace(in.Unit)}
		if ing.Quantity == "" {
			ing.Quantity = "to taste"
		}
		r.Ingredients = append(r.Ingredients, ing)
	}
	for _, s := range a.Instructions {
		r.Instructions = append(r.Instructions, strings.TrimSpace(s))
	}
	v.Include("", r.Validate())
	if err := v.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// ingredientFromAI trims a detected ingredient and reports whether it is
// one a recipe could hold (the limits of mealsync.Recipe.Validate).
func ingredientFromAI(in aiIngredient) (mealsync.Ingredient, bool) {
	ing := mealsync.Ingredient{Name: strings.TrimSpace(in.Name), Quantity: strings.TrimSpace(in.Quantity), Unit: strings.TrimSpace(in.Unit)}
	for _, f := range []struct {
		s     string
		limit int
	}{{ing.Name, mealsync.MaxIngredientName}, {ing.Quantity, mealsync.MaxQuantity}, {ing.Unit, mealsync.MaxUnit}} {
		if !mealsync.ValidText(f.s) || utf8.RuneCountInString(f.s) > f.limit {
			return ing, false
		}
	}
	return ing, ing.Name != ""
}

// count reads a number the model must give.
func count(v *mealsync.Validation, field string, n *int) int {
	if n == nil {
		v.Add(field, "is required")
		return 0
	}
	return *n
}

func amount(v *mealsync.Validation, field string, x *float64) float64 {
	if x == nil {
		v.Add(field, "is required")
		return 0
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
