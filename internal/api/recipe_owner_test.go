package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/generate"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/testdb"
)

// ownership is a catalogue recipe (an admin's) and a private recipe of
// alice's, with bob as the other user. The private recipe has ingredients
// no catalogue recipe has, so that anything built from ingredients would
// pick it if it could.
type ownership struct {
	alice, bob, admin     session
	catalogueID, secretID string
}

const secretName = "Alice's Saffron Quince Stew"

func newOwnership(t *testing.T, e *env) ownership {
	t.Helper()
	o := ownership{alice: e.newUser("alice@example.com"), bob: e.newUser("bob@example.com"), admin: e.newAdmin("admin@example.com")}
	o.catalogueID = createRecipe(t, e, o.admin.token, recipeBody("Catalogue Tomato Soup"))["id"].(string)
	secret := recipeBody(secretName)
	secret["ingredients"] = []map[string]any{{"name": "Saffron", "quantity": "1", "unit": "pinch"}, {"name": "Quince", "quantity": "2", "unit": ""}}
	o.secretID = createRecipe(t, e, o.alice.token, secret)["id"].(string)
	return o
}

// listIDs lists /recipes?query as token (anonymous when "").
func listIDs(t *testing.T, e *env, token, query string) []string {
	t.Helper()
	return idsOf(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes?"+query, token, nil), 200)))
}

// forEachStoreAndCache runs f on both stores, with the list cache on and
// off: the cache must not change what anyone sees, nor hide what the store
// would show.
func forEachStoreAndCache(t *testing.T, f func(t *testing.T, e *env)) {
	for _, st := range testdb.Stores {
		for _, size := range []int{100, 0} {
			t.Run(fmt.Sprintf("%s/cache %d", st.Name, size), func(t *testing.T) {
				f(t, newEnv(t, st.Open(t), func(d *api.Deps) { d.ListCacheSize = size }))
			})
		}
	}
}

// A user's recipe is theirs: another user cannot read it, list it, or find
// it by searching; its owner and admins can.
func TestPrivateRecipeIsSeenByItsOwnerAndAdminsOnly(t *testing.T) {
	forEachStoreAndCache(t, func(t *testing.T, e *env) {
		o := newOwnership(t, e)
		path := "/api/v1/recipes/" + o.secretID

		e.expect(e.do("GET", path, o.alice.token, nil), 200)
		e.expect(e.do("GET", path, o.admin.token, nil), 200)
		r := e.expect(e.do("GET", path, o.bob.token, nil), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + o.secretID}) {
			t.Fatalf("bob: %q, want the unknown-id answer", got)
		}

		both := []string{o.catalogueID, o.secretID}
		catalogue := []string{o.catalogueID}
		tests := []struct {
			who, token, query string
			want              []string
		}{
			{"anonymous", "", "", catalogue},
			{"bob", o.bob.token, "", catalogue},
			{"bob, searching", o.bob.token, "name=saffron", nil},
			{"bob, by ingredient", o.bob.token, "ingredients=quince", nil},
			{"bob, private only", o.bob.token, "published=false", nil},
			{"alice", o.alice.token, "", both},
			{"alice, searching", o.alice.token, "name=saffron", []string{o.secretID}},
			{"alice, private only", o.alice.token, "published=false", []string{o.secretID}},
			{"alice, catalogue only", o.alice.token, "published=true", catalogue},
			{"admin: the catalogue, as anyone", o.admin.token, "", catalogue},
			{"admin, private only: everyone's", o.admin.token, "published=false", []string{o.secretID}},
			{"anonymous, private only", "", "published=false", nil},
		}
		// Twice, in this order: with the list cache on, the second round is
		// served from it wherever a page may be shared, and a page that holds
		// alice's recipe must never be one of those.
		for round := range 2 {
			for _, tt := range tests {
				if got := listIDs(t, e, tt.token, tt.query); !sameSet(got, tt.want) {
					t.Errorf("round %d, %s (%q): %v, want %v", round, tt.who, tt.query, got, tt.want)
				}
			}
		}
		e.expect(e.do("GET", "/api/v1/recipes?published=maybe", o.alice.token, nil), 400)
	})
}

// The list cache keeps serving the shared catalogue page to callers who own
// no private recipe, and never to one who does.
func TestListCacheSeparatesPrivatePages(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		o := newOwnership(t, e)
		anon := e.expect(e.do("GET", "/api/v1/recipes", "", nil), 200)
		tag := anon.header.Get("ETag")
		if tag == "" {
			t.Fatal("the catalogue page has no ETag")
		}
		// Bob owns nothing private: his page is the catalogue's, cached.
		e.expect(e.do("GET", "/api/v1/recipes", o.bob.token, nil, "If-None-Match", tag), 304)
		// Alice's page is hers: no shared tag, never a 304 for the
		// catalogue's, and not cacheable.
		mine := e.expect(e.do("GET", "/api/v1/recipes", o.alice.token, nil, "If-None-Match", tag), 200)
		if mine.header.Get("ETag") != "" || mine.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("alice's page: ETag %q, Cache-Control %q", mine.header.Get("ETag"), mine.header.Get("Cache-Control"))
		}
		if !slices.Contains(idsOf(dataItems(t, mine)), o.secretID) {
			t.Fatal("alice's page lacks her recipe")
		}
		// Bob creates a private recipe: his page becomes his own at once.
		bobs := createRecipe(t, e, o.bob.token, recipeBody("Bob's Own Soup"))["id"].(string)
		if got := listIDs(t, e, o.bob.token, ""); !sameSet(got, []string{o.catalogueID, bobs}) {
			t.Fatalf("bob's list after creating one: %v", got)
		}
		if got := listIDs(t, e, "", ""); !sameSet(got, []string{o.catalogueID}) {
			t.Fatalf("anonymous list: %v", got)
		}
	})
}

// An instance learns of another's changes only when it re-reads the
// catalogue version. Until then it may not know that a user now owns a
// private recipe, but even then the page it caches as the catalogue's is
// the catalogue's: it is read as anyone would see it, never with the
// caller's private recipes in it.
func TestListCacheNeverSharesAPrivateRecipeWhileStale(t *testing.T) {
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) {
			e := newEnv(t, st.Open(t), func(d *api.Deps) { d.CatalogueVersionTTL = time.Hour })
			admin := e.newAdmin("admin@example.com")
			bob := e.newUser("bob@example.com")
			createRecipe(t, e, admin.token, recipeBody("Catalogue Soup"))
			listIDs(t, e, bob.token, "") // this instance now holds: bob owns nothing private

			// Another instance stores a private recipe of bob's.
			secret := minimalRecipe("Bob's Secret Soup")
			secret.OwnerID, secret.Published = bob.id, false
			if err := e.db.CreateRecipes(context.Background(), secret); err != nil {
				t.Fatal(err)
			}
			// A page not cached yet, read for bob, then asked for by others.
			listIDs(t, e, bob.token, "limit=50")
			for _, token := range []string{"", admin.token} {
				if got := listIDs(t, e, token, "limit=50"); slices.Contains(got, secret.ID) {
					t.Fatalf("bob's private recipe was served to another caller: %v", got)
				}
			}
		})
	}
}

// Saving, recommendations, today's picks, meal plans and generation never
// hand another user's private recipe to anyone; its owner gets it in all
// but generation, which draws on the catalogue only.
func TestPrivateRecipeIsNeverHandedToAnotherUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		o := newOwnership(t, e)

		// Saving: not for bob, not by an admin on bob's behalf; alice may.
		save := func(token, userID string) response {
			return e.do("POST", "/api/v1/recipes/save", token, map[string]any{"userId": userID, "recipeId": o.secretID})
		}
		for _, r := range []response{save(o.bob.token, o.bob.id), save(o.admin.token, o.bob.id)} {
			e.expect(r, 404)
			if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + o.secretID}) {
				t.Fatalf("save for bob: %q", got)
			}
		}
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/saved", o.bob.token, nil), 200), 0, 6, 0, false)
		e.expect(save(o.alice.token, o.alice.id), 200)
		saved := dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/saved", o.alice.token, nil), 200))
		if len(saved) != 1 || saved[0]["recipe"].(map[string]any)["id"] != o.secretID {
			t.Fatalf("alice's saved recipes: %v", saved)
		}
		e.expect(e.do("DELETE", "/api/v1/recipes/save", o.alice.token, map[string]any{"userId": o.alice.id, "recipeId": o.secretID}), 204)

		// Recommendations and today's picks.
		for _, path := range []string{"/api/v1/recipes/recommended?limit=100", "/api/v1/recipes/today-picks"} {
			if got := idsOf(dataItems(t, e.expect(e.do("GET", path, o.bob.token, nil), 200))); slices.Contains(got, o.secretID) {
				t.Errorf("bob's %s: %v holds alice's recipe", path, got)
			}
		}
		if got := idsOf(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/recommended?limit=100", o.alice.token, nil), 200))); !sameSet(got, []string{o.catalogueID, o.secretID}) {
			t.Errorf("alice's recommendations: %v, want both recipes", got)
		}

		// Meal plans: bob has one recipe to plan from, so two different
		// meals a day are refused; alice has two.
		plan := func(token string, perDay int) response {
			return e.do("POST", "/api/v1/meal-plans", token, map[string]any{"startDate": "2026-12-01", "numberOfDays": 2, "mealsPerDay": perDay})
		}
		e.expect(plan(o.bob.token, 2), 400)
		for _, m := range planMeals(t, e.expect(plan(o.bob.token, 1), 201).data()) {
			if m.recipe["id"] != o.catalogueID {
				t.Errorf("bob's plan serves %v", m.recipe["name"])
			}
		}
		var planned []string
		for _, m := range planMeals(t, e.expect(plan(o.alice.token, 2), 201).data()) {
			planned = append(planned, m.recipe["id"].(string))
		}
		if !slices.Contains(planned, o.secretID) {
			t.Errorf("alice's plan %v never serves her own recipe", planned)
		}

		// Generation from exactly the private recipe's ingredients: the
		// catalogue has nothing, for bob or for alice herself.
		ingredients := map[string]any{"ingredients": []string{"saffron", "quince"}}
		for _, s := range []session{o.bob, o.alice} {
			if got := idsOf(generateRecipes(t, e, s.token, ingredients)); slices.Contains(got, o.secretID) {
				t.Errorf("generated for %s: %v holds the private recipe", s.email, got)
			}
		}
		checkPage(t, e.expect(e.do("GET", "/api/v1/recipes/recent", o.bob.token, nil), 200), 0, 6, 0, false)

		// Once published, the same requests find it.
		e.expect(e.do("POST", "/api/v1/recipes/"+o.secretID+"/publish", o.admin.token, nil), 200)
		if got := idsOf(generateRecipes(t, e, o.bob.token, ingredients)); !slices.Contains(got, o.secretID) {
			t.Errorf("generated for bob after publishing: %v", got)
		}
		e.expect(save(o.bob.token, o.bob.id), 200)
	})
}

// Publishing is an admin's: it puts a user's recipe in everyone's catalogue.
func TestPublishRecipe(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		o := newOwnership(t, e)
		path := "/api/v1/recipes/" + o.secretID + "/publish"
		for _, s := range []session{o.alice, o.bob} {
			r := e.expect(e.do("POST", path, s.token, nil), 403)
			if got := r.errors(); !slices.Equal(got, []string{"Forbidden: Access Denied"}) {
				t.Fatalf("%s: %q", s.email, got)
			}
		}
		e.expect(e.do("POST", path, "", nil), 401)
		e.expect(e.do("GET", "/api/v1/recipes/"+o.secretID, o.bob.token, nil), 404)

		r := e.expect(e.do("POST", path, o.admin.token, nil), 200)
		if keys := objectKeys(t, mustField(t, r.raw, "data")); !slices.Equal(keys, recipeKeys) {
			t.Fatalf("keys %v", keys)
		}
		if d := r.data(); d["id"] != o.secretID || d["name"] != secretName || d["source"] != "user" {
			t.Fatalf("published: %s", r.raw)
		}
		e.expect(e.do("GET", "/api/v1/recipes/"+o.secretID, o.bob.token, nil), 200)
		for _, token := range []string{"", o.bob.token, o.alice.token} {
			if got := listIDs(t, e, token, "name=saffron"); !slices.Equal(got, []string{o.secretID}) {
				t.Errorf("list after publishing: %v", got)
			}
		}
		if got := listIDs(t, e, o.alice.token, "published=false"); len(got) != 0 {
			t.Errorf("alice's private recipes after publishing: %v", got)
		}
		// Again is fine; unknown and malformed ids are not.
		e.expect(e.do("POST", path, o.admin.token, nil), 200)
		unknown := "3fa85f64-5717-4562-b3fc-2c963f66afa6"
		r = e.expect(e.do("POST", "/api/v1/recipes/"+unknown+"/publish", o.admin.token, nil), 404)
		if got := r.errors(); !slices.Equal(got, []string{"Resource: Recipe not found with id: " + unknown}) {
			t.Fatalf("unknown: %q", got)
		}
		e.expect(e.do("POST", "/api/v1/recipes/nope/publish", o.admin.token, nil), 400)
		// Published, it is curated: alice may no longer change or delete it.
		e.expect(e.do("PUT", "/api/v1/recipes/"+o.secretID, o.alice.token, recipeBody("Mine Again")), 403)
		e.expect(e.do("DELETE", "/api/v1/recipes/"+o.secretID, o.alice.token, nil), 403)
	})
}

// An owner may change and delete their private recipe; another user gets
// 404 (it does not exist for them), an admin may do either.
func TestPrivateRecipeEditAuthorisation(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		o := newOwnership(t, e)
		path := "/api/v1/recipes/" + o.secretID
		notFound := []string{"Resource: Recipe not found with id: " + o.secretID}

		// Another user: 404 for PUT and DELETE, before the body is read.
		for _, r := range []response{
			e.do("PUT", path, o.bob.token, recipeBody("Bob Was Here")),
			e.do("PUT", path, o.bob.token, `{"name": 42}`),
			e.do("DELETE", path, o.bob.token, nil),
		} {
			e.expect(r, 404)
			if got := r.errors(); !slices.Equal(got, notFound) {
				t.Fatalf("bob: %q", got)
			}
		}
		// A user may not change a catalogue recipe.
		e.expect(e.do("PUT", "/api/v1/recipes/"+o.catalogueID, o.bob.token, recipeBody("Bob Was Here")), 403)
		e.expect(e.do("DELETE", "/api/v1/recipes/"+o.catalogueID, o.alice.token, nil), 403)

		// The owner.
		upd := recipeBody("Alice's Renamed Stew")
		upd["ingredientKey"], upd["source"] = "catalogue_tomato_soup", "catalog"
		d := e.expect(e.do("PUT", path, o.alice.token, upd), 200).data()
		if d["name"] != "Alice's Renamed Stew" || d["ingredientKey"] != "alices_renamed_stew" || d["source"] != "user" {
			t.Fatalf("owner's update: %v", d)
		}
		e.expect(e.do("PUT", path, o.alice.token, recipeBody("")), 400)
		if got := listIDs(t, e, o.bob.token, "name=renamed"); len(got) != 0 {
			t.Fatalf("the update published it: %v", got)
		}
		// An admin.
		if d := e.expect(e.do("PUT", path, o.admin.token, recipeBody("Admin's Edit")), 200).data(); d["name"] != "Admin's Edit" {
			t.Fatalf("admin's update: %v", d)
		}
		if got := listIDs(t, e, o.bob.token, "name=edit"); len(got) != 0 {
			t.Fatalf("an admin's edit published it: %v", got)
		}
		// Delete: the owner, then it is gone; an admin deletes another one.
		e.expect(e.do("DELETE", path, o.alice.token, nil), 204)
		e.expect(e.do("GET", path, o.alice.token, nil), 404)
		other := createRecipe(t, e, o.alice.token, recipeBody("Second Secret"))["id"].(string)
		e.expect(e.do("DELETE", "/api/v1/recipes/"+other, o.admin.token, nil), 204)
		e.expect(e.do("GET", "/api/v1/recipes/"+other, o.alice.token, nil), 404)
	})
}

// ingredientKey and source are the server's: a client cannot claim a dish's
// key or pass its recipe off as the catalogue's. An admin's recipe goes
// straight into the catalogue.
func TestRecipeServerAssignedFields(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("claimer@example.com")
		admin := e.newAdmin("curator@example.com")
		body := recipeBody("Miso Soup")
		body["ingredientKey"], body["source"] = "tonkotsu_ramen", "catalog"
		body["ownerId"], body["published"] = admin.id, true
		for _, s := range []session{u, admin} {
			d := createRecipe(t, e, s.token, body)
			if d["ingredientKey"] != "miso_soup" || d["source"] != "user" {
				t.Fatalf("%s: ingredientKey %v, source %v; want miso_soup, user", s.email, d["ingredientKey"], d["source"])
			}
		}
		if got := names(dataItems(t, listRecipes(t, e, ""))); !slices.Equal(got, []string{"Miso Soup"}) {
			t.Fatalf("catalogue: %q, want the admin's recipe only", got)
		}
	})
}

// imageUrl points at our own image store or an allowed host, nowhere else.
func TestRecipeImageURLAllowList(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		u := e.newUser("painter@example.com")
		admin := e.newAdmin("gallery@example.com")
		const hash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
		refused := []string{"imageUrl: Image URL must be an image uploaded to MealSync or on an allowed host"}
		tests := []struct {
			url  string
			want []string
		}{
			{"/images/recipes/" + hash + ".jpg", nil},
			{"https://" + allowedImageHost + "/dishes/soup.jpg", nil},
			{"https://IMAGES.example.com/dishes/soup.jpg", nil},
			{"", nil},
			{"https://evil.example.net/track.gif", refused},
			{"http://" + allowedImageHost + "/dishes/soup.jpg", refused}, // https only
			{"https://" + allowedImageHost + ".evil.example.net/soup.jpg", refused},
			{"https://" + allowedImageHost + "@evil.example.net/soup.jpg", refused},
			{"https://user@" + allowedImageHost + "/soup.jpg", refused},
			{"/images/../api/v1/users", refused},
			{"/images/recipes/" + hash + ".jpg?track=1", refused},
			{"/api/v1/recipes", refused},
			{"not a url", []string{"imageUrl: Image URL must be a valid URL"}},
			{"javascript:alert(1)", []string{"imageUrl: Image URL must be a valid URL"}},
			{"//evil.example.net/x.jpg", []string{"imageUrl: Image URL must be a valid URL"}},
		}
		for _, tt := range tests {
			body := recipeBody("Pictured")
			body["imageUrl"] = tt.url
			r := e.do("POST", "/api/v1/recipes", u.token, body)
			if tt.want == nil {
				if d := e.expect(r, 201).data(); tt.url != "" && d["imageUrl"] != tt.url {
					t.Errorf("%q stored as %v", tt.url, d["imageUrl"])
				}
				continue
			}
			e.expect(r, 400)
			if got := r.errors(); !slices.Equal(got, tt.want) {
				t.Errorf("%q: %q, want %q", tt.url, got, tt.want)
			}
		}
		// Nothing refused was stored.
		for _, it := range dataItems(t, e.expect(e.do("GET", "/api/v1/recipes?limit=100", u.token, nil), 200)) {
			if url, _ := it["imageUrl"].(string); strings.Contains(url, "evil") || strings.Contains(url, "track") {
				t.Errorf("stored %q", url)
			}
		}

		// An update: an image already stored may stay, even one from before
		// the rule (an admin's legacy recipe); a new one is checked.
		legacy := minimalRecipe("Legacy Picture")
		legacy.ImageURL = "https://old-cdn.example.org/legacy.jpg"
		if err := e.db.CreateRecipes(context.Background(), legacy); err != nil {
			t.Fatal(err)
		}
		keep := recipeBody("Legacy Picture, Renamed")
		keep["imageUrl"] = legacy.ImageURL
		e.expect(e.do("PUT", "/api/v1/recipes/"+legacy.ID, admin.token, keep), 200)
		keep["imageUrl"] = "https://another-old-cdn.example.org/legacy.jpg"
		r := e.expect(e.do("PUT", "/api/v1/recipes/"+legacy.ID, admin.token, keep), 400)
		if got := r.errors(); !slices.Equal(got, refused) {
			t.Fatalf("admin's new image: %q", got)
		}
	})
}

// fixedAnswers is a generation provider that answers with fixed recipes,
// as a model would: new dishes, by name, without ids.
type fixedAnswers []*mealsync.Recipe

func (a fixedAnswers) Name() string { return "openai" }
func (a fixedAnswers) Generate(context.Context, generate.Request) ([]*mealsync.Recipe, error) {
	out := make([]*mealsync.Recipe, len(a))
	for i, r := range a {
		c := *r
		out[i] = &c
	}
	return out, nil
}
func (a fixedAnswers) DetectIngredients(context.Context, []byte, string) ([]mealsync.Ingredient, error) {
	return nil, nil
}

// A private recipe cannot pre-claim a dish: when generation answers with a
// dish of the same name (so the same ingredient key), the user who asked
// gets a new catalogue recipe, never the private one.
func TestPrivateRecipeCannotPreClaimAGeneratedDish(t *testing.T) {
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) {
			db := st.Open(t)
			dish := &mealsync.Recipe{Name: secretName, Description: "Generated.", Cuisine: "Persian", Difficulty: "EASY",
				Ingredients:  []mealsync.Ingredient{{Name: "saffron", Quantity: "1", Unit: "pinch"}},
				Instructions: []string{"Simmer."}, Servings: 2, Source: "openai"}
			e := newEnv(t, db, func(d *api.Deps) {
				d.Kitchen = kitchen.New(db, db, db, fixedAnswers{dish}, d.Images, nil, d.Now, d.Log)
			})
			o := newOwnership(t, e)
			got := generateRecipes(t, e, o.bob.token, map[string]any{"ingredients": []string{"saffron"}})
			if len(got) != 1 || got[0]["id"] == o.secretID || got[0]["name"] != secretName || got[0]["source"] != "openai" {
				t.Fatalf("generated for bob: %v; want a new recipe, not alice's %s", got, o.secretID)
			}
			if got[0]["ingredientKey"] != "alices_saffron_quince_stew" {
				t.Fatalf("the dish's key %v: the test no longer matches the private recipe's", got[0]["ingredientKey"])
			}
			// It is the catalogue's: anyone sees it; alice's stays hers.
			e.expect(e.do("GET", "/api/v1/recipes/"+got[0]["id"].(string), o.bob.token, nil), 200)
			e.expect(e.do("GET", "/api/v1/recipes/"+o.secretID, o.bob.token, nil), 404)
			if recent := idsOf(dataItems(t, e.expect(e.do("GET", "/api/v1/recipes/recent", o.bob.token, nil), 200))); slices.Contains(recent, o.secretID) {
				t.Fatalf("bob's recent recipes hold alice's: %v", recent)
			}
			// Asking again reuses the new catalogue recipe.
			if again := generateRecipes(t, e, o.alice.token, map[string]any{"ingredients": []string{"saffron"}}); len(again) != 1 || again[0]["id"] != got[0]["id"] {
				t.Fatalf("generated for alice: %v, want the catalogue's %v", again, got[0]["id"])
			}
		})
	}
}
