package auth

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/testdb"
)

// ended fails t unless each access token is refused and each refresh token
// revoked: the sessions they belong to are over.
func (e *serviceEnv) ended(t *testing.T, sessions ...*Session) {
	t.Helper()
	ctx := context.Background()
	for i, s := range sessions {
		_, err := e.svc.Authenticate(ctx, s.AccessToken)
		wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid or expired token")
		_, err = e.svc.Refresh(ctx, s.RefreshToken)
		if mealsync.ErrorCode(err) != mealsync.EINVALID {
			t.Fatalf("session %d: refresh after the sessions ended = %v, want it refused", i, err)
		}
	}
}

// live fails t unless each session's access token still authenticates.
func (e *serviceEnv) live(t *testing.T, sessions ...*Session) {
	t.Helper()
	for i, s := range sessions {
		if _, err := e.svc.Authenticate(context.Background(), s.AccessToken); err != nil {
			t.Fatalf("session %d: %v, want it still valid", i, err)
		}
	}
}

func TestEndSessionsEndsEveryAccessTokenAtOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		u := env.mustRegister(t, "ana@example.com")
		env.mustRegister(t, "bob@example.com")
		phone, laptop := env.mustLogin(t, "ana@example.com", ""), env.mustLogin(t, "ana@example.com", "")
		bob := env.mustLogin(t, "bob@example.com", "")
		env.live(t, phone, laptop, bob)

		// Not a minute later: the same instant the access tokens were issued.
		if err := env.svc.EndSessions(context.Background(), u.ID); err != nil {
			t.Fatal(err)
		}
		env.ended(t, phone, laptop)
		env.live(t, bob)
		// Signing in again starts a session that works.
		env.live(t, env.mustLogin(t, "ana@example.com", ""))
	})
}

func TestRoleAndStatusChangesEndSessions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		admin := env.mustRegister(t, "root@example.com")
		admin.Role = mealsync.RoleAdmin
		u := env.mustRegister(t, "ana@example.com")

		s := env.mustLogin(t, "ana@example.com", "")
		got, err := env.svc.SetRole(ctx, admin, u.ID, mealsync.RoleAdmin)
		if err != nil || got.Role != mealsync.RoleAdmin {
			t.Fatalf("SetRole = %+v, %v", got, err)
		}
		env.ended(t, s)

		s = env.mustLogin(t, "ana@example.com", "")
		if got, err = env.svc.SetStatus(ctx, admin, u.ID, mealsync.StatusBanned); err != nil || got.Status != mealsync.StatusBanned {
			t.Fatalf("SetStatus = %+v, %v", got, err)
		}
		// Refused as an ended session (401), not merely as a banned user.
		env.ended(t, s)

		_, err = env.svc.SetStatus(ctx, admin, admin.ID, mealsync.StatusBanned)
		wantErr(t, err, mealsync.EFORBIDDEN, "Admins cannot change their own role or status")
		_, err = env.svc.SetRole(ctx, admin, admin.ID, mealsync.RoleUser)
		wantErr(t, err, mealsync.EFORBIDDEN, "Admins cannot change their own role or status")
		_, err = env.svc.SetRole(ctx, admin, "5f0c8a52-7d53-4c0e-9b8e-3f6f2a1d9c11", mealsync.RoleUser)
		wantErr(t, err, mealsync.ENOTFOUND, "")
	})
}

// A refresh token used twice is the sign of a theft: the access tokens
// obtained with the family, the thief's as well as the owner's, stop working.
func TestRefreshReuseEndsAccessTokens(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		env.mustRegister(t, "ana@example.com")
		first := env.mustLogin(t, "ana@example.com", "")
		thief, err := env.svc.Refresh(ctx, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		env.live(t, first, thief)
		_, err = env.svc.Refresh(ctx, first.RefreshToken) // the owner's copy comes back
		wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")
		env.ended(t, first, thief)
	})
}

func TestChangeOwnPasswordNeedsTheCurrentOne(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		u := env.mustRegister(t, "ana@example.com")
		s := env.mustLogin(t, "ana@example.com", "")
		newPw := "new password 77"
		change := func(current string) error {
			_, err := env.svc.UpdateProfile(ctx, u, u.ID, ProfileChange{Name: "Ana", NewPassword: &newPw,
				CurrentPassword: current, ClientIP: "192.0.2.9"})
			return err
		}
		e := wantErr(t, change(""), mealsync.EINVALID, "")
		if e.Fields[0].Field != "currentPassword" {
			t.Fatalf("fields = %+v, want currentPassword", e.Fields)
		}
		e = wantErr(t, change("not the password 1"), mealsync.EINVALID, "")
		if e.Fields[0].Message != "Current password is incorrect" {
			t.Fatalf("fields = %+v", e.Fields)
		}
		env.live(t, s) // a refused change ends nothing
		if err := change(testPassword); err != nil {
			t.Fatalf("change with the current password: %v", err)
		}
		env.ended(t, s)
		if _, err := env.svc.Login(ctx, "ana@example.com", testPassword, ""); mealsync.ErrorCode(err) != mealsync.EUNAUTHORIZED {
			t.Fatalf("login with the old password = %v, want refused", err)
		}
		if _, err := env.svc.Login(ctx, "ana@example.com", newPw, ""); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
	})
}

// Wrong current passwords count as failed logins: a stolen access token is
// not a way around the login throttle.
func TestCurrentPasswordGuessesAreThrottled(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	u := env.mustRegister(t, "ana@example.com")
	pw := "new password 77"
	for i := range testConfig.MaxLoginFailures + 1 {
		_, err := env.svc.UpdateProfile(context.Background(), u, u.ID, ProfileChange{Name: "Ana", NewPassword: &pw,
			CurrentPassword: "guess number 1", ClientIP: "192.0.2.9"})
		want := mealsync.EINVALID
		if i == testConfig.MaxLoginFailures {
			want = mealsync.ETOOMANY
		}
		wantErr(t, err, want, "")
	}
	// The account's login is throttled too, even with the right password.
	_, err := env.svc.Login(context.Background(), "ana@example.com", testPassword, "198.51.100.1")
	wantErr(t, err, mealsync.ETOOMANY, "")
}

func TestAdminResetsAnotherPasswordWithoutTheirs(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	admin := env.mustRegister(t, "root@example.com")
	admin.Role = mealsync.RoleAdmin
	u := env.mustRegister(t, "ana@example.com")
	s := env.mustLogin(t, "ana@example.com", "")
	pw := "reset password 5"
	if _, err := env.svc.UpdateProfile(context.Background(), admin, u.ID, ProfileChange{Name: "Ana", NewPassword: &pw}); err != nil {
		t.Fatalf("admin reset: %v", err)
	}
	env.ended(t, s)
	if _, err := env.svc.Login(context.Background(), "ana@example.com", pw, ""); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}
}

// racingStore changes the password right before the login's rehash is
// stored: the rehash, computed from the old password, must not land.
type racingStore struct {
	mealsync.UserStore
	change func()
}

func (r racingStore) ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error) {
	r.change()
	return r.UserStore.ReplacePasswordHash(ctx, id, oldHash, newHash, at)
}

func TestRehashAfterLoginDoesNotUndoAPasswordChange(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		b, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		legacy := string(b) // a hash the login wants to replace
		u := env.mustRegister(t, "old@example.com")
		if _, err := env.db.UpdateUser(ctx, u.ID, mealsync.UserUpdate{PasswordHash: &legacy, At: env.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		changed := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
		store := racingStore{UserStore: env.db, change: func() {
			if _, err := env.db.UpdateUser(ctx, u.ID, mealsync.UserUpdate{PasswordHash: &changed, At: env.clock.Now()}); err != nil {
				t.Error(err)
			}
		}}
		svc := NewService(store, env.db, env.db, [][]byte{testKey}, testConfig, env.clock.Now, slog.New(slog.DiscardHandler))
		if _, err := svc.Login(ctx, "old@example.com", testPassword, ""); err != nil {
			t.Fatalf("login with the legacy hash: %v", err)
		}
		got, err := env.db.UserByID(ctx, u.ID)
		if err != nil || got.PasswordHash != changed {
			t.Fatalf("hash after the race = %q (%v), want the changed one", got.PasswordHash, err)
		}
	})
}

func TestRegistrationsThrottledPerAddress(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		cfg := testConfig
		cfg.MaxRegistrations, cfg.RegisterWindow = 3, 10*time.Minute
		svc := NewService(env.db, env.db, env.db, [][]byte{testKey}, cfg, env.clock.Now, slog.New(slog.DiscardHandler))
		ctx := context.Background()
		register := func(email, ip string) error {
			_, err := svc.Register(ctx, Registration{Email: email, Password: testPassword, Name: "N", ClientIP: ip})
			return err
		}
		for i, email := range []string{"a@example.com", "b@example.com", "a@example.com"} { // a taken email counts too
			err := register(email, "192.0.2.1")
			if (i < 2) != (err == nil) {
				t.Fatalf("sign-up %d: %v", i, err)
			}
			env.clock.Advance(time.Minute)
		}
		e := wantErr(t, register("c@example.com", "192.0.2.1"), mealsync.ETOOMANY, "")
		// Free again when the first attempt leaves the window, 7 minutes on.
		if want := 7 * time.Minute; e.RetryAfter != want {
			t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, want)
		}
		if err := register("d@example.com", "192.0.2.2"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		// Refused attempts do not count: waiting the window out is enough.
		env.clock.Advance(e.RetryAfter)
		if err := register("c@example.com", "192.0.2.1"); err != nil {
			t.Fatalf("after the window: %v", err)
		}
		if _, err := env.db.UserByEmail(ctx, "c@example.com"); err != nil {
			t.Fatalf("the refused sign-up left no account, the later one made it: %v", err)
		}
	})
}

func TestHashSlots(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, c := range []struct {
		limit int64
		procs int
		want  int
	}{
		{math.MaxInt64, 2, 1},    // no memory limit: half the CPUs
		{4 << 30, 8, 4},          // plenty of memory: still half the CPUs
		{256 * mib, 8, 3},        // a quarter of 256 MiB holds three 20 MiB hashes
		{64 * mib, 4, 1},         // never fewer than one
		{512 * mib, 16, 6},       // 128 MiB / 20 MiB
		{0, 1, 1},                // no limit known, one CPU
		{460 * mib, 2, 1},        // 90% of a 512 MiB container, two CPUs
		{1 << 40, 0, 1},          // GOMAXPROCS never reports 0, but be safe
		{int64(hashBytes), 2, 1}, // below one slot's worth
	} {
		if got := HashSlots(c.limit, c.procs); got != c.want {
			t.Errorf("HashSlots(%d MiB, %d) = %d, want %d", c.limit/mib, c.procs, got, c.want)
		}
	}
}

// With every hash slot taken, a sign-up or login waits HashWait at most and
// is then told to come back (503 with Retry-After) — it neither queues
// without bound nor hashes beside the others.
func TestHashesBeyondTheSlotsAreRefused(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	cfg := testConfig
	cfg.HashSlots, cfg.HashWait = 1, 50*time.Millisecond
	svc := NewService(env.db, env.db, env.db, [][]byte{testKey}, cfg, env.clock.Now, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	if _, err := svc.Register(ctx, Registration{Email: "ana@example.com", Password: testPassword, Name: "Ana"}); err != nil {
		t.Fatal(err)
	}

	release, taken := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		svc.hashes.do(ctx, func() { close(taken); <-release })
	}()
	<-taken
	_, err := svc.Register(ctx, Registration{Email: "bob@example.com", Password: testPassword, Name: "Bob"})
	if e := wantErr(t, err, mealsync.EUNAVAILABLE, ""); e.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want a hint", e.RetryAfter)
	}
	_, err = svc.Login(ctx, "ana@example.com", testPassword, "")
	wantErr(t, err, mealsync.EUNAVAILABLE, "")
	if _, err := env.db.UserByEmail(ctx, "bob@example.com"); mealsync.ErrorCode(err) != mealsync.ENOTFOUND {
		t.Fatalf("a refused sign-up stored an account: %v", err)
	}
	close(release)
	wg.Wait()
	if _, err := svc.Login(ctx, "ana@example.com", testPassword, ""); err != nil {
		t.Fatalf("login once the slot is free: %v", err)
	}
}
