// Package testdb gives tests real, migrated, throwaway databases: SQLite in a
// temporary directory, and PostgreSQL in a fresh database created on the
// server named by MEALSYNC_TEST_DATABASE_URL (default: a local server on
// 127.0.0.1:55432, as .ci/postgres.sh starts it).
//
// When PostgreSQL is unreachable the test skips, unless
// MEALSYNC_REQUIRE_SERVICES=1, where it fails: CI must never skip.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/sqldb/sqlite"
)

// DefaultPostgresURL is where .ci/postgres.sh starts its server.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable"

// Store names a database kind for table-driven tests over both stores.
type Store struct {
	Name string
	Open func(t testing.TB) *sqldb.DB
}

// Stores lists the kinds every store test runs on: SQLite, PostgreSQL, and
// PostgreSQL behind PgBouncer in transaction pooling mode.
var Stores = []Store{{"sqlite", SQLite}, {"postgres", Postgres}, {"pgbouncer", PgBouncerPooled}}

// RequireServices reports whether a missing service must fail the test.
func RequireServices() bool { return os.Getenv("MEALSYNC_REQUIRE_SERVICES") == "1" }

// SkipOrFail skips t because a service is missing, or fails it in CI.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireServices() {
		t.Fatalf("MEALSYNC_REQUIRE_SERVICES=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}

// SQLite returns a migrated database in t's temporary directory.
func SQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "mealsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

// PostgresURL creates an empty database for t and returns its URL; the
// database is dropped when t ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("MEALSYNC_TEST_DATABASE_URL")
	if admin == "" {
		admin = DefaultPostgresURL
	}
	cfg, err := postgresAdmin(admin)
	if err != nil {
		SkipOrFail(t, "PostgreSQL not reachable at MEALSYNC_TEST_DATABASE_URL: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "mealsync_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := cfg.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		cfg.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		defer cfg.Close()
		if _, err := cfg.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin) // parsed above
	u.Path = "/" + name
	return u.String()
}

// Postgres returns a migrated, empty PostgreSQL database for t.
func Postgres(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := postgres.Open(PostgresURL(t), postgres.Pool{MaxOpen: 10, MaxIdle: 10, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // before the drop, which was registered earlier
	if _, err := db.Migrate(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return db
}

func postgresAdmin(rawURL string) (*sql.DB, error) {
	if _, err := url.Parse(rawURL); err != nil {
		return nil, err
	}
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" driver name
