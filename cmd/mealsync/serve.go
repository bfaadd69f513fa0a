package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/buildinfo"
	"github.com/mealsync/mealsync/internal/catalogindex"
	"github.com/mealsync/mealsync/internal/config"
	"github.com/mealsync/mealsync/internal/households"
	"github.com/mealsync/mealsync/internal/idempotency"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/live"
	"github.com/mealsync/mealsync/internal/metrics"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/usercache"
	"github.com/mealsync/mealsync/internal/web"
)

// now is the service clock. Times are kept to the microsecond, which both
// databases store exactly, so a value reads back as it was written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// serve runs the HTTP server until ctx is cancelled, then shuts down without
// dropping a request: readiness DOWN and "Connection: close" on every answer
// → the delay, while it still accepts (balancers notice), unless its socket
// was passed to it (its other holder keeps accepting) → stop accepting →
// drain, counting open connections, with a fresh timeout → database closed
// last.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	started := time.Now()
	cfg, err := loadConfig("serve", args, getenv, stderr)
	if err != nil {
		return ignoreHelp(err)
	}
	if err := cfg.ValidateSecrets(); err != nil {
		return fmt.Errorf("serve: configuration:\n%w", err)
	}
	log := newLogger(cfg, stdout)
	setMemoryLimit(log)
	b := buildinfo.Get()
	log.Info("starting", "version", b.Version, "commit", b.Commit, "config", cfg)

	db, err := openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close() // last: after the HTTP server has drained
	if err := prepareSchema(ctx, db, cfg, log); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !cfg.Postgres() {
		if err := seedIfEmpty(ctx, db, log); err != nil {
			return err
		}
	}
	images, err := openImages(ctx, cfg)
	if err != nil {
		return err
	}
	// The catalogue is listed and searched from memory, kept in step with
	// the database's record of which recipes changed.
	var recipes mealsync.RecipeStore = db
	var caches []metrics.CacheSource // counted in mealsync_cache_lookups_total
	// With replicas, the index reads its feed from them (docs/INFRASTRUCTURE.md,
	// "Read replicas").
	var feed mealsync.CatalogueFeed = db
	var replicas *postgres.Replicas
	if len(cfg.ReplicaURLs) > 0 {
		replicas, err = postgres.OpenReplicas(db, cfg.ReplicaURLs, postgres.Pool{
			MaxOpen: 4, MaxIdle: 4, MaxLifetime: cfg.DBConnMaxLifetime, MaxIdleTime: cfg.DBConnMaxIdleTime,
		}, cfg.ReplicaMaxLag, log)
		if err != nil {
			return err
		}
		defer replicas.Close()
		go replicas.Run(ctx)
		feed = postgres.NewCatalogueFeed(db, replicas)
	}
	if cfg.CatalogueIndex {
		idx := catalogindex.New(db, feed, cfg.CatalogueVersionTTL, time.Now)
		caches = append(caches, metrics.CacheSource{Name: "catalogue", Lookups: idx.Lookups})
		loaded := time.Now()
		if err := idx.Warm(ctx); err != nil {
			return fmt.Errorf("catalogue index: %w", err)
		}
		log.Info("catalogue index loaded", "took_ms", time.Since(loaded).Milliseconds())
		recipes = idx
	}
	gen, err := newProvider(cfg, recipes, log)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.SQL(), db.Dialect()),
		buildInfoGauge(b),
		metrics.NewDiskCollector(cfg.DataDir),
	)

	var ready atomic.Bool
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mealsync_ready", Help: "1 while the instance reports ready, 0 while starting or shutting down.",
	}, func() float64 {
		if ready.Load() {
			return 1
		}
		return 0
	}))

	keys, err := signingKeys(cfg, log)
	if err != nil {
		return err
	}
	// Every request authenticates its user: from memory, while the database's
	// change feed says the user has not changed.
	var users mealsync.UserStore = db
	var tokens mealsync.TokenStore = db
	if cfg.UserCacheSize > 0 {
		c := usercache.New(db, db, cfg.UserCacheSize, cfg.UserCacheTTL, time.Now)
		users, tokens = c, c.Tokens(db)
		caches = append(caches, metrics.CacheSource{Name: "user", Lookups: c.Lookups})
	}
	authSvc := auth.NewService(users, tokens, db, keys, auth.Config{
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL, RefreshRetry: cfg.RefreshRetry,
		MaxLoginFailures: cfg.LoginMaxFailures, LoginWindow: cfg.LoginWindow,
		MaxRegistrations: cfg.RegisterMaxPerAddress, RegisterWindow: cfg.RegisterWindow,
		HashSlots: auth.HashSlots(debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0)),
	}, now, log)
	// Live sync: this instance's connections, woken by its own writes and,
	// on PostgreSQL, by every instance's through the database's
	// notifications (delivered at commit).
	hub := live.NewHub(live.DefaultMaxPerUser)
	listening := func() bool { return true } // SQLite: one instance, whose own writes wake it
	if cfg.Postgres() {
		listener := postgres.NewListener(cfg.ListenDatabaseURL, sqldb.HouseholdChannel, func(payload string) {
			id, rev, _ := strings.Cut(payload, ":")
			n, _ := strconv.ParseInt(rev, 10, 64)
			hub.Changed(id, n)
		}, hub.WakeAll, log)
		go listener.Run(ctx)
		listening = listener.Up
	}
	if replicas != nil {
		reg.MustRegister(metrics.NewReplicaCollector(func() []metrics.Replica {
			var out []metrics.Replica
			for _, r := range replicas.Status() {
				out = append(out, metrics.Replica{Name: r.Name, InRotation: r.InRotation, Lag: r.Lag, Reads: r.Reads})
			}
			return out
		}, replicas.Fallbacks.Load))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mealsync_live_listener_up",
		Help: "1 while every instance's household changes reach this one's live connections (on PostgreSQL: its LISTEN connection is up).",
	}, func() float64 {
		if listening() {
			return 1
		}
		return 0
	}))
	webApp, err := web.New(web.Options{ImageSources: imageSources(cfg)})
	if err != nil {
		return err
	}
	handler := api.New(api.Deps{
		Log: log, Auth: authSvc, Users: users, Recipes: recipes, Images: images, Idempotency: idempotency.New(db, now, log),
		Kitchen:    kitchen.New(recipes, db, db, gen, blob.Images{Store: images}, cfg.ImageURLHosts, now, log),
		Households: households.New(db, db, recipes, now, hub.Changed),
		Hub:        hub, Tickets: auth.NewTickets(db, authSvc, now),
		DB: db, Registry: reg, Ready: &ready,
		TrustedProxies: cfg.TrustedProxies, DataDir: cfg.DataDir, Now: now,
		ListCacheSize: cfg.ListCacheSize, CatalogueVersionTTL: cfg.CatalogueVersionTTL,
		MaxInFlight: cfg.MaxInFlight, AdmissionWait: cfg.AdmissionWait,
		CORSOrigins: cfg.CORSOrigins, Web: webApp,
	})
	caches = append(caches, metrics.CacheSource{Name: "token", Lookups: authSvc.TokenLookups})
	if cfg.ListCacheSize > 0 {
		caches = append(caches, metrics.CacheSource{Name: "list_page", Lookups: handler.ListCacheLookups})
	}
	reg.MustRegister(metrics.NewCacheCollector(caches...))

	// The API's socket: passed by a supervisor (systemd socket activation,
	// or mealsyncctl handing it from the instance this one replaces), or
	// our own on MEALSYNC_ADDR.
	apiLn, inherited, err := listenAPI(cfg.Addr, getenv)
	if err != nil {
		return err
	}
	ln := &onceCloseListener{Listener: wholeListener{apiLn}}
	drain := newDrainer()
	srv := &http.Server{
		Handler:           wholeAnswers(drain.wrap(handler)),
		ConnState:         drain.connState,
		ConnContext:       wholeConnContext,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second, // uploads of up to 10 MB on slow phones
		WriteTimeout:      60 * time.Second, // long-lived streams extend their own deadline
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slogErrorLog(log),
	}
	defer srv.Close() // an early return leaves nothing listening; a no-op after Shutdown
	ops, err := listenOps(cfg.OpsAddr, handler.Ops(), log)
	if err != nil {
		ln.Close()
		return err
	}
	defer ops.close()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	go ops.serve()
	go pruneOldRows(ctx, db, max(cfg.LoginWindow, cfg.RegisterWindow), log)
	go pruneIdempotencyKeys(ctx, db, log)

	ready.Store(true)
	log.Info("listening", "addr", ln.Addr().String(), "ops_addr", ops.addr(), "inherited_socket", inherited,
		"startup_ms", time.Since(started).Milliseconds())

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case err := <-ops.done:
		return err
	case <-ctx.Done():
	}

	// From the first moment: readiness DOWN, and every answer asks the
	// client to close its connection (drain.go explains why). An idle
	// connection is left to its client for the shutdown delay, counted from
	// the signal: nginx closes its own idle ones sooner (its upstream
	// keepalive_timeout is 4 s), so it is always the side that closes.
	ready.Store(false)
	hub.Drain() // new live connections go to another instance
	drain.start()
	idleGrace := time.NewTimer(cfg.ShutdownDelay)
	defer idleGrace.Stop()
	if inherited {
		// Whoever else holds the socket keeps accepting (the kernel queues
		// connections meanwhile), so no balancer has anything to notice:
		// stop accepting now.
		log.Info("shutting down: readiness DOWN; the socket stays open in its other holder, so it stops accepting now",
			"idle_grace", cfg.ShutdownDelay)
	} else {
		log.Info("shutting down: readiness DOWN, still serving", "delay", cfg.ShutdownDelay)
		select {
		case <-idleGrace.C: // the shutdown delay itself, not synchronisation
		case err := <-serveErr:
			return fmt.Errorf("http server: %w", err)
		case err := <-ops.done:
			return err
		}
	}
	// Stop accepting, then let the open connections end: requests in
	// flight finish with "Connection: close", idle connections are closed
	// by their client, or by us once idle past the grace. The signal
	// context is done: the drain gets a fresh one. The ops listener goes
	// last, so metrics can be read while requests drain.
	drainStart := time.Now()
	ln.Close()
	if err := <-serveErr; !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Live connections outlast any delay: tell them to resume elsewhere
	// (1012), which also ends their requests, so the drain can finish.
	log.Info("closing live connections", "open", hub.CloseAll(live.CloseRestart))
	log.Info("draining connections", "open", drain.openConns(), "timeout", cfg.ShutdownTimeout)
	if inherited {
		gctx, stop := context.WithCancel(sctx)
		go func() {
			select {
			case <-idleGrace.C:
			case <-gctx.Done():
			}
			stop()
		}()
		left := drain.wait(gctx)
		stop()
		if left > 0 {
			log.Info("connections idle past the grace; closing them", "open", left)
		}
	}
	// Closes the connections still idle (every one used since the signal
	// was answered "Connection: close" and is gone), and waits for requests
	// still running, up to the timeout.
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Live connections are the server's no longer (hijacked): wait for
	// each to have sent its 1012 and closed.
	if left := hub.Wait(sctx); left > 0 {
		log.Warn("live connections still open at the shutdown timeout", "open", left)
	}
	log.Info("drained", "ms", time.Since(drainStart).Milliseconds())
	if err := ops.shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped", "uptime", time.Since(started).Round(time.Millisecond).String())
	return nil
}

// signingKeys returns the access-token keys: the configured secret first
// (it signs), then the previous ones (they only verify). A development
// server without a secret uses a random key it keeps in the data folder —
// never a constant, which anyone could read in the source and sign with.
func signingKeys(cfg *config.Config, log *slog.Logger) ([][]byte, error) {
	if cfg.JWTSecret == "" {
		key, created, err := auth.LoadOrCreateKey(cfg.JWTKeyFile())
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("made a random JWT signing key for development", "file", cfg.JWTKeyFile())
		}
		return [][]byte{key}, nil
	}
	keys := [][]byte{[]byte(cfg.JWTSecret)}
	for _, p := range cfg.JWTPreviousSecrets {
		keys = append(keys, []byte(p))
	}
	return keys, nil
}

func buildInfoGauge(b buildinfo.Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mealsync_build_info",
		Help: "The running build; always 1.",
		ConstLabels: prometheus.Labels{
			"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion,
		},
	})
	g.Set(1)
	return g
}

// pruneOldRows deletes throttle records that have left the window, and the
// user and recipe change feeds' entries older than an hour (a cache that has
// not asked for that long starts over), so the tables stay small however
// long the server runs.
func pruneOldRows(ctx context.Context, db *sqldb.DB, window time.Duration, log interface {
	Warn(msg string, args ...any)
}) {
	t := time.NewTicker(min(window, userChangesKept))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := db.PruneLoginFailures(ctx, now().Add(-window)); err != nil && ctx.Err() == nil {
				log.Warn("prune login failures", "err", err)
			}
			if _, err := db.PruneUserChanges(ctx, now().Add(-userChangesKept)); err != nil && ctx.Err() == nil {
				log.Warn("prune user changes", "err", err)
			}
			if _, err := db.PruneRecipeChanges(ctx, now().Add(-userChangesKept)); err != nil && ctx.Err() == nil {
				log.Warn("prune recipe changes", "err", err)
			}
			if err := db.PruneHouseholdFeeds(ctx, now().Add(-householdChangesKept)); err != nil && ctx.Err() == nil {
				log.Warn("prune household feeds", "err", err)
			}
			if err := db.PruneTickets(ctx, now()); err != nil && ctx.Err() == nil {
				log.Warn("prune live tickets", "err", err)
			}
		}
	}
}

// userChangesKept is how long the user and recipe change feeds keep an
// entry; householdChangesKept, households' feeds and operation ids (a
// device offline longer than that resyncs).
const (
	userChangesKept      = time.Hour
	householdChangesKept = 14 * 24 * time.Hour
)
