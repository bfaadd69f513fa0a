package api_test

import (
	"context"
	"image/color"
	"slices"
	"strings"
	"testing"

	"github.com/mealsync/mealsync"
)

// Every endpoint that reads a JSON body answers 415 when the body is not
// declared JSON: no Content-Type at all, or another type (what an HTML form
// or a cross-site "simple" request sends). application/json with
// parameters and +json types are read. The multipart endpoints answer a
// body that is not multipart/form-data the same way.
func TestBodiesMustDeclareTheirMediaType(t *testing.T) {
	e := sqliteEnv(t)
	u := e.newUser("media@example.com")
	admin := e.newAdmin("media-admin@example.com")
	// Refreshed twice below (a reuse, which ends its user's sessions): a user
	// of its own, so u's token stays good.
	refresher := e.newUser("media-refresh@example.com")
	recipe := createRecipe(t, e, u.token, recipeBody("Typed Stew"))["id"].(string)
	save := map[string]any{"userId": u.id, "recipeId": recipe}
	json := []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/api/v1/users/register", "", map[string]any{"email": "typed@example.com", "password": "correct horse 1", "name": "Typed"}},
		{"POST", "/api/v1/users/login", "", map[string]any{"email": u.email, "password": "correct horse 1"}},
		{"POST", "/api/v1/users/refresh", "", map[string]any{"refreshToken": refresher.refresh}},
		{"PUT", "/api/v1/users/" + u.id, u.token, map[string]any{"name": "Renamed"}},
		{"PUT", "/api/v1/users/" + u.id + "/preference", u.token, map[string]any{"favoriteCuisines": []string{"Thai"}}},
		{"POST", "/api/v1/recipes", u.token, recipeBody("Typed Curry")},
		{"PUT", "/api/v1/recipes/" + recipe, admin.token, recipeBody("Typed Stew")},
		{"POST", "/api/v1/recipes/save", u.token, save},
		{"DELETE", "/api/v1/recipes/save", u.token, save},
		{"POST", "/api/v1/recipes/generate-recipes", u.token, map[string]any{"ingredients": []string{"tofu", "rice"}}},
		{"POST", "/api/v1/recipes/validate-ingredients", u.token, map[string]any{"ingredients": []string{"tofu"}}},
		{"POST", "/api/v1/meal-plans", u.token, map[string]any{"startDate": "2026-12-07", "numberOfDays": 1, "mealsPerDay": 1}},
	}
	refused := []string{"", "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x", "application/jsonp", "json", "application/json; charset"}
	for _, c := range json {
		for _, ct := range refused { // "": no Content-Type header at all
			r := e.expect(e.do(c.method, c.path, c.token, c.body, "Content-Type", ct), 415)
			if got := r.errors(); !slices.Equal(got, []string{"Content-Type: Content-Type must be application/json"}) {
				t.Errorf("%s %s as %q: errors %q", c.method, c.path, ct, got)
			}
		}
	}
	// Nothing refused was read: no account was made.
	if _, err := e.db.UserByEmail(context.Background(), "typed@example.com"); mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
		t.Fatalf("after refused registrations: %v, want not found", err)
	}
	for _, c := range json {
		// Declared JSON, the body is read: whatever the answer, it is not 415.
		for _, ct := range []string{"application/json; charset=utf-8", "application/vnd.mealsync+json"} {
			if r := e.do(c.method, c.path, c.token, c.body, "Content-Type", ct); r.status == 415 {
				t.Errorf("%s %s as %q: 415 %s", c.method, c.path, ct, r.raw)
			}
		}
	}
	e.expect(e.do("POST", "/api/v1/users/login", "", map[string]any{"email": "typed@example.com", "password": "correct horse 1"}), 200)

	pic := pngImage(t, 2, 2, color.White)
	for _, c := range []struct{ path, token string }{
		{"/api/v1/recipes/" + recipe + "/image", admin.token},
		{"/api/v1/recipes/detect-ingredients", u.token},
		{"/api/v1/ingredient-recognition/detect", u.token},
	} {
		for _, ct := range []string{"", "application/json", "image/png", "application/x-www-form-urlencoded"} {
			r := e.expect(e.do("POST", c.path, c.token, pic, "Content-Type", ct), 415)
			if got := r.errors(); len(got) != 1 || !strings.HasPrefix(got[0], "Content-Type: Content-Type must be multipart/form-data") {
				t.Errorf("POST %s as %q: errors %q", c.path, ct, got)
			}
		}
	}
}
