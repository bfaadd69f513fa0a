package generate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
)

const testKey = "sk-test-5ecret-key"

// chatRequest is what the fake server reads from a chat-completions call.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	ResponseFormat struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Name   string         `json:"name"`
			Strict bool           `json:"strict"`
			Schema map[string]any `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

// fakeAI speaks the chat-completions protocol under /v1. Each call is
// decoded, checked for the things every call must carry, counted, and
// answered by reply.
type fakeAI struct {
	t     *testing.T
	calls atomic.Int32
	reply func(w http.ResponseWriter, r *http.Request, req chatRequest, call int)
}

func (f *fakeAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := int(f.calls.Add(1))
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("request %s %s, want POST /v1/chat/completions", r.Method, r.URL.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		f.t.Errorf("Authorization = %q", got)
	}
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("decoding the request: %v", err)
	}
	if req.Model != "test-model" {
		f.t.Errorf("model = %q", req.Model)
	}
	if req.ResponseFormat.Type != "json_schema" || !req.ResponseFormat.JSONSchema.Strict || req.ResponseFormat.JSONSchema.Schema == nil {
		f.t.Errorf("response_format = %+v, want a strict json_schema", req.ResponseFormat)
	}
	f.reply(w, r, req, call)
}

// newOpenAI starts a fake server answering with reply and returns a
// provider pointed at it, the fake, and the provider's log.
func newOpenAI(t *testing.T, cfg Config, reply func(w http.ResponseWriter, r *http.Request, req chatRequest, call int)) (*OpenAI, *fakeAI, *bytes.Buffer) {
	t.Helper()
	fake := &fakeAI{t: t, reply: reply}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/v1"
	cfg.APIKey = testKey
	cfg.Model = "test-model"
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	var logs bytes.Buffer
	o, err := NewOpenAI(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return o, fake, &logs
}

// complete answers with one choice whose message content is content.
func complete(w http.ResponseWriter, content any) {
	text, ok := content.(string)
	if !ok {
		js, _ := json.Marshal(content)
		text = string(js)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": 1700000000, "model": "test-model",
		"choices": []any{map[string]any{
			"index": 0, "logprobs": nil, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": text, "refusal": nil},
		}},
		"usage": map[string]any{"prompt_tokens": 50, "completion_tokens": 400, "total_tokens": 450},
	})
}

func failWith(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After-Ms", "1") // keeps retry tests fast
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"server_error","param":null,"code":null}}`, message)
}

// aiRecipeJSON is a realistic recipe as a model returns it; edit modifies it.
func aiRecipeJSON(name string, edit func(map[string]any)) map[string]any {
	r := map[string]any{
		"name":            name,
		"description":     "Sweet cherry tomatoes blistered in olive oil with garlic, tossed with spaghetti and torn basil.",
		"cuisine":         "Italian",
		"difficulty":      "easy",
		"preparationTime": 10,
		"cookingTime":     15,
		"servings":        2,
		"calories":        520.5,
		"protein":         16,
		"carbohydrates":   78,
		"fat":             15.5,
		"ingredients": []any{
			map[string]any{"name": "spaghetti", "quantity": "200", "unit": "g"},
			map[string]any{"name": "cherry tomato", "quantity": "300", "unit": "g"},
			map[string]any{"name": "garlic", "quantity": "2", "unit": "clove"},
			map[string]any{"name": "basil", "quantity": "1", "unit": "handful"},
			map[string]any{"name": "salt", "quantity": "", "unit": ""},
		},
		"instructions": []any{"Boil the spaghetti in salted water.", "Blister the tomatoes with the garlic in oil.", "Toss with the pasta and basil."},
		"tags":         []any{"Dinner", "quick", "Vegetarian"},
	}
	if edit != nil {
		edit(r)
	}
	return r
}

func recipesReply(rs ...map[string]any) map[string]any { return map[string]any{"recipes": rs} }

var tomatoRequest = mealsync.GenerateRequest{
	Ingredients: []mealsync.Ingredient{{Name: "cherry tomatoes", Quantity: "300", Unit: "g"}, {Name: "Basil"}, {Name: "spaghetti"}},
	Preferences: mealsync.Preferences{DietaryRestrictions: []string{"vegetarian"}, DislikedIngredients: []string{"cilantro"}, FavoriteCuisines: []string{"Italian"}},
}

func userText(t *testing.T, req chatRequest) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(req.Messages[len(req.Messages)-1].Content, &s); err != nil {
		t.Fatalf("user message content is not text: %s", req.Messages[len(req.Messages)-1].Content)
	}
	return s
}

func TestOpenAIGenerate(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, req chatRequest, _ int) {
		if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
			t.Errorf("messages = %+v, want system then user", req.Messages)
		}
		user := userText(t, req)
		for _, want := range []string{"exactly 3", "cherry tomatoes", "Basil", "vegetarian", "cilantro", "Italian"} {
			if !strings.Contains(user, want) {
				t.Errorf("user prompt lacks %q:\n%s", want, user)
			}
		}
		if req.ResponseFormat.JSONSchema.Name != "recipes" {
			t.Errorf("schema name = %q", req.ResponseFormat.JSONSchema.Name)
		}
		complete(w, recipesReply(
			aiRecipeJSON("Blistered Tomato Spaghetti", nil),
			aiRecipeJSON("Tomato and Basil Bruschetta", func(r map[string]any) { r["difficulty"] = "Medium" }),
			aiRecipeJSON("Caprese Pasta Salad", func(r map[string]any) { r["cookingTime"] = 0 }),
		))
	})
	got, err := o.Generate(context.Background(), tomatoRequest)
	if err != nil {
		t.Fatal(err)
	}
	if fake.calls.Load() != 1 {
		t.Errorf("%d calls, want 1", fake.calls.Load())
	}
	if len(got) != 3 {
		t.Fatalf("got %d recipes, want 3", len(got))
	}
	r := got[0]
	if r.Name != "Blistered Tomato Spaghetti" || r.IngredientKey != "blistered_tomato_spaghetti" || r.Source != "openai" ||
		r.Difficulty != "EASY" || r.TotalTime != 25 || r.Servings != 2 || r.Calories != 520.5 || r.ID != "" {
		t.Errorf("recipe = %+v", r)
	}
	if want := []string{"dinner", "quick", "vegetarian"}; !slices.Equal(r.Tags, want) {
		t.Errorf("tags = %q, want %q", r.Tags, want)
	}
	if r.Ingredients[4].Quantity != "to taste" || r.Ingredients[1] != (mealsync.Ingredient{Name: "cherry tomato", Quantity: "300", Unit: "g"}) {
		t.Errorf("ingredients = %+v", r.Ingredients)
	}
	if got[1].Difficulty != "MEDIUM" || got[2].TotalTime != 10 {
		t.Errorf("second and third: %+v %+v", got[1], got[2])
	}
}

func TestOpenAIUnparseableReply(t *testing.T) {
	for name, content := range map[string]string{
		"prose":       "Sure! Here are three lovely recipes: 1. Tomato pasta…",
		"truncated":   `{"recipes": [{"name": "Tomato`,
		"wrong shape": `{"dishes": []}`,
		"not a list":  `{"recipes": {"name": "x"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) { complete(w, content) })
			_, err := o.Generate(context.Background(), tomatoRequest)
			wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
		})
	}
}

func TestOpenAIAcceptsFencedJSON(t *testing.T) {
	js, _ := json.Marshal(recipesReply(aiRecipeJSON("Tomato Spaghetti", nil)))
	o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		complete(w, "```json\n"+string(js)+"\n```")
	})
	if got, err := o.Generate(context.Background(), tomatoRequest); err != nil || len(got) != 1 {
		t.Errorf("got %d recipes, %v", len(got), err)
	}
}

// Each of these breaks the recipe schema; alone in a reply it makes the
// call fail, next to a valid recipe it is dropped.
var schemaViolations = map[string]func(map[string]any){
	"no name":             func(r map[string]any) { delete(r, "name") },
	"blank name":          func(r map[string]any) { r["name"] = "   " },
	"punctuation name":    func(r map[string]any) { r["name"] = "!!!" },
	"long name":           func(r map[string]any) { r["name"] = strings.Repeat("a", 101) },
	"long description":    func(r map[string]any) { r["description"] = strings.Repeat("a", 501) },
	"no description":      func(r map[string]any) { r["description"] = "" },
	"long cuisine":        func(r map[string]any) { r["cuisine"] = strings.Repeat("a", 51) },
	"bad difficulty":      func(r map[string]any) { r["difficulty"] = "EXTREME" },
	"no preparation time": func(r map[string]any) { delete(r, "preparationTime") },
	"time as text":        func(r map[string]any) { r["preparationTime"] = "15 minutes" },
	"negative time":       func(r map[string]any) { r["cookingTime"] = -5 },
	"no servings":         func(r map[string]any) { r["servings"] = 0 },
	// The limits of a recipe created through the API (mealsync.Recipe.Validate).
	"101 servings":        func(r map[string]any) { r["servings"] = 101 },
	"cooking over a week": func(r map[string]any) { r["cookingTime"] = 7*24*60 + 1 },
	"absurd calories":     func(r map[string]any) { r["calories"] = 100_001 },
	"long step":           func(r map[string]any) { r["instructions"] = []any{strings.Repeat("s", 2001)} },
	"negative calories":   func(r map[string]any) { r["calories"] = -1 },
	"no fat":              func(r map[string]any) { delete(r, "fat") },
	"no ingredients":      func(r map[string]any) { r["ingredients"] = []any{} },
	"51 ingredients": func(r map[string]any) {
		r["ingredients"] = repeat(map[string]any{"name": "rice", "quantity": "1", "unit": ""}, 51)
	},
	"blank ingredient": func(r map[string]any) {
		r["ingredients"] = []any{map[string]any{"name": "", "quantity": "1", "unit": ""}}
	},
	"long quantity": func(r map[string]any) {
		r["ingredients"] = []any{map[string]any{"name": "rice", "quantity": strings.Repeat("1", 51), "unit": ""}}
	},
	"no instructions":   func(r map[string]any) { r["instructions"] = []any{} },
	"31 instructions":   func(r map[string]any) { r["instructions"] = repeat("Stir.", 31) },
	"blank instruction": func(r map[string]any) { r["instructions"] = []any{"Stir.", " "} },
	"11 tags":           func(r map[string]any) { r["tags"] = []any{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"} },
	"long tag":          func(r map[string]any) { r["tags"] = []any{strings.Repeat("t", 31)} },
	// A store must never see NUL (PostgreSQL refuses it in text).
	"NUL in the name": func(r map[string]any) { r["name"] = "Soup\u0000" },
	"NUL in a step":   func(r map[string]any) { r["instructions"] = []any{"Stir.\u0000"} },
	"NUL in an ingredient": func(r map[string]any) {
		r["ingredients"] = []any{map[string]any{"name": "rice", "quantity": "1", "unit": "\u0000"}}
	},
	"NUL in a tag":           func(r map[string]any) { r["tags"] = []any{"a\u0000b"} },
	"NUL in the description": func(r map[string]any) { r["description"] = "\u0000" },
	"breaks vegetarian": func(r map[string]any) {
		r["ingredients"] = []any{map[string]any{"name": "chicken breast", "quantity": "2", "unit": ""}}
	},
	"has disliked": func(r map[string]any) {
		r["ingredients"] = []any{map[string]any{"name": "chopped cilantro", "quantity": "1", "unit": "tbsp"}}
	},
	"recipe is not object": nil, // replaced below by a string item
}

func repeat(item any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = item
	}
	return out
}

func TestOpenAIDropsInvalidRecipes(t *testing.T) {
	for name, edit := range schemaViolations {
		t.Run(name, func(t *testing.T) {
			var bad any = aiRecipeJSON("Broken Recipe", edit)
			if edit == nil {
				bad = "Broken Recipe"
			}
			alone, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
				complete(w, map[string]any{"recipes": []any{bad}})
			})
			_, err := alone.Generate(context.Background(), tomatoRequest)
			wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)

			mixed, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
				complete(w, map[string]any{"recipes": []any{bad, aiRecipeJSON("Good Recipe", nil)}})
			})
			got, err := mixed.Generate(context.Background(), tomatoRequest)
			if err != nil || len(got) != 1 || got[0].Name != "Good Recipe" {
				t.Errorf("got %v, %v; want only the good recipe", got, err)
			}
		})
	}
}

// A recipe at the limits of one created through the API is kept: the
// generator holds recipes to the same rules, not stricter ones.
func TestOpenAIAcceptsTheAPIsLimits(t *testing.T) {
	o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		complete(w, recipesReply(aiRecipeJSON("Slow Tomato Stew", func(r map[string]any) {
			r["instructions"] = []any{strings.Repeat("s", mealsync.MaxInstruction)}
			r["servings"] = mealsync.MaxServings
			r["cookingTime"] = mealsync.MaxMinutes
		})))
	})
	got, err := o.Generate(context.Background(), tomatoRequest)
	if err != nil || len(got) != 1 || len(got[0].Instructions[0]) != mealsync.MaxInstruction {
		t.Fatalf("got %v, %v; want the recipe at the limits", got, err)
	}
}

func TestOpenAIRemovesContradictedTags(t *testing.T) {
	o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		complete(w, recipesReply(aiRecipeJSON("Honey Tomato Toast", func(r map[string]any) {
			r["ingredients"] = []any{map[string]any{"name": "honey", "quantity": "1", "unit": "tbsp"}, map[string]any{"name": "tomato", "quantity": "2", "unit": ""}}
			r["tags"] = []any{"vegan", "vegetarian", "breakfast"}
		})))
	})
	got, err := o.Generate(context.Background(), mealsync.GenerateRequest{Ingredients: tomatoRequest.Ingredients})
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if want := []string{"vegetarian", "breakfast"}; !slices.Equal(got[0].Tags, want) {
		t.Errorf("tags = %q, want %q (honey is not vegan)", got[0].Tags, want)
	}
}

func TestOpenAIKeepsAtMostCountAndNoDuplicates(t *testing.T) {
	o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, req chatRequest, _ int) {
		if !strings.Contains(userText(t, req), "exactly 2") {
			t.Error("prompt does not ask for 2 recipes")
		}
		complete(w, recipesReply(aiRecipeJSON("Tomato Pasta", nil), aiRecipeJSON("tomato pasta!", nil), aiRecipeJSON("Tomato Soup", nil), aiRecipeJSON("Tomato Salad", nil)))
	})
	req := tomatoRequest
	req.Count = 2
	got, err := o.Generate(context.Background(), req)
	if err != nil || len(got) != 2 || got[0].Name != "Tomato Pasta" || got[1].Name != "Tomato Soup" {
		t.Errorf("got %v, %v; want Tomato Pasta and Tomato Soup", got, err)
	}
}

func TestOpenAIRetriesServerErrors(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, call int) {
		if call == 1 {
			failWith(w, http.StatusInternalServerError, "overloaded")
			return
		}
		complete(w, recipesReply(aiRecipeJSON("Tomato Spaghetti", nil)))
	})
	got, err := o.Generate(context.Background(), tomatoRequest)
	if err != nil || len(got) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := fake.calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2 (one retry)", n)
	}
}

func TestOpenAIGivesUpAfterRetries(t *testing.T) {
	o, fake, logs := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		failWith(w, http.StatusServiceUnavailable, "the internal detail "+testKey)
	})
	_, err := o.Generate(context.Background(), tomatoRequest)
	wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
	if n := fake.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (1 + 2 retries)", n)
	}
	if strings.Contains(err.Error(), "internal detail") || strings.Contains(logs.String(), testKey) {
		t.Errorf("upstream body leaked: err %q, logs %q", err, logs)
	}
}

func TestOpenAITimeout(t *testing.T) {
	release := make(chan struct{})
	o, _, logs := newOpenAI(t, Config{Timeout: 100 * time.Millisecond, MaxRetries: 2}, func(w http.ResponseWriter, r *http.Request, _ chatRequest, _ int) {
		select { // hold the call until the client gives up or the test ends
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	_, err := o.Generate(context.Background(), tomatoRequest)
	wantError(t, err, mealsync.ETIMEOUT, msgTimeout)
	if !strings.Contains(logs.String(), "timed out") {
		t.Errorf("timeout not logged: %s", logs)
	}
}

func TestOpenAIRejectedCredentials(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		o, fake, logs := newOpenAI(t, Config{MaxRetries: 2}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, testKey)
		})
		_, err := o.Generate(context.Background(), tomatoRequest)
		wantError(t, err, mealsync.EUPSTREAM, msgCredentials)
		if n := fake.calls.Load(); n != 1 {
			t.Errorf("%d: %d calls, want 1 (no retry)", status, n)
		}
		if !strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), testKey) || strings.Contains(err.Error(), testKey) {
			t.Errorf("%d: want an error log without the key; logs %q, err %q", status, logs, err)
		}
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	o, err := NewOpenAI(Config{BaseURL: srv.URL + "/v1", APIKey: testKey, Model: "test-model"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Generate(context.Background(), tomatoRequest)
	wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
}

func TestOpenAIRefusalAndTruncation(t *testing.T) {
	for _, choice := range []map[string]any{
		{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": nil, "refusal": "I can't help with that."}},
		{"index": 0, "finish_reason": "length", "message": map[string]any{"role": "assistant", "content": `{"recipes": [`, "refusal": nil}},
	} {
		o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"id": "x", "object": "chat.completion", "created": 1, "model": "test-model", "choices": []any{choice}})
		})
		_, err := o.Generate(context.Background(), tomatoRequest)
		wantError(t, err, mealsync.EUPSTREAM, msgGenerateFailed)
	}
}

func TestOpenAIRequestValidationCallsNothing(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		complete(w, recipesReply(aiRecipeJSON("x", nil)))
	})
	_, err := o.Generate(context.Background(), mealsync.GenerateRequest{
		Ingredients: []mealsync.Ingredient{{Name: "Cilantro"}},
		Preferences: mealsync.Preferences{DislikedIngredients: []string{"cilantro"}},
	})
	wantError(t, err, mealsync.EINVALID, "Every ingredient given is on your disliked list")
	if _, err := o.Generate(context.Background(), mealsync.GenerateRequest{Ingredients: tomatoRequest.Ingredients, Count: 11}); mealsync.ErrorCode(err) != mealsync.EINVALID {
		t.Errorf("Count 11: err = %v", err)
	}
	if n := fake.calls.Load(); n != 0 {
		t.Errorf("%d calls for invalid requests", n)
	}
}

// A 1×1 PNG.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

func TestOpenAIDetectIngredients(t *testing.T) {
	o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, req chatRequest, _ int) {
		var parts []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL struct {
				URL string `json:"url"`
			} `json:"image_url"`
		}
		if err := json.Unmarshal(req.Messages[len(req.Messages)-1].Content, &parts); err != nil || len(parts) != 2 {
			t.Fatalf("user content = %s, want a text and an image part", req.Messages[len(req.Messages)-1].Content)
		}
		const prefix = "data:image/png;base64,"
		img := parts[1].ImageURL.URL
		if parts[1].Type != "image_url" || !strings.HasPrefix(img, prefix) {
			t.Fatalf("image part = %+v, want a PNG data URL", parts[1])
		}
		if data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(img, prefix)); err != nil || !bytes.Equal(data, tinyPNG) {
			t.Errorf("the data URL does not carry the image")
		}
		if req.ResponseFormat.JSONSchema.Name != "ingredients" {
			t.Errorf("schema name = %q", req.ResponseFormat.JSONSchema.Name)
		}
		complete(w, map[string]any{"ingredients": []any{
			map[string]any{"name": "Cherry Tomatoes", "quantity": "12", "unit": ""},
			map[string]any{"name": " ", "quantity": "1", "unit": ""},
			map[string]any{"name": "cherry tomato", "quantity": "3", "unit": ""},
			map[string]any{"name": "basil", "quantity": "1", "unit": "bunch"},
			map[string]any{"name": strings.Repeat("x", 101), "quantity": "1", "unit": ""},
			"not an object",
		}})
	})
	// Declared as octet-stream, as phones often do: the bytes decide.
	got, err := o.DetectIngredients(context.Background(), tinyPNG, "application/octet-stream")
	if err != nil {
		t.Fatal(err)
	}
	want := []mealsync.Ingredient{{Name: "Cherry Tomatoes", Quantity: "12"}, {Name: "basil", Quantity: "1", Unit: "bunch"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestOpenAIDetectNothingIsEmpty(t *testing.T) {
	o, _, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		complete(w, `{"ingredients": []}`)
	})
	got, err := o.DetectIngredients(context.Background(), tinyPNG, "image/png")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %#v, %v; want an empty list", got, err)
	}
}

func TestOpenAIDetectErrors(t *testing.T) {
	o, fake, _ := newOpenAI(t, Config{}, func(w http.ResponseWriter, _ *http.Request, _ chatRequest, _ int) {
		complete(w, "I see tomatoes and basil.")
	})
	_, err := o.DetectIngredients(context.Background(), tinyPNG, "image/png")
	wantError(t, err, mealsync.EUPSTREAM, msgDetectFailed)

	calls := fake.calls.Load()
	_, err = o.DetectIngredients(context.Background(), nil, "image/png")
	wantError(t, err, mealsync.EINVALID, "The image is empty")
	_, err = o.DetectIngredients(context.Background(), []byte("%PDF-1.7 not an image"), "image/png")
	if mealsync.ErrorCode(err) != mealsync.EUNSUPPORTED {
		t.Errorf("a PDF: err = %v, want EUNSUPPORTED", err)
	}
	if fake.calls.Load() != calls {
		t.Error("invalid images were sent upstream")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg    Config
		fields []string
	}{
		{Config{APIKey: "k", Model: "m"}, nil},
		{Config{}, []string{"MEALSYNC_OPENAI_API_KEY", "MEALSYNC_OPENAI_MODEL"}},
		{Config{APIKey: "k", Model: "m", BaseURL: "localhost:8080"}, []string{"MEALSYNC_OPENAI_BASE_URL"}},
		{Config{APIKey: "k", Model: "m", Timeout: -time.Second, MaxRetries: 9}, []string{"MEALSYNC_OPENAI_TIMEOUT", "MaxRetries"}},
	} {
		err := tc.cfg.Validate()
		var fields []string
		var e *mealsync.Error
		if asError(err, &e) {
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
		}
		if !slices.Equal(fields, tc.fields) {
			t.Errorf("%+v: fields %v, want %v", tc.cfg, fields, tc.fields)
		}
	}
}

func wantError(t *testing.T, err error, code, message string) {
	t.Helper()
	var e *mealsync.Error
	if !asError(err, &e) || e.Code != code || e.Message != message {
		t.Errorf("err = %v, want %s: %q", err, code, message)
	}
}
