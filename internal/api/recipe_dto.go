package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mealsync/mealsync"
)

// Double prints like Java's Double: always with a decimal point (450.0).
type Double float64

// MarshalJSON implements json.Marshaler.
func (d Double) MarshalJSON() ([]byte, error) {
	s := strconv.FormatFloat(float64(d), 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

// LocalDateTime prints a time without zone, as the old server's savedAt
// (a Java LocalDateTime). MealSync's clock is UTC.
type LocalDateTime time.Time

// MarshalJSON implements json.Marshaler.
func (t LocalDateTime) MarshalJSON() ([]byte, error) {
	b, _ := Instant(t).MarshalJSON()
	return append(b[:len(b)-2], '"'), nil // drop the Z
}

type ingredientDTO struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
}

// recipeDTO is the reference's RecipeReadDto, fields in its order.
type recipeDTO struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Ingredients     []ingredientDTO `json:"ingredients"`
	Instructions    []string        `json:"instructions"`
	Cuisine         string          `json:"cuisine"`
	ImageURL        *string         `json:"imageUrl"`
	IngredientKey   string          `json:"ingredientKey"`
	Description     string          `json:"description"`
	PreparationTime int             `json:"preparationTime"`
	CookingTime     int             `json:"cookingTime"`
	TotalTime       int             `json:"totalTime"`
	Servings        int             `json:"servings"`
	Calories        Double          `json:"calories"`
	Protein         Double          `json:"protein"`
	Carbohydrates   Double          `json:"carbohydrates"`
	Fat             Double          `json:"fat"`
	Difficulty      string          `json:"difficulty"`
	Tags            []string        `json:"tags"`
	Source          string          `json:"source"`
	CreatedAt       Instant         `json:"createdAt"`
	UpdatedAt       *Instant        `json:"updatedAt"`
}

func toIngredientDTOs(in []mealsync.Ingredient) []ingredientDTO {
	out := make([]ingredientDTO, len(in))
	for i, g := range in {
		out[i] = ingredientDTO{g.Name, g.Quantity, g.Unit}
	}
	return out
}

func toRecipeDTO(r *mealsync.Recipe) recipeDTO {
	d := recipeDTO{
		ID: r.ID, Name: r.Name, Ingredients: toIngredientDTOs(r.Ingredients),
		Instructions: nonNil(r.Instructions), Cuisine: r.Cuisine, IngredientKey: r.IngredientKey,
		Description: r.Description, PreparationTime: r.PreparationTime, CookingTime: r.CookingTime,
		TotalTime: r.TotalTime, Servings: r.Servings, Calories: Double(r.Calories), Protein: Double(r.Protein),
		Carbohydrates: Double(r.Carbohydrates), Fat: Double(r.Fat), Difficulty: r.Difficulty,
		Tags: nonNil(r.Tags), Source: r.Source, CreatedAt: Instant(r.CreatedAt),
	}
	if r.ImageURL != "" {
		d.ImageURL = &r.ImageURL
	}
	if r.UpdatedAt != nil {
		u := Instant(*r.UpdatedAt)
		d.UpdatedAt = &u
	}
	return d
}

func toRecipeDTOs(rs []*mealsync.Recipe) []recipeDTO {
	out := make([]recipeDTO, len(rs))
	for i, r := range rs {
		out[i] = toRecipeDTO(r)
	}
	return out
}

// userRecipeDTO is the reference's UserRecipeReadDto (with HEAD's type).
type userRecipeDTO struct {
	ID      string        `json:"id"`
	User    userDTO       `json:"user"`
	Recipe  recipeDTO     `json:"recipe"`
	SavedAt LocalDateTime `json:"savedAt"`
	Type    string        `json:"type"`
}

func toUserRecipeDTO(s *mealsync.SavedRecipe, u *mealsync.User) userRecipeDTO {
	return userRecipeDTO{ID: s.ID, User: toUserDTO(u), Recipe: toRecipeDTO(s.Recipe), SavedAt: LocalDateTime(s.SavedAt), Type: s.Type}
}

// pageDTO is the reference's pagination envelope. It is not wrapped in the
// success envelope: the old clients read data and the paging keys at the top.
type pageDTO[T any] struct {
	Data          []T  `json:"data"`
	Offset        int  `json:"offset"`
	Limit         int  `json:"limit"`
	TotalElements int  `json:"totalElements"`
	HasNext       bool `json:"hasNext"`
}

func toPageDTO[S, T any](p mealsync.Page[S], conv func(S) T) pageDTO[T] {
	out := pageDTO[T]{Data: make([]T, len(p.Items)), Offset: p.Offset, Limit: p.Limit, TotalElements: p.Total, HasNext: p.HasNext()}
	for i, it := range p.Items {
		out.Data[i] = conv(it)
	}
	return out
}

// --- query parameters ---

const (
	maxPageLimit = 100
	maxOffset    = 100_000 // deeper pages are a scraper, not a person
)

// query reads typed query parameters, collecting every problem.
type query struct {
	v mealsync.Validation
	q url.Values
}

func (q *query) int(name string, def, min, max int) int {
	raw := q.q.Get(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		q.v.Add(name, "Must be an integer")
	case n < min:
		q.v.Add(name, fmt.Sprintf("Must be at least %d", min))
	case n > max:
		q.v.Add(name, fmt.Sprintf("Must be at most %d", max))
	}
	return n
}

func (q *query) optBool(name string) *bool {
	var b bool
	switch q.q.Get(name) {
	case "":
		return nil
	case "true":
		b = true
	case "false":
	default:
		q.v.Add(name, "Must be true or false")
		return nil
	}
	return &b
}

func (q *query) optInt(name string, min, max int) *int {
	if q.q.Get(name) == "" {
		return nil
	}
	n := q.int(name, 0, min, max)
	return &n
}

// list accepts a,b,c in one parameter or the parameter repeated.
func (q *query) list(name string) []string {
	var out []string
	for _, raw := range q.q[name] {
		for _, it := range strings.Split(raw, ",") {
			if it = strings.TrimSpace(it); it != "" {
				if utf8.RuneCountInString(it) > maxQueryTerm {
					q.v.Add(name, fmt.Sprintf("Each entry cannot exceed %d characters", maxQueryTerm))
					return nil
				}
				out = append(out, it)
			}
		}
	}
	if len(out) > maxQueryTerms {
		q.v.Add(name, fmt.Sprintf("At most %d entries", maxQueryTerms))
	}
	return out
}

func (q *query) page(defLimit int) (offset, limit int) {
	return q.int("offset", 0, 0, maxOffset), q.int("limit", defLimit, 1, maxPageLimit)
}

func (q *query) difficulty(name string) string {
	d := strings.ToUpper(strings.TrimSpace(q.q.Get(name)))
	if d != "" && !slices.Contains(mealsync.Difficulties, d) {
		q.v.Add(name, "Must be EASY, MEDIUM or HARD")
	}
	return d
}
