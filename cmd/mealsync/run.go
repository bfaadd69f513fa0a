package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/mealsync/mealsync/internal/buildinfo"
	"github.com/mealsync/mealsync/internal/config"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/sqldb/sqlite"
)

const usage = `MealSync server.

Usage:
  mealsync [serve] [flags]   serve the API (the default)
  mealsync migrate [flags]   apply database migrations and exit
  mealsync seed [flags]      add the starter recipe catalogue's missing recipes
  mealsync healthcheck       exit 0 if the local server is ready, 1 if not
  mealsync backup [-o FILE]  write a consistent backup of the database, with checksum and metadata
  mealsync restore -i FILE   restore a backup into an empty database
  mealsync version           print the build

Configuration comes from MEALSYNC_* environment variables (see README);
flags override them. Run 'mealsync serve -h' for the flags.
`

// run is the whole program; main only supplies the process's environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return seed(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv, stdout, stderr)
	case "backup":
		return takeBackup(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return restoreBackup(ctx, rest, getenv, stdout, stderr)
	case "version":
		b := buildinfo.Get()
		fmt.Fprintf(stdout, "mealsync %s (commit %s, built %s, %s)\n", b.Version, b.Commit, b.BuildTime, b.GoVersion)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// loadConfig reads the configuration; -h prints the flags and is no error.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (*config.Config, error) {
	cfg, err := config.Load(getenv, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		return nil, fmt.Errorf("%s: configuration:\n%w", name, err)
	}
	return cfg, nil
}

var errHelp = errors.New("help requested")

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openDB opens the configured database without touching its schema.
func openDB(cfg *config.Config) (*sqldb.DB, error) {
	if cfg.Postgres() {
		return postgres.Open(cfg.DatabaseURL, postgres.Pool{
			MaxOpen: cfg.DBMaxOpenConns, MaxIdle: cfg.DBMaxIdleConns,
			MaxLifetime: cfg.DBConnMaxLifetime, MaxIdleTime: cfg.DBConnMaxIdleTime,
			Pooled: cfg.Pooled(),
		})
	}
	return sqlite.Open(cfg.SQLitePath())
}

// migrateDB applies pending migrations: on db, or behind a pooler over a
// direct connection of their own (a migration's DDL and its lock want one
// session of PostgreSQL's own, which a transaction pooler does not give).
func migrateDB(ctx context.Context, db *sqldb.DB, cfg *config.Config) ([]sqldb.Migration, error) {
	if !cfg.Pooled() {
		return db.Migrate(ctx, time.Now())
	}
	direct, err := postgres.Open(cfg.DirectDatabaseURL, postgres.Pool{MaxOpen: 1, MaxIdle: 1, MaxLifetime: time.Hour})
	if err != nil {
		return nil, err
	}
	defer direct.Close()
	return direct.Migrate(ctx, time.Now())
}

// prepareSchema migrates SQLite always and PostgreSQL when asked; otherwise
// it refuses an out-of-date PostgreSQL schema, so an old binary's
// assumptions never meet a half-migrated database.
func prepareSchema(ctx context.Context, db *sqldb.DB, cfg *config.Config, log *slog.Logger) error {
	if !cfg.Postgres() || cfg.MigrateOnStart {
		applied, err := migrateDB(ctx, db, cfg)
		for _, m := range applied {
			log.Info("migration applied", "version", m.Version, "name", m.Name)
		}
		return err
	}
	st, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	if !st.UpToDate() {
		return fmt.Errorf("database schema is at version %d but this build needs %d (%d pending): run `mealsync migrate` first, or set MEALSYNC_MIGRATE_ON_START=true",
			st.Current, st.Latest, len(st.Pending))
	}
	if st.Current > st.Latest {
		log.Warn("database schema is newer than this build; running on it (migrations stay backward compatible for one release)",
			"schema_version", st.Current, "build_version", st.Latest)
	}
	return nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, getenv, stderr)
	if err != nil {
		return ignoreHelp(err)
	}
	db, err := openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := migrateDB(ctx, db, cfg)
	for _, m := range applied {
		fmt.Fprintf(stdout, "applied %03d_%s\n", m.Version, m.Name)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	st, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema at version %d (%s)\n", st.Current, db.Dialect())
	return nil
}

func ignoreHelp(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
