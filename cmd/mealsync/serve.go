package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mealsync/mealsync/internal/api"
	"github.com/mealsync/mealsync/internal/auth"
	"github.com/mealsync/mealsync/internal/buildinfo"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/metrics"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// now is the service clock. Times are kept to the microsecond, which both
// databases store exactly, so a value reads back as it was written.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// serve runs the HTTP server until ctx is cancelled, then shuts down without
// dropping a request: readiness DOWN → delay (balancers notice) → Shutdown
// with a fresh timeout → database closed last.
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
	gen, err := newProvider(cfg, db, log)
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

	authSvc := auth.NewService(db, db, db, []byte(cfg.JWTSecret), auth.Config{
		AccessTTL: cfg.AccessTokenTTL, RefreshTTL: cfg.RefreshTokenTTL,
		MaxLoginFailures: cfg.LoginMaxFailures, LoginWindow: cfg.LoginWindow,
	}, now, log)
	handler := api.New(api.Deps{
		Log: log, Auth: authSvc, Users: db, Recipes: db, Images: images,
		Kitchen: kitchen.New(db, db, gen, images, cfg.ImageURLHosts, now, log),
		DB:      db, Registry: reg, Ready: &ready,
		TrustedProxies: cfg.TrustedProxies, DataDir: cfg.DataDir, Now: now,
		ListCacheSize: cfg.ListCacheSize, CatalogueVersionTTL: cfg.CatalogueVersionTTL,
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second, // uploads of up to 10 MB on slow phones
		WriteTimeout:      60 * time.Second, // long-lived streams extend their own deadline
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slogErrorLog(log),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	go pruneLoginFailures(ctx, db, cfg.LoginWindow, log)

	ready.Store(true)
	log.Info("listening", "addr", ln.Addr().String(), "startup_ms", time.Since(started).Milliseconds())

	select {
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	ready.Store(false)
	log.Info("shutting down: readiness DOWN, still serving", "delay", cfg.ShutdownDelay)
	select {
	case <-time.After(cfg.ShutdownDelay): // the shutdown delay itself, not synchronisation
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	}
	// The signal context is done: Shutdown gets a fresh one.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	log.Info("draining connections", "timeout", cfg.ShutdownTimeout)
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped", "uptime", time.Since(started).Round(time.Millisecond).String())
	return nil
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

// pruneLoginFailures deletes throttle records that have left the window, so
// the table stays small however long the server runs.
func pruneLoginFailures(ctx context.Context, db *sqldb.DB, window time.Duration, log interface {
	Warn(msg string, args ...any)
}) {
	t := time.NewTicker(window)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := db.PruneLoginFailures(ctx, now().Add(-window)); err != nil && ctx.Err() == nil {
				log.Warn("prune login failures", "err", err)
			}
		}
	}
}
