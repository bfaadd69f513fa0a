package api

import "net/http"

// routes lists every endpoint. API routes run under observe (request ID,
// access log, metrics, body limit, panic recovery); each line shows the
// authorisation it needs. The /actuator probes sit outside all of it.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()

	// Users and auth (reference sections 5 and 11).
	api.HandleFunc("POST /api/v1/users/register", s.handleRegister)
	api.HandleFunc("POST /api/v1/users/login", s.handleLogin)
	api.HandleFunc("POST /api/v1/users/refresh", s.handleRefresh)
	api.Handle("GET /api/v1/users", s.admin(s.handleListUsers))
	api.Handle("GET /api/v1/users/{id}", s.user(s.handleGetUser))
	api.Handle("PUT /api/v1/users/{id}", s.user(s.handleUpdateUser))
	api.Handle("PUT /api/v1/users/{id}/preference", s.user(s.handleUpdatePreference))
	api.Handle("DELETE /api/v1/users/{id}", s.admin(s.handleDeleteUser))

	root := http.NewServeMux()
	root.HandleFunc("GET /actuator/health", s.handleHealth)
	root.HandleFunc("GET /actuator/health/liveness", s.handleLiveness)
	root.HandleFunc("GET /actuator/health/readiness", s.handleReadiness)
	root.HandleFunc("GET /actuator/info", s.handleInfo)
	root.Handle("GET /actuator/prometheus", s.prometheusHandler())
	root.HandleFunc("GET /actuator/metrics", s.handleMetricNames)
	root.HandleFunc("GET /actuator/metrics/{name}", s.handleMetric)
	root.Handle("/", s.observe(api))
	return root
}
