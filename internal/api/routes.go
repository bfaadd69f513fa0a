package api

import (
	"net/http"

	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/web"
)

// routes lists every endpoint of the public port. API routes run under
// observe (request ID, access log, metrics, body limit, panic recovery); each
// line shows the authorisation it needs. Every authenticated write takes an
// Idempotency-Key (idempotent, inside the authorisation: a key belongs to
// its user); register, login and refresh ignore one (docs/API.md says why). The /actuator probes sit outside all
// of it; the other actuator endpoints are on the ops listener (opsRoutes)
// only, and answer 404 here.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()

	// Users and auth (reference sections 5 and 11).
	api.HandleFunc("POST /api/v1/users/register", s.handleRegister)
	api.HandleFunc("POST /api/v1/users/login", s.handleLogin)
	api.HandleFunc("POST /api/v1/users/refresh", s.handleRefresh)
	// The web app's cookie session (websession.go: CSRF-checked, no token).
	api.HandleFunc("POST "+webSessionPath, s.sameOriginOnly(s.handleWebSignIn))
	api.HandleFunc("POST "+webSessionPath+"/refresh", s.sameOriginOnly(s.handleWebRefresh))
	api.HandleFunc("POST "+webSessionPath+"/logout", s.sameOriginOnly(s.handleWebSignOut))
	api.Handle("GET /api/v1/users", s.admin(s.handleListUsers))
	api.Handle("GET /api/v1/users/{id}", s.user(s.handleGetUser))
	api.Handle("PUT /api/v1/users/{id}", s.user(s.idempotent(s.handleUpdateUser)))
	api.Handle("PUT /api/v1/users/{id}/preference", s.user(s.idempotent(s.handleUpdatePreference)))
	api.Handle("PUT /api/v1/users/{id}/role", s.admin(s.idempotent(s.handleSetRole)))
	api.Handle("PUT /api/v1/users/{id}/status", s.admin(s.idempotent(s.handleSetStatus)))
	api.Handle("POST /api/v1/users/{id}/logout-all", s.user(s.idempotent(s.handleLogoutAll)))
	api.Handle("DELETE /api/v1/users/{id}", s.admin(s.idempotent(s.handleDeleteUser)))

	// Recipes (sections 4, 6 and 11). Literal paths win over {id}.
	api.Handle("GET /api/v1/recipes", s.optionalUser(s.handleListRecipes))
	api.Handle("POST /api/v1/recipes", s.user(s.idempotent(s.handleCreateRecipe)))
	api.Handle("GET /api/v1/recipes/{id}", s.user(s.handleGetRecipe))
	api.Handle("PUT /api/v1/recipes/{id}", s.user(s.idempotent(s.handleUpdateRecipe)))    // admin, or owner of a private recipe
	api.Handle("DELETE /api/v1/recipes/{id}", s.user(s.idempotent(s.handleDeleteRecipe))) // admin, or owner of a private recipe
	api.Handle("POST /api/v1/recipes/{id}/publish", s.admin(s.idempotent(s.handlePublishRecipe)))
	api.Handle("POST /api/v1/recipes/{id}/image", s.admin(s.idempotent(s.handleUploadImage)))
	api.Handle("POST /api/v1/recipes/save", s.user(s.idempotent(s.handleSaveRecipe)))
	api.Handle("DELETE /api/v1/recipes/save", s.user(s.idempotent(s.handleUnsaveRecipe)))
	api.Handle("GET /api/v1/recipes/saved", s.user(s.handleSavedRecipes))
	api.Handle("GET /api/v1/recipes/recent", s.user(s.handleRecentRecipes))
	api.Handle("GET /api/v1/recipes/recommended", s.user(s.handleRecommended))
	api.Handle("GET /api/v1/recipes/today-picks", s.user(s.handleTodayPicks))
	api.Handle("POST /api/v1/recipes/generate-recipes", s.user(s.idempotent(s.handleGenerate)))
	api.Handle("POST /api/v1/recipes/validate-ingredients", s.user(s.idempotent(s.handleValidateIngredients)))
	api.Handle("POST /api/v1/recipes/detect-ingredients", s.user(s.idempotent(s.handleDetectIngredients)))
	api.Handle("POST /api/v1/ingredient-recognition/detect", s.user(s.idempotent(s.handleDetectIngredientNames)))

	// The released mobile app's own paths (mobile_aliases.go).
	api.Handle("GET /api/v1/saved", s.user(s.handleMobileSaved))
	api.Handle("POST /api/v1/recipes/detect-ingredients-from-text", s.user(s.idempotent(s.handleIngredientsFromText)))

	// Meal plans and their shopping lists.
	api.Handle("POST /api/v1/meal-plans", s.user(s.idempotent(s.handleCreateMealPlan)))
	api.Handle("GET /api/v1/meal-plans", s.user(s.handleListMealPlans))
	api.Handle("GET /api/v1/meal-plans/{id}", s.user(s.handleGetMealPlan))
	api.Handle("DELETE /api/v1/meal-plans/{id}", s.user(s.idempotent(s.handleDeleteMealPlan)))
	api.Handle("GET /api/v1/meal-plans/{id}/shopping-list", s.user(s.handleShoppingList))
	api.Handle("POST /api/v1/meal-plans/{id}/meals/{date}/{mealType}/swap", s.user(s.idempotent(s.handleSwapMeal))) // owner, or a member of its household

	// Households and their shared shopping list; the sync feed.
	api.Handle("POST /api/v1/households", s.user(s.idempotent(s.handleCreateHousehold)))
	api.Handle("GET /api/v1/households/mine", s.user(s.handleMyHousehold))
	api.Handle("POST /api/v1/households/join", s.user(s.idempotent(s.handleJoinHousehold)))
	api.Handle("GET /api/v1/households/{id}", s.user(s.handleGetHousehold))
	api.Handle("PUT /api/v1/households/{id}", s.user(s.idempotent(s.handleRenameHousehold)))
	api.Handle("POST /api/v1/households/{id}/invites", s.user(s.idempotent(s.handleInvite)))
	api.Handle("POST /api/v1/households/{id}/leave", s.user(s.idempotent(s.handleLeaveHousehold)))
	api.Handle("PUT /api/v1/households/{id}/owner", s.user(s.idempotent(s.handleHandOver)))
	api.Handle("DELETE /api/v1/households/{id}/members/{userId}", s.user(s.idempotent(s.handleRemoveMember)))
	api.Handle("GET /api/v1/households/{id}/shopping-list", s.user(s.handleShoppingListGet))
	api.Handle("POST /api/v1/households/{id}/shopping-list/items", s.user(s.idempotent(s.handleAddItem)))
	api.Handle("PATCH /api/v1/households/{id}/shopping-list/items/{itemId}", s.user(s.idempotent(s.handleEditItem)))
	api.Handle("DELETE /api/v1/households/{id}/shopping-list/items/{itemId}", s.user(s.idempotent(s.handleDeleteItem)))
	api.Handle("POST /api/v1/households/{id}/shopping-list/items/{itemId}/check", s.user(s.idempotent(s.handleCheckItem(true))))
	api.Handle("POST /api/v1/households/{id}/shopping-list/items/{itemId}/uncheck", s.user(s.idempotent(s.handleCheckItem(false))))
	api.Handle("POST /api/v1/households/{id}/shopping-list/reorder", s.user(s.idempotent(s.handleReorder)))
	api.Handle("POST /api/v1/households/{id}/shopping-list/clear-checked", s.user(s.idempotent(s.handleClearChecked)))
	api.Handle("POST /api/v1/households/{id}/shopping-list/from-meal-plan", s.user(s.idempotent(s.handleAddMealPlanToList)))
	api.Handle("GET /api/v1/sync", s.user(s.handleSync))
	api.Handle("POST /api/v1/sync/ticket", s.user(s.handleLiveTicket))
	api.Handle("GET /api/v1/sync/ws", s.liveUser(s.handleLiveWS))
	api.Handle("GET /api/v1/sync/events", s.liveUser(s.handleLiveEvents))

	// Recipe images, public and immutable (content-addressed names).
	if s.images != nil {
		api.Handle("GET /images/{key...}", blob.Handler(s.images, s.fail))
	}

	// The web app (internal/web): its pages, each answered with index.html,
	// and its content-hashed assets.
	if s.web != nil {
		for _, page := range web.Pages {
			api.HandleFunc("GET "+page, s.web.ServeIndex)
		}
		api.HandleFunc("GET /assets/{name}", s.web.ServeAsset)
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /actuator/health", s.handleHealth)
	root.HandleFunc("GET /actuator/health/liveness", s.handleLiveness)
	root.HandleFunc("GET /actuator/health/readiness", s.handleReadiness)
	root.Handle("/", s.observe(api))
	return root
}

// opsRoutes lists the ops listener's endpoints (MEALSYNC_OPS_ADDR, loopback
// by default): the probes again, so either port can be probed, and what only
// operators may read. No net/http/pprof: it adds half a megabyte to the
// binary, and the image's size budget (docs/BENCHMARKS.md) has no room for it.
func (s *Server) opsRoutes() http.Handler {
	ops := http.NewServeMux()
	ops.HandleFunc("GET /actuator/health", s.handleHealth)
	ops.HandleFunc("GET /actuator/health/liveness", s.handleLiveness)
	ops.HandleFunc("GET /actuator/health/readiness", s.handleReadiness)
	ops.HandleFunc("GET /actuator/info", s.handleInfo)
	ops.Handle("GET /actuator/prometheus", s.prometheusHandler())
	ops.HandleFunc("GET /actuator/metrics", s.handleMetricNames)
	ops.HandleFunc("GET /actuator/metrics/{name}", s.handleMetric)
	return s.jsonFallback(ops)
}
