package sqldb_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// newAttempt returns an unsaved reservation of key for userID, made at `at`.
func newAttempt(userID, key, fingerprint string, at time.Time) *mealsync.IdempotencyRecord {
	return &mealsync.IdempotencyRecord{
		UserID: userID, Key: key, Fingerprint: fingerprint, Attempt: uuid.NewString(),
		LeaseUntil: at.Add(mealsync.IdempotencyLease), CreatedAt: at, ExpiresAt: at.Add(mealsync.IdempotencyTTL),
	}
}

// mustReserve reserves rec and fails t unless it got the key.
func mustReserve(t *testing.T, db *sqldb.DB, rec *mealsync.IdempotencyRecord, at time.Time) {
	t.Helper()
	held, err := db.ReserveIdempotencyKey(t.Context(), rec, at)
	if err != nil || held != nil {
		t.Fatalf("ReserveIdempotencyKey(%s) = %+v, %v; want the key", rec.Key, held, err)
	}
}

// heldBy reserves a new attempt for rec's key at `at` and returns the
// record it was refused with (nil if it got the key).
func heldBy(t *testing.T, db *sqldb.DB, rec *mealsync.IdempotencyRecord, fingerprint string, at time.Time) *mealsync.IdempotencyRecord {
	t.Helper()
	held, err := db.ReserveIdempotencyKey(t.Context(), newAttempt(rec.UserID, rec.Key, fingerprint, at), at)
	if err != nil {
		t.Fatalf("ReserveIdempotencyKey: %v", err)
	}
	return held
}

var created = &mealsync.IdempotentResponse{Status: http.StatusCreated,
	Header: map[string][]string{"Content-Type": {"application/json"}}, Body: []byte(`{"data":{"id":"x"}}`)}

func countRecipes(t *testing.T, db *sqldb.DB, name string) int {
	t.Helper()
	return countPlanRows(t, db, "recipes", "name = $1", name)
}

func TestIdempotencyKeyReservation(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		first := newAttempt(u.ID, "key-1", "fp-a", t0)
		mustReserve(t, db, first, t0)

		held := heldBy(t, db, first, "fp-a", t0.Add(time.Second))
		if held == nil || !held.InProgress() || held.Attempt != first.Attempt || held.Fingerprint != "fp-a" {
			t.Fatalf("a second attempt while the first runs got %+v, want the first's running record", held)
		}
		if held := heldBy(t, db, first, "fp-b", t0.Add(time.Second)); held == nil || held.Fingerprint != "fp-a" {
			t.Fatalf("another request with the key got %+v, want the first's record (fingerprint fp-a)", held)
		}
		// Another user's identical key is another key.
		other := mustCreateUser(t, db, t0, nil)
		mustReserve(t, db, newAttempt(other.ID, "key-1", "fp-b", t0), t0)

		// The first attempt's lease ends: the same request takes the key
		// over, another request does not.
		end := first.LeaseUntil
		if held := heldBy(t, db, first, "fp-a", end.Add(-time.Microsecond)); held == nil {
			t.Fatal("the key was taken over before its lease ended")
		}
		if held := heldBy(t, db, first, "fp-b", end); held == nil || held.Fingerprint != "fp-a" {
			t.Fatalf("another request took over a dead attempt's key: %+v", held)
		}
		retry := newAttempt(u.ID, "key-1", "fp-a", end)
		mustReserve(t, db, retry, end)
		if held := heldBy(t, db, first, "fp-a", end); held == nil || held.Attempt != retry.Attempt {
			t.Fatalf("after the take-over the key is held by %+v, want attempt %s", held, retry.Attempt)
		}
	})
}

func TestIdempotencyLeaseRenewal(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		rec := newAttempt(u.ID, "renewed", "fp", t0)
		mustReserve(t, db, rec, t0)

		// Renewed just before it ends, the lease outlives its first end.
		at := rec.LeaseUntil.Add(-time.Millisecond)
		renewed := *rec
		renewed.LeaseUntil = at.Add(mealsync.IdempotencyLease)
		if err := db.RenewIdempotencyLease(t.Context(), &renewed, at); err != nil {
			t.Fatalf("RenewIdempotencyLease: %v", err)
		}
		if held := heldBy(t, db, rec, "fp", rec.LeaseUntil.Add(time.Second)); held == nil {
			t.Fatal("a renewed lease was taken over at its first end")
		}
		// A lease that has ended is not renewed: its key may be taken.
		late := renewed
		late.LeaseUntil = renewed.LeaseUntil.Add(mealsync.IdempotencyLease)
		wantCode(t, db.RenewIdempotencyLease(t.Context(), &late, renewed.LeaseUntil), mealsync.ENOTFOUND)
		// Nor is another attempt's.
		stranger := renewed
		stranger.Attempt = uuid.NewString()
		wantCode(t, db.RenewIdempotencyLease(t.Context(), &stranger, at), mealsync.ENOTFOUND)
	})
}

func TestCompleteIdempotencyKeyCommitsTheWriteWithItsAnswer(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		rec := newAttempt(u.ID, "create", "fp", t0)
		mustReserve(t, db, rec, t0)
		err := db.CompleteIdempotencyKey(t.Context(), rec, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			r := newRecipe(t0, func(r *mealsync.Recipe) { r.Name = "Unit soup" })
			if err := db.CreateRecipes(ctx, r); err != nil {
				return nil, err
			}
			// Not visible outside the unit before it commits…
			if n := countRecipes(t, db, "Unit soup"); n != 0 {
				t.Errorf("the unit's write is visible to others before its commit: %d rows", n)
			}
			// …but the request reads its own write.
			if got, err := db.RecipeByID(ctx, r.ID); err != nil || got.Name != "Unit soup" {
				t.Errorf("RecipeByID inside the unit = %+v, %v; want its own new recipe", got, err)
			}
			return created, nil
		})
		if err != nil {
			t.Fatalf("CompleteIdempotencyKey: %v", err)
		}
		if n := countRecipes(t, db, "Unit soup"); n != 1 {
			t.Fatalf("after the commit %d recipes, want 1", n)
		}
		held := heldBy(t, db, rec, "fp", t0.Add(time.Hour))
		if held == nil || held.InProgress() || !reflect.DeepEqual(held.Response, created) {
			t.Fatalf("the key's record = %+v, want the answer %+v", held, created)
		}
		// The answer is kept until it expires, then the key is new again.
		if held := heldBy(t, db, rec, "fp", rec.ExpiresAt.Add(-time.Microsecond)); held == nil {
			t.Fatal("the answer was dropped before it expired")
		}
		if held := heldBy(t, db, rec, "another request", rec.ExpiresAt); held != nil {
			t.Fatalf("an expired key was refused: %+v", held)
		}
	})
}

func TestCompleteIdempotencyKeyCommitsNothingOnError(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		rec := newAttempt(u.ID, "fails", "fp", t0)
		mustReserve(t, db, rec, t0)
		boom := errors.New("the handler failed")
		err := db.CompleteIdempotencyKey(t.Context(), rec, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			if err := db.CreateRecipes(ctx, newRecipe(t0, func(r *mealsync.Recipe) { r.Name = "Lost soup" })); err != nil {
				return nil, err
			}
			return nil, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("CompleteIdempotencyKey = %v, want the run's error", err)
		}
		if n := countRecipes(t, db, "Lost soup"); n != 0 {
			t.Fatalf("a failed attempt left %d recipes", n)
		}
		if held := heldBy(t, db, rec, "fp", t0); held == nil || !held.InProgress() {
			t.Fatalf("after a failure the key is %+v, want it still reserved (the caller releases it)", held)
		}
		if err := db.ReleaseIdempotencyKey(t.Context(), rec); err != nil {
			t.Fatalf("ReleaseIdempotencyKey: %v", err)
		}
		mustReserve(t, db, newAttempt(u.ID, "fails", "fp", t0), t0)
	})
}

// An attempt that ran past its lease while a retry took the key over must
// not apply its writes: the retry's are the key's.
func TestCompleteIdempotencyKeyRefusesAnAttemptThatLostItsKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		slow := newAttempt(u.ID, "slow", "fp", t0)
		mustReserve(t, db, slow, t0)
		retry := newAttempt(u.ID, "slow", "fp", slow.LeaseUntil)
		mustReserve(t, db, retry, slow.LeaseUntil)

		err := db.CompleteIdempotencyKey(t.Context(), slow, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			return created, db.CreateRecipes(ctx, newRecipe(t0, func(r *mealsync.Recipe) { r.Name = "Twice soup" }))
		})
		wantCode(t, err, mealsync.EINPROGRESS)
		if n := countRecipes(t, db, "Twice soup"); n != 0 {
			t.Fatalf("the attempt that lost its key left %d recipes", n)
		}
		err = db.CompleteIdempotencyKey(t.Context(), retry, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			return created, db.CreateRecipes(ctx, newRecipe(t0, func(r *mealsync.Recipe) { r.Name = "Twice soup" }))
		})
		if err != nil {
			t.Fatalf("CompleteIdempotencyKey of the retry: %v", err)
		}
		if n := countRecipes(t, db, "Twice soup"); n != 1 {
			t.Fatalf("%d recipes, want the retry's one", n)
		}
		// The slow attempt cannot release the retry's answer either.
		if err := db.ReleaseIdempotencyKey(t.Context(), slow); err != nil {
			t.Fatal(err)
		}
		if held := heldBy(t, db, slow, "fp", retry.LeaseUntil); held == nil || held.InProgress() {
			t.Fatalf("the key's record = %+v, want the retry's answer", held)
		}
	})
}

// A write that fails inside a unit (a taken email) is undone alone: the
// request goes on, answers, and its other writes commit with the answer.
// PostgreSQL would refuse every statement after a failed one without the
// savepoint around each step.
func TestAFailedStepLeavesTheUnitUsable(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		rec := newAttempt(u.ID, "step", "fp", t0)
		mustReserve(t, db, rec, t0)
		err := db.CompleteIdempotencyKey(t.Context(), rec, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			name := "Renamed in the unit"
			if _, err := db.UpdateUser(ctx, u.ID, mealsync.UserUpdate{Name: &name, At: t0}); err != nil {
				return nil, err
			}
			dup := newUser(t0, func(d *mealsync.User) { d.Email = u.Email })
			wantCode(t, db.CreateUser(ctx, dup), mealsync.ECONFLICT)
			return &mealsync.IdempotentResponse{Status: http.StatusOK}, nil
		})
		if err != nil {
			t.Fatalf("CompleteIdempotencyKey after a failed step: %v", err)
		}
		got, err := db.UserByID(t.Context(), u.ID)
		if err != nil || got.Name != "Renamed in the unit" {
			t.Fatalf("user = %+v, %v; want the unit's rename committed", got, err)
		}
	})
}

// Login attempts are counted at once, for every concurrent request, and
// stay counted whatever the request answers: they never join a unit.
func TestLoginAttemptsBypassTheUnit(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		rec := newAttempt(u.ID, "guess", "fp", t0)
		mustReserve(t, db, rec, t0)
		key := "email:" + u.Email
		err := db.CompleteIdempotencyKey(t.Context(), rec, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			if err := db.RecordLoginAttempt(ctx, uuid.NewString(), []string{key}, t0); err != nil {
				return nil, err
			}
			if n, _, err := db.LoginFailures(t.Context(), key, t0); err != nil || n != 1 {
				t.Errorf("LoginFailures seen by another request = %d, %v; want 1 at once", n, err)
			}
			return nil, errors.New("the request failed")
		})
		if err == nil {
			t.Fatal("CompleteIdempotencyKey succeeded, want the run's error")
		}
		if n, _, err := db.LoginFailures(t.Context(), key, t0); err != nil || n != 1 {
			t.Fatalf("LoginFailures after the rollback = %d, %v; want the attempt kept", n, err)
		}
	})
}

// A request that deletes its own user takes the key with it (ON DELETE
// CASCADE): its writes commit without a record, since no retry can be
// authenticated any more.
func TestCompleteIdempotencyKeyOfADeletedUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		rec := newAttempt(u.ID, "goodbye", "fp", t0)
		mustReserve(t, db, rec, t0)
		err := db.CompleteIdempotencyKey(t.Context(), rec, func(ctx context.Context) (*mealsync.IdempotentResponse, error) {
			return &mealsync.IdempotentResponse{Status: http.StatusNoContent}, db.DeleteUser(ctx, u.ID)
		})
		if err != nil {
			t.Fatalf("CompleteIdempotencyKey: %v", err)
		}
		wantCode(t, func() error { _, err := db.UserByID(t.Context(), u.ID); return err }(), mealsync.ENOTFOUND)
		if n := countPlanRows(t, db, "idempotency_keys", "user_id = $1", u.ID); n != 0 {
			t.Fatalf("%d idempotency records left for a deleted user", n)
		}
	})
}

func TestPruneIdempotencyKeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, db *sqldb.DB) {
		t0 := now()
		u := mustCreateUser(t, db, t0, nil)
		old := newAttempt(u.ID, "old", "fp", t0)
		mustReserve(t, db, old, t0)
		fresh := newAttempt(u.ID, "fresh", "fp", t0.Add(time.Hour))
		mustReserve(t, db, fresh, t0.Add(time.Hour))
		n, err := db.PruneIdempotencyKeys(t.Context(), old.ExpiresAt)
		if err != nil || n != 1 {
			t.Fatalf("PruneIdempotencyKeys = %d, %v; want 1", n, err)
		}
		if got := countPlanRows(t, db, "idempotency_keys", "idempotency_key = $1", "fresh"); got != 1 {
			t.Fatalf("the fresh key was pruned")
		}
	})
}
