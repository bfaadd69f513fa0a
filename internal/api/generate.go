package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/kitchen"
)

// ingredientInput is an ingredient sent as a bare name ("tomato") or as an
// object ({"name","quantity","unit"}): older clients send the one, newer the
// other.
type ingredientInput mealsync.Ingredient

// UnmarshalJSON implements json.Unmarshaler.
func (in *ingredientInput) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		return json.Unmarshal(b, &in.Name)
	}
	var obj ingredientRequest
	if err := json.Unmarshal(b, &obj); err != nil {
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[ingredientInput]()}
	}
	*in = ingredientInput{Name: obj.Name, Quantity: obj.Quantity, Unit: obj.Unit}
	return nil
}

func checkIngredients(v *mealsync.Validation, list []ingredientInput) {
	switch {
	case list == nil:
		v.Add("ingredients", "Ingredients list cannot be null")
	case len(list) == 0:
		v.Add("ingredients", "Ingredients list cannot be empty")
	case len(list) > mealsync.MaxIngredients:
		v.Add("ingredients", fmt.Sprintf("At most %d ingredients", mealsync.MaxIngredients))
	}
	for i, in := range list {
		f := fmt.Sprintf("ingredients[%d]", i)
		switch n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); {
		case n == 0:
			v.Add(f+".name", "Ingredient name cannot be blank")
		case n > mealsync.MaxIngredientName:
			v.Add(f+".name", fmt.Sprintf("Ingredient name cannot exceed %d characters", mealsync.MaxIngredientName))
		}
		if len(in.Quantity) > mealsync.MaxQuantity || len(in.Unit) > mealsync.MaxUnit {
			v.Add(f, fmt.Sprintf("Quantity and unit cannot exceed %d characters", mealsync.MaxQuantity))
		}
	}
}

func toIngredients(list []ingredientInput) []mealsync.Ingredient {
	out := make([]mealsync.Ingredient, len(list))
	for i, in := range list {
		out[i] = mealsync.Ingredient{Name: strings.TrimSpace(in.Name), Quantity: strings.TrimSpace(in.Quantity), Unit: strings.TrimSpace(in.Unit)}
	}
	return out
}

// generateRequest is the body of POST /recipes/generate-recipes.
type generateRequest struct {
	Ingredients    []ingredientInput  `json:"ingredients"`
	UserPreference *preferenceRequest `json:"userPreference"` // absent: the user's stored preferences
}

func (r generateRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	checkIngredients(&v, r.Ingredients)
	if r.UserPreference != nil {
		r.UserPreference.checkLists(&v, "userPreference.")
	}
	return v
}

// POST /api/v1/recipes/generate-recipes
func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, err := decode[generateRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	prefs := me.Preferences
	if req.UserPreference != nil {
		prefs = mealsync.Preferences{}
		req.UserPreference.apply(&prefs)
	}
	recipes, err := s.kitchen.Generate(r.Context(), me, mealsync.GenerateRequest{Ingredients: toIngredients(req.Ingredients), Preferences: prefs})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toRecipeDTOs(recipes))
}

// validateIngredientsRequest is the body of POST /recipes/validate-ingredients.
type validateIngredientsRequest struct {
	Ingredients []ingredientInput `json:"ingredients"`
}

func (r validateIngredientsRequest) Valid() mealsync.Validation {
	var v mealsync.Validation
	checkIngredients(&v, r.Ingredients)
	return v
}

// POST /api/v1/recipes/validate-ingredients: the list cleaned up — names
// trimmed and normalised, the same ingredient in the same unit given once.
func (s *Server) handleValidateIngredients(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	req, err := decode[validateIngredientsRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toIngredientDTOs(kitchen.CleanIngredients(toIngredients(req.Ingredients))))
}

// readImage reads the multipart part named "image", at most MaxUploadBytes.
// Another Content-Type (JSON, none) is 415, as decode answers a JSON
// endpoint sent something else.
func readImage(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+64<<10) // room for the multipart framing
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return nil, mealsync.Errorf(mealsync.EUNSUPPORTED, "Content-Type must be multipart/form-data, with the image in a part named image")
	}
	if err != nil {
		return nil, fieldError("image", "Send the image as multipart/form-data in a part named image")
	}
	for {
		p, err := mr.NextPart()
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return nil, mealsync.Errorf(mealsync.ETOOLARGE, "The image exceeds %d MB", MaxUploadBytes>>20)
		case err == io.EOF:
			return nil, fieldError("image", "The multipart body has no part named image")
		case err != nil:
			return nil, fieldError("image", "The multipart body is malformed")
		}
		if p.FormName() != "image" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, MaxUploadBytes+1))
		if errors.As(err, &tooBig) || len(data) > MaxUploadBytes {
			return nil, mealsync.Errorf(mealsync.ETOOLARGE, "The image exceeds %d MB", MaxUploadBytes>>20)
		}
		if err != nil {
			return nil, fieldError("image", "The image part could not be read")
		}
		return data, nil
	}
}

// detect reads an uploaded photo and asks the provider what is in it.
func (s *Server) detect(w http.ResponseWriter, r *http.Request) ([]mealsync.Ingredient, error) {
	data, err := readImage(w, r)
	if err != nil {
		return nil, err
	}
	return s.kitchen.DetectIngredients(r.Context(), data)
}

// POST /api/v1/recipes/detect-ingredients (multipart, part "image")
func (s *Server) handleDetectIngredients(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	found, err := s.detect(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toIngredientDTOs(found))
}

// POST /api/v1/ingredient-recognition/detect — the old endpoint: names only.
func (s *Server) handleDetectIngredientNames(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	found, err := s.detect(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.Name
	}
	respond(w, http.StatusOK, names)
}

// GET /api/v1/recipes/recommended?limit= (default 6)
func (s *Server) handleRecommended(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	q := query{q: r.URL.Query()}
	limit := q.int("limit", 6, 1, maxPageLimit)
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	recipes, err := s.kitchen.Recommend(r.Context(), me, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toRecipeDTOs(recipes))
}

// GET /api/v1/recipes/today-picks: two recommendations that change daily.
func (s *Server) handleTodayPicks(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	recipes, err := s.kitchen.TodayPicks(r.Context(), me, 2)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toRecipeDTOs(recipes))
}

// POST /api/v1/recipes/{id}/image (admin; multipart, part "image")
func (s *Server) handleUploadImage(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data, err := readImage(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.kitchen.SetImage(r.Context(), id, data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toRecipeDTO(rec))
}
