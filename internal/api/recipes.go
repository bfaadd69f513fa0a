package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

func recipeNotFound(id string) error {
	return mealsync.Errorf(mealsync.ENOTFOUND, "Recipe not found with id: %s", id)
}

func userNotFound(id string) error {
	return mealsync.Errorf(mealsync.ENOTFOUND, "User not found with id: %s", id)
}

// GET /api/v1/recipes — public: the catalogue, filtered and paged. A
// caller who sends a token sees their own private recipes in it too;
// published=true|false keeps only the catalogue or only private recipes
// (every user's, for an admin). query is the released mobile app's name for
// the name search; name wins when both are sent.
func (s *Server) handleListRecipes(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	q := query{q: r.URL.Query()}
	nameParam := "name"
	if !q.q.Has("name") && q.q.Has("query") {
		nameParam = "query"
	}
	f := mealsync.RecipeFilter{
		Viewer:       mealsync.ViewerOf(me),
		Published:    q.optBool("published"),
		Name:         q.q.Get(nameParam),
		Cuisines:     q.list("cuisines"),
		Tags:         q.list("tags"),
		Ingredients:  q.list("ingredients"),
		Difficulty:   q.difficulty("difficulty"),
		MaxTotalTime: q.optInt("maxTotalTime", 0, maxMinutes),
		MinServings:  q.optInt("minServings", 1, maxServings),
	}
	f.Offset, f.Limit = q.page(20)
	if utf8.RuneCountInString(f.Name) > maxRecipeName { // characters, as recipe names are counted
		q.v.Add(nameParam, "Name filter cannot exceed 100 characters")
	}
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	// The answer depends on the token: no shared cache may hand one
	// caller's list to another.
	w.Header().Add("Vary", "Authorization") // Add: CORS may have set Vary: Origin
	var version int64
	shared := false
	if s.listCache != nil {
		var err error
		if version, err = s.listCache.currentVersion(r.Context()); err != nil {
			s.fail(w, r, err)
			return
		}
		if f, shared, err = s.listCache.catalogueFilter(r.Context(), version, f); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if !shared {
		page, err := s.recipes.ListRecipes(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toPageDTO(page, toRecipeDTO))
		return
	}
	key := listKey(f)
	tag := etag(version, key)
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache") // revalidate with If-None-Match
	if r.Header.Get("If-None-Match") == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	cacheKey := fmt.Sprint(version, "|", key)
	body, ok := s.listCache.pages.Get(cacheKey)
	if !ok {
		page, err := s.recipes.ListRecipes(r.Context(), f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if body, err = json.Marshal(toPageDTO(page, toRecipeDTO)); err != nil {
			s.fail(w, r, err)
			return
		}
		body = append(body, '\n')
		s.listCache.pages.Add(cacheKey, body)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// truthfulTags refuses diet tags the recipe's own ingredients break (a
// "vegan" recipe with honey): recommendations trust the tags, so a false one
// would put the recipe before people who cannot eat it.
func truthfulTags(rec *mealsync.Recipe) error {
	var v mealsync.Validation
	for _, t := range ranking.ContradictedTags(rec) {
		v.Add("tags", fmt.Sprintf("The ingredients contradict the tag %q", t))
	}
	return v.Err()
}

// GET /api/v1/recipes/{id} — a catalogue recipe, or the caller's own
// private one (any, for an admin).
func (s *Server) handleGetRecipe(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.kitchen.Recipe(r.Context(), me, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toRecipeDTO(rec))
}

// POST /api/v1/recipes — a user's recipe, private to them; an admin's goes
// straight into the catalogue.
func (s *Server) handleCreateRecipe(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, err := decode[recipeRequest](r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec := &mealsync.Recipe{}
	req.apply(rec)
	if err := truthfulTags(rec); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.kitchen.CreateRecipe(r.Context(), me, rec); err != nil {
		s.fail(w, r, err)
		return
	}
	s.listCache.invalidate()
	respond(w, http.StatusCreated, toRecipeDTO(rec))
}

// PUT /api/v1/recipes/{id} — an admin, or the owner of a private recipe.
func (s *Server) handleUpdateRecipe(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.kitchen.UpdateRecipe(r.Context(), me, id, func(rec *mealsync.Recipe) error {
		req, err := decode[recipeRequest](r)
		if err != nil {
			return err
		}
		req.apply(rec)
		return truthfulTags(rec)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.listCache.invalidate()
	respond(w, http.StatusOK, toRecipeDTO(rec))
}

// DELETE /api/v1/recipes/{id} — an admin, or the owner of a private recipe.
func (s *Server) handleDeleteRecipe(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.kitchen.DeleteRecipe(r.Context(), me, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.listCache.invalidate()
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/v1/recipes/{id}/publish (admin) — into the shared catalogue.
func (s *Server) handlePublishRecipe(w http.ResponseWriter, r *http.Request, _ *mealsync.User) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.kitchen.PublishRecipe(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.listCache.invalidate()
	respond(w, http.StatusOK, toRecipeDTO(rec))
}

// saveTarget checks a save body: the self-or-admin rule on userId, then the
// recipe (404 first, as the old server did, also for a private recipe the
// caller may not see), then the user.
func (s *Server) saveTarget(r *http.Request, me *mealsync.User) (saveRequest, *mealsync.User, error) {
	req, err := decode[saveRequest](r)
	if err != nil {
		return req, nil, err
	}
	if !me.CanAccess(req.UserID) {
		return req, nil, errAccessDenied
	}
	if _, err := s.kitchen.Recipe(r.Context(), me, req.RecipeID); err != nil {
		return req, nil, err
	}
	if req.UserID == me.ID {
		return req, me, nil
	}
	u, err := s.users.UserByID(r.Context(), req.UserID)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		err = userNotFound(req.UserID)
	}
	return req, u, err
}

// POST /api/v1/recipes/save (self or admin, by body userId) — idempotent.
func (s *Server) handleSaveRecipe(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, u, err := s.saveTarget(r, me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	saved, err := s.recipes.SaveRecipe(r.Context(), &mealsync.SavedRecipe{
		ID: uuid.NewString(), UserID: u.ID, Recipe: &mealsync.Recipe{ID: req.RecipeID},
		Type: mealsync.RecipeSaved, SavedAt: s.now(),
	})
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		// The user exists (saveTarget said so): the recipe is another
		// user's private one, which an admin saw but u may not keep.
		err = recipeNotFound(req.RecipeID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	respond(w, http.StatusOK, toUserRecipeDTO(saved, u))
}

// DELETE /api/v1/recipes/save (self or admin, by body userId)
func (s *Server) handleUnsaveRecipe(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	req, u, err := s.saveTarget(r, me)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.recipes.UnsaveRecipe(r.Context(), u.ID, req.RecipeID, mealsync.RecipeSaved)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		err = mealsync.Errorf(mealsync.ENOTFOUND, "Saved recipe not found for user")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v1/recipes/saved?offset=&limit= — the caller's saved recipes.
func (s *Server) handleSavedRecipes(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	s.userRecipes(w, r, me, mealsync.RecipeSaved)
}

// GET /api/v1/recipes/recent?offset=&limit= — recipes generated for the
// caller, newest first.
func (s *Server) handleRecentRecipes(w http.ResponseWriter, r *http.Request, me *mealsync.User) {
	s.userRecipes(w, r, me, mealsync.RecipeGenerated)
}

func (s *Server) userRecipes(w http.ResponseWriter, r *http.Request, me *mealsync.User, kind string) {
	q := query{q: r.URL.Query()}
	offset, limit := q.page(6)
	if err := q.v.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	page, err := s.recipes.UserRecipes(r.Context(), me.ID, kind, offset, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if kind == mealsync.RecipeSaved {
		writeJSON(w, http.StatusOK, toPageDTO(page, func(sr *mealsync.SavedRecipe) userRecipeDTO { return toUserRecipeDTO(sr, me) }))
		return
	}
	writeJSON(w, http.StatusOK, toPageDTO(page, func(sr *mealsync.SavedRecipe) recipeDTO { return toRecipeDTO(sr.Recipe) }))
}
