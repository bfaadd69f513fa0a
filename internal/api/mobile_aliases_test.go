package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The mobile app's own paths keep the checks of what they stand for: a
// token, the paging limits, the caller's own saved recipes only, and clear
// 400s for text that cannot be a list of ingredients.
func TestMobileAliasesCheckTheirInput(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		seedCatalog(t, e)
		ana, bo := e.newUser("ana@example.com"), e.newUser("bo@example.com")
		recipe := dataItems(t, listRecipes(t, e, "limit=2"))
		e.expect(e.do("POST", "/api/v1/recipes/save", bo.token, map[string]any{"userId": bo.id, "recipeId": recipe[0]["id"]}), 200)

		// GET /saved: the caller's own, paged like /recipes/saved.
		e.expect(e.do("GET", "/api/v1/saved", "", nil), 401)
		checkPage(t, e.expect(e.do("GET", "/api/v1/saved", ana.token, nil), 200), 0, 6, 0, false)
		bos := e.expect(e.do("GET", "/api/v1/saved?offset=0&limit=4", bo.token, nil), 200)
		checkPage(t, bos, 0, 4, 1, false)
		if ids := idsOf(dataItems(t, bos)); !slices.Equal(ids, []string{recipe[0]["id"].(string)}) {
			t.Fatalf("bo's saved tab: %v", ids)
		}
		r := e.expect(e.do("GET", "/api/v1/saved?offset=-1&limit=0", ana.token, nil), 400)
		if got := r.errors(); !slices.Equal(got, []string{"offset: Must be at least 0", "limit: Must be at least 1"}) {
			t.Fatalf("bad page: %v", got)
		}

		// POST /recipes/detect-ingredients-from-text.
		path := "/api/v1/recipes/detect-ingredients-from-text"
		e.expect(e.do("POST", path, "", map[string]any{"textInput": "egg"}), 401)
		for _, c := range []struct {
			body any
			want string
		}{
			{map[string]any{}, "textInput: Text is required"},
			{map[string]any{"textInput": nil}, "textInput: Text is required"},
			{map[string]any{"textInput": ""}, "textInput: Text names no ingredient"},
			{map[string]any{"textInput": " \n, ;"}, "textInput: Text names no ingredient"},
			{map[string]any{"textInput": strings.Repeat("é", 2001)}, "textInput: Text cannot exceed 2000 characters"},
			{map[string]any{"textInput": manyNames(51)}, "textInput: At most 50 ingredients"},
			{map[string]any{"textInput": "egg, " + strings.Repeat("x", 101)}, "textInput: Ingredient name cannot exceed 100 characters"},
			{map[string]any{"textInput": "egg\x00"}, "textInput: Must be valid UTF-8 text without NUL characters"},
			{map[string]any{"textInput": []string{"egg"}}, ""},
		} {
			r := e.expect(e.do("POST", path, ana.token, c.body), 400)
			if got := r.errors(); c.want != "" && !slices.Equal(got, []string{c.want}) {
				t.Errorf("%v: %v, want %s", c.body, got, c.want)
			}
		}
		// Blank pieces and repeats (in any case) drop out; the first spelling stays.
		r = e.expect(e.do("POST", path, ana.token, map[string]any{"textInput": "Eggs;; eggs ,\r\n spring onion,\tEGGS"}), 200)
		if got := strs(r.body["data"]); !slices.Equal(got, []string{"Eggs", "spring onion"}) || r.body["success"] != true || r.body["errors"] != nil {
			t.Fatalf("split: %s", r.raw)
		}
	})
}

// manyNames is a text of n different ingredient names.
func manyNames(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("spice %d", i)
	}
	return strings.Join(names, ", ")
}
