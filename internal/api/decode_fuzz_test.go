package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mealsync/mealsync"
)

// FuzzDecode feeds arbitrary bodies to every request decoder. Whatever the
// bytes, the answer is a value or a client error (4xx) — never a panic and
// never an internal error.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@b.io","password":"abcdefghij1","name":"A","role":"ADMIN"}`,
		`{"dietaryRestrictions":"vegan, ,x","favoriteCuisines":["Thai"],"dislikedIngredients":null}`,
		`{"refreshToken":"x"}`, `{"name":"n","password":null}`, `[]`, `{`, `""`, `null`, `{"email":1e999}`,
		"{\"name\":\"\u0000\"}", `{"favoriteCuisines":[1,2]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(err error) {
			if err == nil {
				return
			}
			var e *mealsync.Error
			if !errors.As(err, &e) {
				t.Fatalf("not a domain error: %v", err)
			}
			if m, ok := errorStatus[e.Code]; !ok || m.status >= 500 {
				t.Fatalf("client input gave %q: %v", e.Code, err)
			}
		}
		req := func() *http.Request { return newRequest(body) }
		_, err := decode[registerRequest](req())
		check(err)
		_, err = decode[loginRequest](req())
		check(err)
		_, err = decode[refreshRequest](req())
		check(err)
		_, err = decode[updateUserRequest](req())
		check(err)
		p, err := decode[preferenceRequest](req())
		check(err)
		if err == nil {
			var prefs mealsync.Preferences
			p.apply(&prefs)
			for _, l := range [][]string{prefs.DietaryRestrictions, prefs.FavoriteCuisines, prefs.DislikedIngredients} {
				for _, it := range l {
					if it == "" || len(l) > mealsync.MaxPreferenceEntries {
						t.Fatalf("accepted an empty entry or an over-long list: %q", l)
					}
				}
			}
		}
	})
}

func newRequest(body []byte) *http.Request {
	r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}
