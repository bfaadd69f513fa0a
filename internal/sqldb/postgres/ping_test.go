package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/testdb"
)

// A standby answers queries but refuses writes: Ping (the readiness
// probe's check) says so, where the primary is up.
func TestPingRefusesAStandby(t *testing.T) {
	primary := testdb.StartPrimary(t)
	replica := primary.StartReplica(t)
	ping := func(s *testdb.Server) error {
		db, err := postgres.Open(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port),
			postgres.Pool{MaxOpen: 1, MaxIdle: 1, MaxLifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return db.Ping(ctx)
	}
	if err := ping(primary); err != nil {
		t.Fatalf("primary: %v", err)
	}
	if err := ping(replica); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("standby: %v, want a read-only error", err)
	}
	replica.Promote(t)
	if err := ping(replica); err != nil {
		t.Fatalf("the standby, promoted: %v", err)
	}
}
