package web_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mealsync/mealsync/internal/testenv"
)

// TestCatalogueJourney: searching with filters puts them in the URL, so a
// reload, a shared link and the back button show the same results; then a
// recipe opens, its ingredients scale with the servings, and it is saved,
// listed among the saved, and unsaved; home shows today's picks and
// recommendations.
func TestCatalogueJourney(t *testing.T) {
	t.Parallel()
	srv := server(t)
	register(t, srv.URL, "Grace", "grace@example.com")
	tb := newTab(t, "grace", srv.URL)
	tb.signIn("grace@example.com")
	tb.waitFor("today's picks", `document.querySelectorAll('#picks .card').length === 2`)
	tb.waitFor("recommendations", `document.querySelectorAll('#recommended .card').length === 6`)
	tb.audit("home")

	tb.click(`nav a[href="/recipes"]`)
	tb.waitView("catalogue")
	tb.waitFor("the whole catalogue", `document.querySelector('#count').textContent === '217 recipes'`)
	tb.fill("input[name=name]", "tofu")
	tb.do(chromedp.SetValue(chromedp.CSS("select[name=difficulty]"), "EASY"))
	tb.click("form[role=search] button[type=submit]")
	tb.waitFor("the filtered list", `location.search === '?name=tofu&difficulty=EASY'`)
	tb.waitView("catalogue")
	filtered := eval[[]string](tb, `[...document.querySelectorAll('main .card a')].map((a) => a.textContent)`)
	if len(filtered) == 0 {
		t.Fatal("no easy tofu recipe")
	}
	for _, name := range filtered {
		if !strings.Contains(strings.ToLower(name), "tofu") {
			t.Errorf("%q matched name=tofu", name)
		}
	}
	tb.audit("recipes-search")

	// The URL is the search: opened afresh, it shows the same list and form.
	tb.open("/recipes?name=tofu&difficulty=EASY", "catalogue")
	again := eval[[]string](tb, `[...document.querySelectorAll('main .card a')].map((a) => a.textContent)`)
	if strings.Join(again, "|") != strings.Join(filtered, "|") {
		t.Errorf("reloaded search: %v, first time %v", again, filtered)
	}
	if v := eval[string](tb, `document.querySelector('input[name=name]').value + '/' + document.querySelector('select[name=difficulty]').value`); v != "tofu/EASY" {
		t.Errorf("the form after a reload shows %s", v)
	}
	// Paging keeps the filters; back returns to the first page.
	tb.open("/recipes?cuisines=french", "catalogue")
	tb.waitFor("the French recipes", `document.querySelector('#count').textContent === '15 recipes'`)
	tb.click(`nav.pager a`)
	tb.waitFor("page 2", `location.search === '?cuisines=french&offset=12'`)
	tb.waitView("catalogue")
	if n := eval[int](tb, `document.querySelectorAll('main .card').length`); n != 3 {
		t.Errorf("page 2 of 15 French recipes shows %d", n)
	}
	if got := eval[string](tb, `document.querySelector('input[name=cuisines]').value`); got != "french" {
		t.Errorf("page 2 lost the filter: %q", got)
	}
	tb.open("/recipes", "catalogue")
	tb.click(`nav.pager a`)
	tb.waitFor("page 2", `location.search === '?offset=12'`)
	tb.waitView("catalogue")
	tb.do(chromedp.NavigateBack())
	tb.waitFor("page 1 again", `location.search === '' && document.querySelector('main[data-view=catalogue][aria-busy=false]') && !document.querySelector('nav.pager a[href$="offset=0"]')`)

	// A recipe: Agedashi Tofu serves 4 with 400 g of tofu.
	tb.open("/recipes?name=Agedashi", "catalogue")
	tb.click(`main .card a`)
	tb.waitView("recipe")
	tb.waitFor("the recipe", `document.querySelector('h1').textContent === 'Agedashi Tofu'`)
	first := `document.querySelector('#ingredients li').textContent`
	if got := eval[string](tb, first); got != "400 g firm silken tofu" {
		t.Errorf("first ingredient at 4 servings: %q", got)
	}
	if n := eval[int](tb, `document.querySelectorAll('#steps li').length`); n == 0 {
		t.Error("no steps")
	}
	tb.fill("#servings", "6")
	tb.waitFor("600 g at 6 servings", first+` === '600 g firm silken tofu'`)
	tb.fill("#servings", "2")
	tb.waitFor("200 g at 2 servings", first+` === '200 g firm silken tofu'`)
	if got := eval[string](tb, `location.search`); got != "?servings=2" {
		t.Errorf("servings in the URL: %q", got)
	}
	tb.audit("recipe")

	// Save, see it among the saved, unsave.
	tb.click("#save")
	tb.waitFor("saved", `document.querySelector('#save').getAttribute('aria-pressed') === 'true'`)
	tb.click(`nav a[href="/saved"]`)
	tb.waitView("saved")
	tb.waitFor("the saved recipe", `[...document.querySelectorAll('main .card a')].some((a) => a.textContent === 'Agedashi Tofu')`)
	tb.audit("saved")
	tb.click(`main .card a`)
	tb.waitView("recipe")
	tb.waitFor("shown as saved", `document.querySelector('#save').getAttribute('aria-pressed') === 'true'`)
	tb.click("#save")
	tb.waitFor("unsaved", `document.querySelector('#save').getAttribute('aria-pressed') === 'false'`)
	tb.open("/saved", "saved")
	if n := eval[int](tb, `document.querySelectorAll('main .card').length`); n != 0 {
		t.Errorf("%d saved recipes after unsaving", n)
	}
}

// TestGenerateJourney: ingredients typed in give recipes that use them,
// which then show on home as recently generated.
func TestGenerateJourney(t *testing.T) {
	t.Parallel()
	srv := server(t)
	register(t, srv.URL, "Alan", "alan@example.com")
	tb := newTab(t, "alan", srv.URL)
	tb.signIn("alan@example.com")
	tb.click(`nav a[href="/generate"]`)
	tb.waitView("generate")
	// This server's provider is the catalogue, which reads no photos: the
	// page says so instead of offering an upload that would fail.
	tb.waitFor("why there is no photo option", `document.querySelector('#photo-unavailable') && !document.querySelector('input[type=file]')`)
	tb.fill("textarea[name=ingredients]", "tofu, soy sauce, ginger")
	tb.click("#from-ingredients button[type=submit]")
	tb.waitFor("three recipes", `document.querySelectorAll('#generated .card').length === 3`)
	tb.audit("generate")
	names := eval[[]string](tb, `[...document.querySelectorAll('#generated .card a')].map((a) => a.textContent)`)
	tb.click(`a.brand`)
	tb.waitView("home")
	tb.waitFor("recently generated", `document.querySelectorAll('#recent .card').length === 3`)
	recent := eval[[]string](tb, `[...document.querySelectorAll('#recent .card a')].map((a) => a.textContent)`)
	for _, n := range names {
		if !strings.Contains(strings.Join(recent, "|"), n) {
			t.Errorf("generated %q is not among the recent %v", n, recent)
		}
	}
}

// TestServingsArithmetic: the page's quantity scaling (scale.js), run in the
// browser on the module the app loaded: numbers, fractions, mixed numbers
// and ranges scale; words stay.
func TestServingsArithmetic(t *testing.T) {
	t.Parallel()
	srv := server(t)
	tb := newTab(t, "cook", srv.URL)
	tb.open("/", "home")
	cases := []struct {
		q      string
		factor float64
		want   string
	}{
		{"400", 1.5, "600"},
		{"1/2", 2, "1"},
		{"1 1/2", 2, "3"},
		{"1", 0.5, "1/2"},
		{"2", 1.0 / 3, "2/3"},
		{"3/4", 1.0 / 3, "1/4"},
		{"0.5", 3, "1 1/2"},
		{"2-3", 2, "4-6"},
		{"1", 0.7, "0.7"},
		{"to taste", 2, "to taste"},
		{"", 2, ""},
		{"250", 1, "250"},
	}
	for _, c := range cases {
		got := eval[string](tb, fmt.Sprintf(`(async () => {
			const url = performance.getEntriesByType('resource').map((e) => e.name).find((n) => /\/assets\/scale\.[0-9a-f]{12}\.js$/.test(n));
			const { scaleQuantity } = await import(url);
			return scaleQuantity(%q, %v);
		})()`, c.q, c.factor))
		if got != c.want {
			t.Errorf("%q × %.3f = %q, want %q", c.q, c.factor, got, c.want)
		}
	}
}

// TestPhotoJourney: with a provider that reads photos, the generate page
// offers the upload; the photo the person picks goes to the provider, and
// the ingredients it finds fill the ingredients field. The provider is an
// OpenAI-compatible endpoint: the real one is an external service, so a
// fake on loopback answers, checking that the photo reached it.
func TestPhotoJourney(t *testing.T) {
	t.Parallel()
	chromium(t)
	photo := pngFile(t)
	var sawPhoto atomic.Bool
	ai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		// The upload, as the provider sends it to a model: a data URL.
		if strings.Contains(string(body), "data:image/png;base64,"+base64.StdEncoding.EncodeToString(photo.data)) {
			sawPhoto.Store(true)
		}
		content, _ := json.Marshal(map[string]any{"ingredients": []any{
			map[string]any{"name": "tomato", "quantity": "3", "unit": ""},
			map[string]any{"name": "basil", "quantity": "1", "unit": "bunch"},
		}})
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000,
			"model": "test-model", "choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": string(content)}}}})
	}))
	t.Cleanup(ai.Close)
	srv := testenv.StartMealsync(t, testenv.Options{Env: map[string]string{
		"MEALSYNC_AI_PROVIDER": "openai", "MEALSYNC_OPENAI_BASE_URL": ai.URL + "/v1",
		"MEALSYNC_OPENAI_API_KEY": "test-key", "MEALSYNC_OPENAI_MODEL": "test-model",
	}})
	register(t, srv.URL, "Grace", "grace@example.com")
	tb := newTab(t, "grace", srv.URL)
	tb.signIn("grace@example.com")
	tb.click(`nav a[href="/generate"]`)
	tb.waitView("generate")
	if eval[bool](tb, `!!document.querySelector('#photo-unavailable')`) {
		t.Fatal("the page says photos are unavailable with a provider that reads them")
	}
	tb.audit("generate-photo")
	tb.do(chromedp.SetUploadFiles(chromedp.CSS("#from-photo input[type=file]"), []string{photo.path}))
	tb.click("#from-photo button[type=submit]")
	tb.waitFor("the ingredients found", `document.querySelector('textarea[name=ingredients]').value === 'tomato, basil'`)
	tb.waitFor("how many were found", `document.querySelector('#generated').textContent.includes('Found 2 ingredients')`)
	if !sawPhoto.Load() {
		t.Error("the provider was not sent the photo the person picked")
	}
}

// pngFile writes a small PNG to a temp file.
func pngFile(t *testing.T) (f struct {
	path string
	data []byte
}) {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	f.data = buf.Bytes()
	f.path = filepath.Join(t.TempDir(), "fridge.png")
	if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
