// Package api is MealSync's HTTP layer: routes, handlers, wire types,
// middleware and the operational (/actuator) endpoints. It turns requests
// into calls on the domain's services and stores, and domain errors into the
// reference's JSON envelope. routes.go lists every endpoint.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/buildinfo"
	"github.com/mealsync/mealsync/internal/households"
	"github.com/mealsync/mealsync/internal/idempotency"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/live"
	"github.com/mealsync/mealsync/internal/web"
)

// Database is what the health endpoints need to know of the store.
type Database interface {
	Ping(ctx context.Context) error
	Dialect() string
	mealsync.Transactor // work of several stores that must commit together
}

// Deps are the server's collaborators, built by run.
type Deps struct {
	Log         *slog.Logger
	Auth        *auth.Service
	Users       mealsync.UserStore
	Recipes     mealsync.RecipeStore
	Kitchen     *kitchen.Service
	Idempotency *idempotency.Service // runs writes sent with an Idempotency-Key once
	Households  *households.Service
	Hub         *live.Hub     // live sync connections; nil: one of its own
	Tickets     *auth.Tickets // the tickets browsers open live connections with
	// LiveHeartbeat is how often live connections are pinged and their
	// sessions checked; default 25 s.
	LiveHeartbeat  time.Duration
	Images         blob.Store // served under /images/ when it is the local store
	DB             Database
	Registry       *prometheus.Registry // metrics are registered on it and served from it
	Ready          *atomic.Bool         // readiness: false while starting and once shutdown begins
	TrustedProxies []netip.Prefix
	DataDir        string // the disk health check watches it
	Now            mealsync.Clock
	// ListCacheSize is how many catalogue pages are kept (0: no cache);
	// CatalogueVersionTTL how often the catalogue's version is re-read.
	ListCacheSize       int
	CatalogueVersionTTL time.Duration
	// MaxInFlight bounds the API requests served at once (0: no bound);
	// past it a request waits up to AdmissionWait, then gets 503
	// (admission.go).
	MaxInFlight   int
	AdmissionWait time.Duration
	// CORSOrigins are the browser origins allowed to call the API (cors.go);
	// none: no CORS headers at all.
	CORSOrigins []string
	// Web is the web app served at / (internal/web); nil: the API only.
	Web *web.App
}

// Server holds the dependencies the handlers share.
type Server struct {
	log        *slog.Logger
	auth       *auth.Service
	users      mealsync.UserStore
	recipes    mealsync.RecipeStore
	kitchen    *kitchen.Service
	idem       *idempotency.Service
	households *households.Service
	images     blob.Store
	db         Database
	registry   *prometheus.Registry
	metrics    *metrics
	ready      *atomic.Bool
	trusted    []netip.Prefix
	dataDir    string
	now        mealsync.Clock
	build      buildinfo.Info
	handler    http.Handler
	ops        http.Handler
	hub        *live.Hub
	tickets    *auth.Tickets
	live       *liveMetrics
	wsOrigins  []string // hosts whose pages may open a WebSocket (from CORSOrigins)
	heartbeat  time.Duration
	web        *web.App

	listCache *listCache // nil when off
	admission *admission // nil: no bound on requests in flight
}

// New builds the server and its routes.
func New(d Deps) *Server {
	s := &Server{
		log: d.Log, auth: d.Auth, users: d.Users, recipes: d.Recipes, kitchen: d.Kitchen, households: d.Households, images: d.Images,
		idem: d.Idempotency,
		db:   d.DB, registry: d.Registry,
		metrics: newMetrics(d.Registry), ready: d.Ready, trusted: d.TrustedProxies,
		dataDir: d.DataDir, now: d.Now, build: buildinfo.Get(), web: d.Web,
	}
	if s.hub = d.Hub; s.hub == nil {
		s.hub = live.NewHub(live.DefaultMaxPerUser)
	}
	s.tickets, s.live, s.heartbeat = d.Tickets, newLiveMetrics(d.Registry, s.hub), d.LiveHeartbeat
	if s.heartbeat <= 0 {
		s.heartbeat = liveHeartbeat
	}
	for _, o := range d.CORSOrigins {
		if u, err := url.Parse(o); err == nil {
			s.wsOrigins = append(s.wsOrigins, u.Host)
		}
	}
	if d.Recipes != nil {
		s.listCache = newListCache(d.ListCacheSize, d.CatalogueVersionTTL, d.Recipes.CatalogueVersion, d.Recipes.HasPrivateRecipes)
	}
	if s.listCache != nil && d.Kitchen != nil {
		d.Kitchen.OnCatalogueChange(s.listCache.invalidate)
	}
	s.admission = newAdmission(d.MaxInFlight, d.AdmissionWait)
	s.handler = secureHeaders(withCORS(d.CORSOrigins, s.routes()))
	s.ops = secureHeaders(s.opsRoutes())
	return s
}

// ServeHTTP serves every route of the public port.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Ops is the handler of the ops listener, which must not be reachable from
// the internet: metrics, build info and profiles, besides the probes.
func (s *Server) Ops() http.Handler { return s.ops }
