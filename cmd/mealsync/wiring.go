package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/blob"
	"github.com/mealsync/mealsync/internal/catalog"
	"github.com/mealsync/mealsync/internal/config"
	"github.com/mealsync/mealsync/internal/generate"
	"github.com/mealsync/mealsync/internal/kitchen"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// openImages returns the S3 store when a bucket is configured, the local
// folder otherwise.
func openImages(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	if cfg.S3Bucket == "" {
		return blob.NewLocal(cfg.BlobDir, cfg.PublicImageBaseURL)
	}
	s3, err := blob.NewS3(blob.S3Config{
		Endpoint: cfg.S3Endpoint, Region: cfg.S3Region, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey,
		SecretKey: cfg.S3SecretKey, UseSSL: cfg.S3UseSSL, PublicBaseURL: cfg.PublicImageBaseURL,
	})
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s3.Check(cctx); err != nil {
		return nil, fmt.Errorf("image store: bucket %s: %w", cfg.S3Bucket, err)
	}
	return s3, nil
}

// newProvider returns the recipe generator: the offline catalogue by
// default, or an OpenAI-compatible endpoint.
func newProvider(cfg *config.Config, recipes mealsync.RecipeStore, log *slog.Logger) (mealsync.RecipeProvider, error) {
	if cfg.AIProvider != "openai" {
		return generate.NewCatalog(kitchen.CatalogSource(recipes)), nil
	}
	return generate.NewOpenAI(generate.Config{
		BaseURL: cfg.OpenAIBaseURL, APIKey: cfg.OpenAIAPIKey, Model: cfg.OpenAIModel,
		Timeout: cfg.OpenAITimeout, MaxRetries: 1,
	}, log)
}

// seedIfEmpty loads the starter catalogue into an empty database, so the
// first `go run ./cmd/mealsync` has recipes to show.
func seedIfEmpty(ctx context.Context, db *sqldb.DB, log *slog.Logger) error {
	n, err := db.CountRecipes(ctx)
	if err != nil || n > 0 {
		return err
	}
	added, err := catalog.Seed(ctx, db, now())
	if err != nil {
		return fmt.Errorf("seed catalogue: %w", err)
	}
	log.Info("starter catalogue loaded", "recipes", added)
	return nil
}

// seed adds the starter catalogue's missing recipes (any database).
func seed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("seed", args, getenv, stderr)
	if err != nil {
		return ignoreHelp(err)
	}
	db, err := openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// The schema rules of serve: SQLite migrates itself, PostgreSQL must be
	// migrated (or MEALSYNC_MIGRATE_ON_START set).
	if err := prepareSchema(ctx, db, cfg, newLogger(cfg, stderr)); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	added, err := catalog.Seed(ctx, db, now())
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(stdout, "added %d recipes from the starter catalogue\n", added)
	return nil
}

// imageSources are the origins, besides the app's own, that recipe images
// may come from, for the web app's Content-Security-Policy: the allowed
// image hosts (https only, as the API requires), the public image base URL
// and, without one, the S3 endpoint the bucket's URLs point at.
func imageSources(cfg *config.Config) []string {
	var out []string
	for _, h := range cfg.ImageURLHosts {
		out = append(out, "https://"+h)
	}
	if u, err := url.Parse(cfg.PublicImageBaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		out = append(out, u.Scheme+"://"+u.Host)
	} else if cfg.S3Bucket != "" && cfg.PublicImageBaseURL == "" {
		scheme := "http"
		if cfg.S3UseSSL {
			scheme = "https"
		}
		out = append(out, scheme+"://"+cfg.S3Endpoint)
	}
	return out
}
