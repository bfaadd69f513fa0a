package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/testdb"
)

var testConfig = Config{
	AccessTTL:        testAccessTTL,
	RefreshTTL:       7 * 24 * time.Hour,
	MaxLoginFailures: 5,
	LoginWindow:      15 * time.Minute,
}

const testPassword = "lentil soup 42"

// serviceEnv is a service on a real database, with the clock in the test's hand.
type serviceEnv struct {
	svc   *Service
	db    *sqldb.DB
	clock *fakeClock
}

func newServiceEnv(t *testing.T, db *sqldb.DB) *serviceEnv {
	t.Helper()
	return newServiceEnvWith(db, testConfig)
}

func newServiceEnvWith(db *sqldb.DB, cfg Config) *serviceEnv {
	clock := newFakeClock()
	svc := NewService(db, db, db, [][]byte{testKey}, cfg, clock.Now, slog.New(slog.DiscardHandler))
	return &serviceEnv{svc: svc, db: db, clock: clock}
}

// forEachStore runs a store-sensitive test on SQLite and PostgreSQL.
func forEachStore(t *testing.T, test func(t *testing.T, env *serviceEnv)) {
	t.Helper()
	for _, s := range testdb.Stores {
		t.Run(s.Name, func(t *testing.T) {
			test(t, newServiceEnv(t, s.Open(t)))
		})
	}
}

func (e *serviceEnv) mustRegister(t *testing.T, email string) *mealsync.User {
	t.Helper()
	u, err := e.svc.Register(context.Background(), Registration{Email: email, Password: testPassword, Name: "Ana"})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return u
}

func (e *serviceEnv) mustLogin(t *testing.T, email, ip string) *Session {
	t.Helper()
	s, err := e.svc.Login(context.Background(), email, testPassword, ip)
	if err != nil {
		t.Fatalf("login %s from %q: %v", email, ip, err)
	}
	return s
}

func (e *serviceEnv) mustSetStatus(t *testing.T, id string, st mealsync.Status) {
	t.Helper()
	ctx := context.Background()
	u, err := e.db.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Straight in the store, without ending sessions: the service must
	// refuse an inactive user's tokens by the status alone.
	if _, err := e.db.UpdateUser(ctx, u.ID, mealsync.UserUpdate{Status: &st, At: u.UpdatedAt}); err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err is a *mealsync.Error with code and message
// (message "" matches any).
func wantErr(t *testing.T, err error, code, message string) *mealsync.Error {
	t.Helper()
	var e *mealsync.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want a *mealsync.Error %s %q", err, code, message)
	}
	if e.Code != code || (message != "" && e.Message != message) {
		t.Fatalf("err = %s %q, want %s %q", e.Code, e.Message, code, message)
	}
	return e
}

func TestRegister(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		u := env.mustRegister(t, "  Ana@Example.com ")
		if u.Role != mealsync.RoleUser || u.Status != mealsync.StatusActive {
			t.Errorf("new user is %s/%s, want USER/ACTIVE", u.Role, u.Status)
		}
		stored, err := env.db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Role != mealsync.RoleUser {
			t.Errorf("stored role = %s, want USER", stored.Role)
		}
		if stored.Email != "Ana@Example.com" {
			t.Errorf("stored email = %q, want it trimmed", stored.Email)
		}
		if ok, _, err := VerifyPassword(stored.PasswordHash, testPassword); !ok || err != nil ||
			!strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
			t.Errorf("stored hash %q does not verify the password (ok %v, err %v)", stored.PasswordHash, ok, err)
		}

		_, err = env.svc.Register(ctx, Registration{Email: "ana@example.COM", Password: testPassword, Name: "Eve"})
		wantErr(t, err, mealsync.ECONFLICT, "Email already exists")
		if all, err := env.db.ListUsers(ctx, mealsync.UserFilter{}); err != nil || len(all) != 1 {
			t.Errorf("after the duplicate: %d users (%v), want 1", len(all), err)
		}
	})
}

// Registration has no way to ask for a role, and an admin in the database
// does not make the next sign-up one.
func TestRegisterNeverGrantsAdmin(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	admin := env.mustRegister(t, "root@example.com")
	role := mealsync.RoleAdmin
	if _, err := env.db.UpdateUser(context.Background(), admin.ID, mealsync.UserUpdate{Role: &role, At: admin.UpdatedAt}); err != nil {
		t.Fatal(err)
	}
	u := env.mustRegister(t, "next@example.com")
	if u.Role != mealsync.RoleUser {
		t.Fatalf("role = %s, want USER", u.Role)
	}
	admins, err := env.db.ListUsers(context.Background(), mealsync.UserFilter{Role: mealsync.RoleAdmin})
	if err != nil || len(admins) != 1 || admins[0].ID != admin.ID {
		t.Fatalf("admins = %v (%v), want only %s", admins, err, admin.ID)
	}
}

func TestLoginSuccess(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	ctx := context.Background()
	u := env.mustRegister(t, "ana@example.com")

	s := env.mustLogin(t, "ANA@example.com", "10.0.0.1") // email case does not matter
	if s.User.ID != u.ID || s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("session = %+v, want tokens for %s", s, u.ID)
	}
	if want := env.clock.Now().Add(testConfig.RefreshTTL); !s.RefreshExpiry.Equal(want) {
		t.Errorf("refresh expiry = %v, want %v", s.RefreshExpiry, want)
	}
	got, err := env.svc.Authenticate(ctx, s.AccessToken)
	if err != nil || got.ID != u.ID {
		t.Fatalf("Authenticate(access token) = %v, %v; want user %s", got, err, u.ID)
	}
	// The refresh token is not an access token.
	_, err = env.svc.Authenticate(ctx, s.RefreshToken)
	wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid or expired token")
}

func TestLoginBadCredentials(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	env.mustRegister(t, "ana@example.com")
	for _, c := range []struct{ name, email, password string }{
		{"wrong password", "ana@example.com", testPassword + "!"},
		{"unknown email", "bob@example.com", testPassword},
		{"empty password", "ana@example.com", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := env.svc.Login(context.Background(), c.email, c.password, "10.0.0.1")
			// Both say the same, so the answer does not tell which emails exist.
			wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid email or password")
			if s != nil {
				t.Errorf("session = %+v, want nil", s)
			}
		})
	}
}

// failLogins makes n failed logins for email, one a minute, each from its
// own address so only the account counter grows.
func (e *serviceEnv) failLogins(t *testing.T, email string, n int) {
	t.Helper()
	for i := range n {
		_, err := e.svc.Login(context.Background(), email, "wrong password 1", fmt.Sprintf("192.0.2.%d", i+1))
		wantErr(t, err, mealsync.EUNAUTHORIZED, "")
		e.clock.Advance(time.Minute)
	}
}

func TestLoginThrottlePerAccount(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		env.mustRegister(t, "ana@example.com")
		first := env.clock.Now()
		env.failLogins(t, "ana@example.com", 5) // at first, +1m, … +4m; now is +5m

		// The sixth attempt is refused even with the right password, from a
		// fresh address, and whatever the email's case.
		for i := range 3 {
			_, err := env.svc.Login(ctx, " ANA@example.com", testPassword, "198.51.100.7")
			e := wantErr(t, err, mealsync.ETOOMANY, "")
			// Free when the oldest failure leaves the window, not the newest.
			if want := first.Add(testConfig.LoginWindow).Sub(env.clock.Now()); e.RetryAfter != want {
				t.Fatalf("attempt %d: RetryAfter = %v, want %v", i, e.RetryAfter, want)
			}
			env.clock.Advance(time.Minute)
		}
		// Other accounts are not affected.
		env.mustRegister(t, "bob@example.com")
		env.mustLogin(t, "bob@example.com", "198.51.100.7")

		// The refused attempts did not count as failures: once the window
		// has passed the first five, the account is open again.
		env.clock.Advance(first.Add(testConfig.LoginWindow).Sub(env.clock.Now()) + time.Second)
		env.mustLogin(t, "ana@example.com", "198.51.100.7")
	})
}

func TestLoginThrottleFailuresOutsideWindowDoNotCount(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	env.mustRegister(t, "ana@example.com")
	env.failLogins(t, "ana@example.com", 4)
	env.clock.Advance(testConfig.LoginWindow) // the four are now outside
	env.failLogins(t, "ana@example.com", 4)   // eight in all, four in the window
	env.mustLogin(t, "ana@example.com", "198.51.100.7")
}

func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	ctx := context.Background()
	env.mustRegister(t, "victim@example.com")
	const ip = "203.0.113.9"
	first := env.clock.Now()
	for i := range 5 { // one failure each for five accounts, some unknown
		_, err := env.svc.Login(ctx, fmt.Sprintf("guess%d@example.com", i), "wrong password 1", ip)
		wantErr(t, err, mealsync.EUNAUTHORIZED, "")
		env.clock.Advance(30 * time.Second)
	}
	_, err := env.svc.Login(ctx, "victim@example.com", testPassword, ip)
	e := wantErr(t, err, mealsync.ETOOMANY, "")
	if want := first.Add(testConfig.LoginWindow).Sub(env.clock.Now()); e.RetryAfter != want {
		t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, want)
	}
	// The account itself is fine from another address, and without one.
	env.mustLogin(t, "victim@example.com", "203.0.113.10")
	env.mustLogin(t, "victim@example.com", "")
}

func TestLoginSuccessClearsAccountCounter(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	env.mustRegister(t, "ana@example.com")
	env.failLogins(t, "ana@example.com", 4)
	env.mustLogin(t, "ana@example.com", "198.51.100.7")
	// Without the reset these would be failures six to nine in the window.
	env.failLogins(t, "ana@example.com", 4)
	env.mustLogin(t, "ana@example.com", "198.51.100.7")
}

func TestLoginInactiveAccounts(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	for _, c := range []struct {
		status  mealsync.Status
		message string
	}{
		{mealsync.StatusBanned, "User account is locked"},
		{mealsync.StatusInactive, "User is disabled"},
	} {
		t.Run(string(c.status), func(t *testing.T) {
			email := strings.ToLower(string(c.status)) + "@example.com"
			u := env.mustRegister(t, email)
			env.mustSetStatus(t, u.ID, c.status)

			s, err := env.svc.Login(context.Background(), email, testPassword, "")
			wantErr(t, err, mealsync.EFORBIDDEN, c.message)
			if s != nil {
				t.Errorf("session = %+v, want nil", s)
			}
			// Without the password nothing is told about the account.
			_, err = env.svc.Login(context.Background(), email, "wrong password 1", "")
			wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid email or password")
		})
	}
}

// Users exported from the Spring server have "$2a$" BCrypt hashes; their
// first login replaces the hash with an argon2id one.
func TestLoginUpgradesLegacyBCrypt(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		legacy, err := bcrypt.GenerateFromPassword([]byte(testPassword), 10)
		if err != nil {
			t.Fatal(err)
		}
		now := env.clock.Now()
		u := &mealsync.User{ID: uuid.NewString(), Email: "old@example.com", Name: "Old", Role: mealsync.RoleUser,
			Status: mealsync.StatusActive, PasswordHash: string(legacy), CreatedAt: now, UpdatedAt: now}
		if err := env.db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}

		// A wrong password changes nothing.
		_, err = env.svc.Login(ctx, "old@example.com", "wrong password 1", "")
		wantErr(t, err, mealsync.EUNAUTHORIZED, "")
		if stored, _ := env.db.UserByID(ctx, u.ID); stored.PasswordHash != string(legacy) {
			t.Fatalf("hash changed after a failed login: %q", stored.PasswordHash)
		}

		env.clock.Advance(time.Minute)
		s := env.mustLogin(t, "old@example.com", "")
		if s.User.ID != u.ID {
			t.Fatalf("logged in as %s, want %s", s.User.ID, u.ID)
		}
		stored, err := env.db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stored.PasswordHash, "$argon2id$") {
			t.Fatalf("stored hash = %q, want an argon2id one", stored.PasswordHash)
		}
		if ok, rehash, err := VerifyPassword(stored.PasswordHash, testPassword); !ok || rehash || err != nil {
			t.Fatalf("new hash: ok %v, rehash %v, err %v; want true, false, nil", ok, rehash, err)
		}
		if !stored.UpdatedAt.Equal(env.clock.Now()) {
			t.Errorf("updated_at = %v, want %v", stored.UpdatedAt, env.clock.Now())
		}
		env.mustLogin(t, "old@example.com", "") // and the new hash works
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, env *serviceEnv) {
		ctx := context.Background()
		u := env.mustRegister(t, "ana@example.com")
		first := env.mustLogin(t, "ana@example.com", "")
		other := env.mustLogin(t, "ana@example.com", "") // another device, another family

		env.clock.Advance(time.Minute)
		second, err := env.svc.Refresh(ctx, first.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
			t.Fatal("refresh did not issue new tokens")
		}
		if second.User.ID != u.ID {
			t.Errorf("refreshed user = %s, want %s", second.User.ID, u.ID)
		}
		if want := env.clock.Now().Add(testConfig.RefreshTTL); !second.RefreshExpiry.Equal(want) {
			t.Errorf("refresh expiry = %v, want %v (a fresh TTL)", second.RefreshExpiry, want)
		}
		if got, err := env.svc.Authenticate(ctx, second.AccessToken); err != nil || got.ID != u.ID {
			t.Fatalf("Authenticate(refreshed access) = %v, %v", got, err)
		}

		env.clock.Advance(time.Minute)
		third, err := env.svc.Refresh(ctx, second.RefreshToken)
		if err != nil {
			t.Fatalf("second refresh: %v", err)
		}

		// The first token was rotated: using it again is reuse.
		_, err = env.svc.Refresh(ctx, first.RefreshToken)
		wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")

		// That revoked the whole family, the newest token too…
		_, err = env.svc.Refresh(ctx, third.RefreshToken)
		wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")
		_, err = env.svc.Refresh(ctx, second.RefreshToken)
		wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")

		// …but not the other login's.
		if _, err := env.svc.Refresh(ctx, other.RefreshToken); err != nil {
			t.Fatalf("other family: %v", err)
		}
	})
}

// A client whose refresh answer was lost sends the same token again: within
// the retry interval, and while the token it was exchanged for is unused,
// it gets that same token again and nothing is revoked. Too late, or after
// the successor was used, the second use is a reuse and ends the family.
// (With the interval at 0, the default, every second use is:
// TestRefreshReuseEndsAccessTokens.)
func TestRefreshRetriedAfterALostAnswer(t *testing.T) {
	t.Parallel()
	cfg := testConfig
	cfg.RefreshRetry = 30 * time.Second
	for _, st := range testdb.Stores {
		t.Run(st.Name, func(t *testing.T) { refreshRetried(t, newServiceEnvWith(st.Open(t), cfg)) })
	}
}

func refreshRetried(t *testing.T, env *serviceEnv) {
	ctx := context.Background()
	env.mustRegister(t, "ana@example.com")
	refresh := func(token string) (*Session, error) { return env.svc.Refresh(ctx, token) }

	// Retried within the interval: the same successor, twice.
	first := env.mustLogin(t, "ana@example.com", "")
	env.clock.Advance(time.Minute)
	lost, err := refresh(first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(20 * time.Second)
	for range 2 {
		again, err := refresh(first.RefreshToken)
		if err != nil {
			t.Fatalf("retry within the interval: %v", err)
		}
		if again.RefreshToken != lost.RefreshToken || !again.RefreshExpiry.Equal(lost.RefreshExpiry) {
			t.Fatalf("the retry got another refresh token (%v): want the lost answer's", again.RefreshExpiry)
		}
		if _, err := env.svc.Authenticate(ctx, again.AccessToken); err != nil {
			t.Fatalf("the retry's access token: %v", err)
		}
	}
	// The family goes on from the token both answers carried.
	next, err := refresh(lost.RefreshToken)
	if err != nil {
		t.Fatalf("refresh with the retried answer's token: %v", err)
	}
	// The original again, its successor now used: a reuse.
	_, err = refresh(first.RefreshToken)
	wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")
	_, err = refresh(next.RefreshToken)
	wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")

	// Sent again only after the interval: a reuse, though the
	// successor was never used.
	late := env.mustLogin(t, "ana@example.com", "")
	succ, err := refresh(late.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(30 * time.Second)
	_, err = refresh(late.RefreshToken)
	wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")
	_, err = refresh(succ.RefreshToken)
	wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")
}

func TestRefreshExpiry(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	ctx := context.Background()
	env.mustRegister(t, "ana@example.com")
	early := env.mustLogin(t, "ana@example.com", "")
	late := env.mustLogin(t, "ana@example.com", "")

	env.clock.Advance(testConfig.RefreshTTL - time.Second)
	if _, err := env.svc.Refresh(ctx, early.RefreshToken); err != nil {
		t.Fatalf("refresh a second before expiry: %v", err)
	}
	env.clock.Advance(time.Second)
	_, err := env.svc.Refresh(ctx, late.RefreshToken)
	wantErr(t, err, mealsync.EINVALID, "Refresh token is expired")
}

func TestRefreshUnknownToken(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	env.mustRegister(t, "ana@example.com")
	s := env.mustLogin(t, "ana@example.com", "")
	for _, token := range []string{"", "not-a-token", s.AccessToken, s.RefreshToken + "x"} {
		_, err := env.svc.Refresh(context.Background(), token)
		wantErr(t, err, mealsync.EINVALID, "Refresh token is not valid")
	}
}

// A password change ends every session (UpdateUser with endSessions): the
// refresh tokens say so instead of passing for unknown ones.
func TestRefreshAfterSessionsEnded(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	ctx := context.Background()
	u := env.mustRegister(t, "ana@example.com")
	s := env.mustLogin(t, "ana@example.com", "")
	env.clock.Advance(time.Minute)
	if _, err := env.db.UpdateUser(ctx, u.ID, mealsync.UserUpdate{EndSessions: true, At: env.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err := env.svc.Refresh(ctx, s.RefreshToken)
	wantErr(t, err, mealsync.EINVALID, "Refresh token has been revoked")
}

func TestRefreshRefusesInactiveUser(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	u := env.mustRegister(t, "ana@example.com")
	s := env.mustLogin(t, "ana@example.com", "")
	env.mustSetStatus(t, u.ID, mealsync.StatusBanned)
	_, err := env.svc.Refresh(context.Background(), s.RefreshToken)
	wantErr(t, err, mealsync.EFORBIDDEN, "User account is locked")
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	env := newServiceEnv(t, testdb.SQLite(t))
	ctx := context.Background()

	t.Run("deleted user", func(t *testing.T) {
		u := env.mustRegister(t, "gone@example.com")
		s := env.mustLogin(t, "gone@example.com", "")
		if err := env.db.DeleteUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err := env.svc.Authenticate(ctx, s.AccessToken)
		wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid or expired token")
	})
	t.Run("banned user", func(t *testing.T) {
		u := env.mustRegister(t, "banned@example.com")
		s := env.mustLogin(t, "banned@example.com", "")
		env.mustSetStatus(t, u.ID, mealsync.StatusBanned)
		_, err := env.svc.Authenticate(ctx, s.AccessToken)
		wantErr(t, err, mealsync.EFORBIDDEN, "User account is locked")
	})
	t.Run("disabled user", func(t *testing.T) {
		u := env.mustRegister(t, "off@example.com")
		s := env.mustLogin(t, "off@example.com", "")
		env.mustSetStatus(t, u.ID, mealsync.StatusInactive)
		_, err := env.svc.Authenticate(ctx, s.AccessToken)
		wantErr(t, err, mealsync.EFORBIDDEN, "User is disabled")
	})
	t.Run("token for another key", func(t *testing.T) {
		u := env.mustRegister(t, "forged@example.com")
		forged, _, err := NewSigner([][]byte{otherKey}, testAccessTTL, env.clock.Now).Issue(u.ID, 0, env.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, err = env.svc.Authenticate(ctx, forged)
		wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid or expired token")
	})
	t.Run("expired access token", func(t *testing.T) {
		env.mustRegister(t, "late@example.com")
		s := env.mustLogin(t, "late@example.com", "")
		env.clock.Advance(testConfig.AccessTTL + wantLeeway + time.Second)
		_, err := env.svc.Authenticate(ctx, s.AccessToken)
		wantErr(t, err, mealsync.EUNAUTHORIZED, "Invalid or expired token")
	})
}
