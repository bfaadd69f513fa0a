package testenv

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/loadtest"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
)

// CreateAccounts inserts n active users into the PostgreSQL database at
// dbURL, as sign-ups would have made them, sharing one password hash (made
// by hash: auth.HashPassword, which this tool package may not import), and
// returns them the way the load test's --accounts file gives them: n
// sign-ups through the API would cost the server n password hashes.
func CreateAccounts(t testing.TB, dbURL string, n int, hash func(password string) (string, error)) []loadtest.Account {
	t.Helper()
	db, err := postgres.Open(dbURL, postgres.Pool{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const password = "smoke-test-password-1"
	hashed, err := hash(password)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	accts := make([]loadtest.Account, n)
	for i := range accts {
		accts[i] = loadtest.Account{Email: fmt.Sprintf("smoke-%d@example.com", i), Password: password}
		u := &mealsync.User{ID: uuid.NewString(), Email: accts[i].Email, Name: fmt.Sprintf("Smoke %d", i),
			Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: hashed, CreatedAt: now, UpdatedAt: now}
		if err := db.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	return accts
}
