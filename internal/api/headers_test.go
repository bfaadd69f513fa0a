package api_test

import (
	"image/color"
	"net/http"
	"testing"
)

// checkHeaders fails unless each header appears exactly once with the value.
func checkHeaders(t *testing.T, what string, r response, want map[string]string) {
	t.Helper()
	for h, v := range want {
		if got := r.header.Values(h); len(got) != 1 || got[0] != v {
			t.Errorf("%s (%d): %s = %q, want once %q", what, r.status, h, got, v)
		}
	}
}

// Every JSON answer, on either listener and whatever its status, is
// unsniffable, loads and frames nothing, and is not stored by caches, except
// where a handler allows caching on purpose.
func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	e := sqliteEnv(t)
	u := e.newUser("headers@example.com")
	personal := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		"Cache-Control":           "no-store",
	}
	for _, c := range []struct {
		name   string
		r      response
		status int
	}{
		{"a user's own record", e.do("GET", "/api/v1/users/"+u.id, u.token, nil), 200},
		{"login", e.do("POST", "/api/v1/users/login", "", map[string]any{"email": u.email, "password": "correct horse 1"}), 200},
		{"no token", e.do("GET", "/api/v1/users/"+u.id, "", nil), 401},
		{"bad body", e.do("POST", "/api/v1/users/register", "", `{"email": 42}`), 400},
		{"unknown path", e.do("GET", "/api/v1/no-such-thing", "", nil), 404},
		{"wrong method", e.do("PATCH", "/api/v1/users/register", "", nil), 405},
		{"actuator path moved off the port", e.do("GET", "/actuator/prometheus", "", nil), 404},
		{"health probe", e.do("GET", "/actuator/health", "", nil), 200},
		{"ops: build info", e.doOps("GET", "/actuator/info"), 200},
		{"ops: metrics", e.doOps("GET", "/actuator/prometheus"), 200},
		{"ops: unknown path", e.doOps("GET", "/nothing"), 404},
	} {
		if c.r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, c.r.status, c.status, c.r.raw)
		}
		checkHeaders(t, c.name, c.r, personal)
	}

	// The public catalogue is revalidated by its ETag, 304 included.
	list := e.expect(e.do("GET", "/api/v1/recipes?limit=1", "", nil), 200)
	cached := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		"Cache-Control":           "no-cache",
	}
	checkHeaders(t, "recipe list", list, cached)
	tag := list.header.Get("ETag")
	if tag == "" {
		t.Fatal("the recipe list has no ETag")
	}
	checkHeaders(t, "recipe list, not modified",
		e.expect(e.do("GET", "/api/v1/recipes?limit=1", "", nil, "If-None-Match", tag), http.StatusNotModified), cached)

	// Images keep their immutable caching and their sandboxing policy.
	admin := e.newAdmin("headers-admin@example.com")
	id := createRecipe(t, e, u.token, recipeBody("Headline"))["id"].(string)
	url := e.expect(upload(t, e, "/api/v1/recipes/"+id+"/image", admin.token, "p.png", "image/png", pngImage(t, 2, 2, color.White)), 200).data()["imageUrl"].(string)
	checkHeaders(t, "image", e.expect(e.do("GET", url, "", nil), 200), map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; sandbox",
		"Cache-Control":           "public, max-age=31536000, immutable",
	})
}
