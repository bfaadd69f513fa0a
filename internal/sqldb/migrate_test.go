package sqldb_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/sqldb/sqlite"
	"github.com/mealsync/mealsync/internal/testdb"
)

// openEmptySQLite opens a database that has never been migrated.
func openEmptySQLite(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openEmptyPostgres opens a pool on url, a database that need not be migrated.
func openEmptyPostgres(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := postgres.Open(url, postgres.Pool{MaxOpen: 4, MaxIdle: 4, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // before the database is dropped
	return db
}

// appliedMigrations reads schema_migrations: how many rows each version has.
func appliedMigrations(t *testing.T, db *sqldb.DB) map[int]int {
	t.Helper()
	rows, err := db.SQL().QueryContext(t.Context(), `SELECT version FROM schema_migrations`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	seen := map[int]int{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		seen[v]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return seen
}

func TestSchemaOfMigratedDatabase(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		st, err := db.Schema(t.Context())
		if err != nil {
			t.Fatalf("Schema: %v", err)
		}
		if !st.UpToDate() || len(st.Pending) != 0 || st.Latest <= 0 || st.Current != st.Latest {
			t.Fatalf("Schema = %+v, want up to date with Current == Latest > 0", st)
		}
	})
}

func TestMigrate(t *testing.T) {
	stores := []struct {
		name      string
		openEmpty func(t *testing.T) *sqldb.DB
	}{
		{"sqlite", openEmptySQLite},
		{"postgres", func(t *testing.T) *sqldb.DB { return openEmptyPostgres(t, testdb.PostgresURL(t)) }},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			db := s.openEmpty(t)
			before, err := db.Schema(t.Context())
			if err != nil {
				t.Fatalf("Schema of an empty database: %v", err)
			}
			if before.Current != 0 || before.Latest <= 0 || len(before.Pending) == 0 || before.UpToDate() {
				t.Fatalf("Schema of an empty database = %+v, want everything pending", before)
			}

			applied, err := db.Migrate(t.Context(), now())
			if err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			if len(applied) != len(before.Pending) {
				t.Errorf("Migrate applied %d migrations, want the %d pending", len(applied), len(before.Pending))
			}
			for i := 1; i < len(applied); i++ {
				if applied[i].Version <= applied[i-1].Version {
					t.Errorf("migrations applied out of order: %d after %d", applied[i].Version, applied[i-1].Version)
				}
			}

			again, err := db.Migrate(t.Context(), now())
			if err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if len(again) != 0 {
				t.Errorf("second Migrate applied %d migrations, want none", len(again))
			}

			after, err := db.Schema(t.Context())
			if err != nil {
				t.Fatalf("Schema: %v", err)
			}
			if !after.UpToDate() || after.Current != after.Latest || after.Latest != before.Latest {
				t.Errorf("Schema after Migrate = %+v, want up to date at %d", after, before.Latest)
			}
			sameRecords(t, appliedMigrations(t, db), before.Pending)
			// The schema works: a store call needs the tables.
			if _, err := db.ListUsers(t.Context(), mealsync.UserFilter{}); err != nil {
				t.Errorf("ListUsers on the migrated database: %v", err)
			}
		})
	}
}

// TestMigrateConcurrentlyOnPostgres starts two instances on one fresh
// database at once, as a rolling deploy does: both must succeed and each
// migration must be applied exactly once.
func TestMigrateConcurrentlyOnPostgres(t *testing.T) {
	const rounds = 3
	for round := range rounds {
		url := testdb.PostgresURL(t)
		instances := []*sqldb.DB{openEmptyPostgres(t, url), openEmptyPostgres(t, url)}
		st, err := instances[0].Schema(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		applied := make([]int, len(instances))
		errs := make([]error, len(instances))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, db := range instances {
			// Connect first, so that both start migrating together.
			if err := db.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				<-start
				ms, err := db.Migrate(t.Context(), now())
				applied[i], errs[i] = len(ms), err
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: instance %d: Migrate: %v", round, i, err)
			}
		}
		if applied[0]+applied[1] != len(st.Pending) {
			t.Errorf("round %d: the instances applied %d + %d migrations, want %d in all",
				round, applied[0], applied[1], len(st.Pending))
		}
		sameRecords(t, appliedMigrations(t, instances[0]), st.Pending)
		for i, db := range instances {
			if s, err := db.Schema(t.Context()); err != nil || !s.UpToDate() {
				t.Errorf("round %d: instance %d: Schema = %+v, %v; want up to date", round, i, s, err)
			}
		}
	}
}

// sameRecords fails t unless schema_migrations holds each migration once.
func sameRecords(t *testing.T, recorded map[int]int, want []sqldb.Migration) {
	t.Helper()
	if len(recorded) != len(want) {
		t.Errorf("schema_migrations holds versions %v, want %d migrations", recorded, len(want))
	}
	for _, m := range want {
		if recorded[m.Version] != 1 {
			t.Errorf("migration %d recorded %d times, want once", m.Version, recorded[m.Version])
		}
	}
}
