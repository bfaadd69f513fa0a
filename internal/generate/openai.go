package generate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/sashabaranov/go-openai"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/ranking"
)

// Config configures the OpenAI provider. run fills it from
// MEALSYNC_OPENAI_BASE_URL, MEALSYNC_OPENAI_API_KEY, MEALSYNC_OPENAI_MODEL
// and MEALSYNC_OPENAI_TIMEOUT.
type Config struct {
	BaseURL    string        // of an OpenAI-compatible API; DefaultBaseURL when empty
	APIKey     string        // sent as a bearer token
	Model      string        // e.g. "gpt-4o-mini"; must accept json_schema and, to detect, images
	Timeout    time.Duration // for each attempt; DefaultTimeout when zero
	MaxRetries int           // extra attempts after a connection error, 408, 409, 429 or 5xx
}

// Defaults and bounds of Config.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultTimeout = 60 * time.Second
	maxRetries     = 5
)

// Validate reports what is wrong with c, all at once.
func (c Config) Validate() error {
	var v mealsync.Validation
	if c.APIKey == "" {
		v.Add("MEALSYNC_OPENAI_API_KEY", "is required with the openai provider")
	}
	if c.Model == "" {
		v.Add("MEALSYNC_OPENAI_MODEL", "is required with the openai provider")
	}
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.Add("MEALSYNC_OPENAI_BASE_URL", "must be an http or https URL")
		}
	}
	if c.Timeout < 0 {
		v.Add("MEALSYNC_OPENAI_TIMEOUT", "must not be negative")
	}
	if c.MaxRetries < 0 || c.MaxRetries > maxRetries {
		v.Add("MaxRetries", fmt.Sprintf("must be between 0 and %d", maxRetries))
	}
	return v.Err()
}

// OpenAI generates recipes and detects ingredients with a chat-completions
// model, asking for JSON that follows a strict schema and then checking it
// as if a user had typed it.
type OpenAI struct {
	client *openai.Client
	retry  retryPolicy
	model  string
	logger *slog.Logger
}

var _ mealsync.RecipeProvider = (*OpenAI)(nil)

// NewOpenAI returns the provider for cfg, logging upstream failures to
// logger (the client is only told what kind of failure it was). It reads
// nothing from the environment.
func NewOpenAI(cfg Config, logger *slog.Logger) (*OpenAI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	base, _ := url.Parse(cfg.BaseURL) // checked by Validate
	clientCfg := openai.DefaultConfig(cfg.APIKey)
	clientCfg.BaseURL = cfg.BaseURL
	clientCfg.HTTPClient = &http.Client{
		Timeout:       cfg.Timeout, // covers reading the reply too
		CheckRedirect: sameOrigin(base),
	}
	return &OpenAI{
		client: openai.NewClientWithConfig(clientCfg),
		retry:  newRetryPolicy(cfg.MaxRetries),
		model:  cfg.Model,
		logger: logger,
	}, nil
}

// sameOrigin lets the client follow only redirects that stay on base's
// scheme and host, so that the bearer token goes nowhere else.
func sameOrigin(base *url.URL) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != base.Scheme || req.URL.Host != base.Host {
			return errRedirectRefused
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// Name implements mealsync.RecipeProvider.
func (*OpenAI) Name() string { return "openai" }

// Messages clients see. They never carry the upstream's words.
const (
	msgGenerateFailed = "Recipe generation failed: the AI provider returned an error"
	msgDetectFailed   = "Ingredient detection failed: the AI provider returned an error"
	msgCredentials    = "The AI provider rejected our credentials"
	msgTimeout        = "The AI provider did not answer in time"
)

// Generate implements mealsync.RecipeProvider. The model is asked for exactly Count
// recipes; each reply recipe is validated like user input, has tags its own
// ingredients contradict removed, and is dropped if ranking.Allowed says the
// user may not have it. Fewer than Count valid recipes are returned as they
// are; none at all is an upstream error.
func (o *OpenAI) Generate(ctx context.Context, req mealsync.GenerateRequest) ([]*mealsync.Recipe, error) {
	n, err := wanted(req)
	if err != nil {
		return nil, err
	}
	given, err := usable(req)
	if err != nil {
		return nil, err
	}
	content, err := o.complete(ctx, "generate", msgGenerateFailed, openai.ChatCompletionRequest{
		Model: o.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: recipeSystemPrompt},
			{Role: openai.ChatMessageRoleUser, Content: recipeUserPrompt(req, given, n)},
		},
		ResponseFormat: jsonSchema("recipes", recipesSchema),
	})
	if err != nil {
		return nil, err
	}
	items, err := decodeList(content, "recipes")
	if err != nil {
		o.logger.WarnContext(ctx, "ai provider reply unusable", "op", "generate", "err", err, "reply_bytes", len(content))
		return nil, upstreamFailure(msgGenerateFailed)
	}
	var out []*mealsync.Recipe
	keys := map[string]bool{}
	for i, raw := range items {
		if len(out) == n {
			break
		}
		r, err := recipeFromAI(raw)
		if err != nil {
			o.logger.WarnContext(ctx, "ai recipe dropped: invalid", "index", i, "problems", problems(err))
			continue
		}
		for _, t := range ranking.ContradictedTags(r) {
			r.Tags = deleteString(r.Tags, t)
		}
		if !ranking.Allowed(r, req.Preferences) {
			o.logger.WarnContext(ctx, "ai recipe dropped: breaks the user's preferences", "index", i, "name", r.Name)
			continue
		}
		if keys[r.IngredientKey] {
			continue
		}
		keys[r.IngredientKey] = true
		out = append(out, r)
	}
	if len(out) == 0 {
		o.logger.WarnContext(ctx, "ai provider returned no usable recipe", "returned", len(items))
		return nil, upstreamFailure(msgGenerateFailed)
	}
	return out, nil
}

// detectableTypes are the image types vision models take.
var detectableTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true}

// DetectIngredients implements mealsync.RecipeProvider. The image goes to the model as a
// data URL. Its type is read from its bytes: the declared contentType is only
// a client's claim (phones often send application/octet-stream). Items
// without a usable name and repeats are dropped; an image with no food yields
// an empty list.
func (o *OpenAI) DetectIngredients(ctx context.Context, image []byte, _ string) ([]mealsync.Ingredient, error) {
	if len(image) == 0 {
		return nil, mealsync.Errorf(mealsync.EINVALID, "The image is empty")
	}
	mediaType := http.DetectContentType(image)
	if !detectableTypes[mediaType] {
		return nil, mealsync.Errorf(mealsync.EUNSUPPORTED, "The image must be JPEG, PNG, WebP or GIF")
	}
	dataURL := "data:" + mediaType + ";base64," + base64.StdEncoding.EncodeToString(image)
	content, err := o.complete(ctx, "detect", msgDetectFailed, openai.ChatCompletionRequest{
		Model: o.model,
		Messages: []openai.ChatCompletionMessage{
			{Role: openai.ChatMessageRoleSystem, Content: detectSystemPrompt},
			{Role: openai.ChatMessageRoleUser, MultiContent: []openai.ChatMessagePart{
				{Type: openai.ChatMessagePartTypeText, Text: detectUserPrompt},
				{Type: openai.ChatMessagePartTypeImageURL, ImageURL: &openai.ChatMessageImageURL{URL: dataURL}},
			}},
		},
		ResponseFormat: jsonSchema("ingredients", ingredientsSchema),
	})
	if err != nil {
		return nil, err
	}
	items, err := decodeList(content, "ingredients")
	if err != nil {
		o.logger.WarnContext(ctx, "ai provider reply unusable", "op", "detect", "err", err, "reply_bytes", len(content))
		return nil, upstreamFailure(msgDetectFailed)
	}
	out := []mealsync.Ingredient{}
	seen := map[string]bool{}
	for _, raw := range items {
		if len(out) == maxDetected {
			break
		}
		var a aiIngredient
		if json.Unmarshal(raw, &a) != nil {
			continue
		}
		ing, ok := ingredientFromAI(a)
		norm := ranking.NormalizeIngredient(ing.Name)
		if !ok || norm == "" || seen[norm] {
			continue
		}
		seen[norm] = true
		out = append(out, ing)
	}
	return out, nil
}

// complete sends one chat completion, retried as o.retry allows, and returns
// the reply's text, or a domain error: timeout (504), rejected credentials or
// any other failure (502, with failMsg). What went wrong upstream is logged
// here, without the key or the reply, because the client is told nothing
// about it.
func (o *OpenAI) complete(ctx context.Context, op, failMsg string, req openai.ChatCompletionRequest) (string, error) {
	start := time.Now()
	var resp openai.ChatCompletionResponse
	err := o.retry.do(ctx, func() (http.Header, error) {
		var err error
		resp, err = o.client.CreateChatCompletion(ctx, req)
		return resp.Header(), err
	})
	if err != nil {
		return "", o.upstreamError(ctx, op, failMsg, err, time.Since(start))
	}
	if len(resp.Choices) == 0 {
		o.logger.WarnContext(ctx, "ai provider returned no choice", "op", op)
		return "", upstreamFailure(failMsg)
	}
	choice := resp.Choices[0]
	switch {
	case choice.Message.Refusal != "":
		o.logger.WarnContext(ctx, "ai provider refused", "op", op)
		return "", upstreamFailure(failMsg)
	case choice.FinishReason == openai.FinishReasonLength:
		o.logger.WarnContext(ctx, "ai provider reply truncated", "op", op)
		return "", upstreamFailure(failMsg)
	}
	return choice.Message.Content, nil
}

func (o *OpenAI) upstreamError(ctx context.Context, op, failMsg string, err error, took time.Duration) error {
	status, code, typ := statusOf(err)
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		// The caller went away; nobody is left to answer.
		return fmt.Errorf("generate: %s: %w", op, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		o.logger.WarnContext(ctx, "ai provider timed out", "op", op, "took", took)
		return &mealsync.Error{Code: mealsync.ETIMEOUT, Message: msgTimeout}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		o.logger.ErrorContext(ctx, "ai provider rejected our credentials: check MEALSYNC_OPENAI_API_KEY", "op", op, "status", status, "code", code)
		return upstreamFailure(msgCredentials)
	case status != 0:
		// Not err itself: go-openai's error text holds the reply's message
		// or body, which may echo the key.
		o.logger.WarnContext(ctx, "ai provider returned an error", "op", op, "status", status, "code", code, "type", typ)
	default:
		o.logger.WarnContext(ctx, "ai provider unreachable", "op", op, "err", err)
	}
	return upstreamFailure(failMsg)
}

// upstreamFailure is the 502 error with a fixed message.
func upstreamFailure(msg string) error {
	return &mealsync.Error{Code: mealsync.EUPSTREAM, Message: msg}
}

// jsonSchema asks for a reply that follows schema strictly.
func jsonSchema(name string, schema map[string]any) *openai.ChatCompletionResponseFormat {
	return &openai.ChatCompletionResponseFormat{
		Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
			Name:   name,
			Strict: true,
			Schema: jsonObject(schema),
		},
	}
}

// jsonObject is a map that go-openai can send as a schema, which it takes
// as a json.Marshaler.
type jsonObject map[string]any

func (j jsonObject) MarshalJSON() ([]byte, error) { return json.Marshal(map[string]any(j)) }

func deleteString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
