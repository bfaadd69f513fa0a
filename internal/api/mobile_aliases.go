package api

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mealsync/mealsync"
)

// The released mobile app calls two paths the reference does not have
// (docs/API.md, "What the released mobile client calls"). Each stands on the
// endpoint it mirrors, with the same authorisation, limits and checks;
// contract_test.go pins every call the app makes.

// GET /api/v1/saved?offset=&limit= — the app's saved tab: the caller's
// saved recipes, newest first, as GET /recipes/saved lists them, but each
// item the RecipeReadDto the app reads (GET /recipes/saved answers
// UserRecipeReadDto, the reference's shape, which the app cannot show).
func (s *Server) handleMobileSaved(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	q := query{q: r.URL.Query()}
	offset, limit := q.page(6)
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.recipes.UserRecipes(r.Context(), me.ID, mealsync.RecipeSaved, offset, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPageDTO(page, func(sr *mealsync.SavedRecipe) recipeDTO { return toRecipeDTO(sr.Recipe) }))
}

// maxIngredientText bounds the text the app sends to be split into
// ingredients: room for maxIngredients names of ordinary length.
const maxIngredientText = 2000

// textIngredientsRequest is the body of POST
// /recipes/detect-ingredients-from-text.
type textIngredientsRequest struct {
	TextInput *string `json:"textInput"`
}

func (r textIngredientsRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	if r.TextInput == nil {
		v.Add("textInput", "Text is required")
		return v
	}
	if utf8.RuneCountInString(*r.TextInput) > maxIngredientText {
		v.Add("textInput", fmt.Sprintf("Text cannot exceed %d characters", maxIngredientText))
		return v
	}
	names := splitIngredientText(*r.TextInput)
	switch {
	case len(names) == 0:
		v.Add("textInput", "Text names no ingredient")
	case len(names) > maxIngredients:
		v.Add("textInput", fmt.Sprintf("At most %d ingredients", maxIngredients))
	}
	for _, n := range names {
		if utf8.RuneCountInString(n) > maxIngredientName {
			v.Add("textInput", fmt.Sprintf("Ingredient name cannot exceed %d characters", maxIngredientName))
			break
		}
	}
	return v
}

// splitIngredientText cuts what a user typed into ingredient names at
// commas, semicolons and line breaks, trimmed, blanks dropped, each name
// once (the first spelling of names that differ only in case).
func splitIngredientText(text string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' }) {
		name := strings.TrimSpace(f)
		if k := strings.ToLower(name); name != "" && !seen[k] {
			seen[k] = true
			out = append(out, name)
		}
	}
	return out
}

// textIngredientsDTO is the envelope with the success flag the app's type
// for this answer names.
type textIngredientsDTO struct {
	Success bool        `json:"success"`
	Data    []string    `json:"data"`
	Errors  []errorItem `json:"errors"`
}

// POST /api/v1/recipes/detect-ingredients-from-text {textInput} — the
// ingredient names in a typed list, as the app's text entry sends it; the
// names go on to generate-recipes as the photo's do.
func (s *Server) handleIngredientsFromText(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	req, err := decode[textIngredientsRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, textIngredientsDTO{Success: true, Data: splitIngredientText(*req.TextInput)})
}
