// Package auth registers users, logs them in, rotates refresh tokens and
// authenticates access tokens. It holds the rules; storage is behind the
// domain's interfaces and the clock is injected.
//
// It imports the domain package, never net/http or database/sql.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
)

// Config holds the knobs of the service.
type Config struct {
	AccessTTL        time.Duration
	RefreshTTL       time.Duration
	MaxLoginFailures int           // per account and per address, within LoginWindow
	LoginWindow      time.Duration // sliding window of the throttle
	// MaxRegistrations is how many sign-ups one client address may attempt
	// within RegisterWindow; 0 means no limit.
	MaxRegistrations int
	RegisterWindow   time.Duration
	// HashSlots bounds the password hashes computed at once (see HashSlots);
	// HashWait is how long a request may wait for one before it is refused
	// with 503. Zero values take the defaults of withDefaults.
	HashSlots int
	HashWait  time.Duration
	// RefreshRetry is how long after a refresh token was exchanged the
	// same token still gets the same answer (a retry after a lost answer);
	// past it, a second use is a reuse. 0: every second use is a reuse.
	RefreshRetry time.Duration
}

// withDefaults fills what a caller (a test) left zero.
func (c Config) withDefaults() Config {
	if c.HashSlots <= 0 {
		c.HashSlots = HashSlots(math.MaxInt64, runtime.GOMAXPROCS(0))
	}
	if c.HashWait <= 0 {
		c.HashWait = 2 * time.Second
	}
	return c
}

// Service is the authentication service.
type Service struct {
	users    mealsync.UserStore
	tokens   mealsync.TokenStore
	attempts mealsync.LoginAttemptStore
	signer   *Signer
	hashes   *hashGate
	// successors derives each refresh token's successor from it
	// (successor), so that a retried refresh can be answered again.
	successors []byte
	cfg        Config
	now        mealsync.Clock
	log        *slog.Logger

	dummyOnce sync.Once
	dummyHash string // verified against for unknown emails, to equalise timing
}

// NewService builds the service. keys[0] signs access tokens; every key
// verifies them (the others are previous keys, kept while a rotation's
// older tokens live).
func NewService(users mealsync.UserStore, tokens mealsync.TokenStore, attempts mealsync.LoginAttemptStore,
	keys [][]byte, cfg Config, now mealsync.Clock, log *slog.Logger) *Service {
	cfg = cfg.withDefaults()
	return &Service{users: users, tokens: tokens, attempts: attempts,
		signer: NewSigner(keys, cfg.AccessTTL, now), hashes: newHashGate(cfg.HashSlots, cfg.HashWait),
		successors: successorKey(keys[0]), cfg: cfg, now: now, log: log}
}

// Session is what login and refresh hand the client.
type Session struct {
	User          *mealsync.User
	AccessToken   string
	RefreshToken  string
	RefreshExpiry time.Time
}

// Registration is a validated sign-up.
type Registration struct {
	Email    string
	Password string
	Name     string
	ClientIP string // the address it came from; throttled per address
}

// Register creates a USER. The role is never taken from the request.
//
// Sign-ups are throttled per client address (each attempt counts, made or
// not: an account costs a password hash and a row), and the hash waits for
// a free slot, so a flood of sign-ups can neither fill the database nor
// exhaust the memory.
func (s *Service) Register(ctx context.Context, r Registration) (*mealsync.User, error) {
	now := s.now().UTC()
	if err := s.throttleRegistration(ctx, r.ClientIP, now); err != nil {
		return nil, err
	}
	hash, err := s.hashes.hash(ctx, r.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &mealsync.User{
		ID:           uuid.NewString(),
		Email:        strings.TrimSpace(r.Email),
		Name:         strings.TrimSpace(r.Name),
		Role:         mealsync.RoleUser,
		Status:       mealsync.StatusActive,
		PasswordHash: hash,
		Preferences:  mealsync.Preferences{DietaryRestrictions: []string{}, FavoriteCuisines: []string{}, DislikedIngredients: []string{}},
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := s.users.CreateUser(ctx, u); err != nil {
		if mealsync.ErrorCode(err) == mealsync.ECONFLICT {
			return nil, mealsync.Errorf(mealsync.ECONFLICT, "Email already exists")
		}
		return nil, err
	}
	return u, nil
}

// throttleRegistration records a sign-up attempt from ip and refuses it when
// the address already made MaxRegistrations in the window. A refused attempt
// is forgotten: it created nothing.
func (s *Service) throttleRegistration(ctx context.Context, ip string, now time.Time) error {
	if s.cfg.MaxRegistrations <= 0 || ip == "" {
		return nil
	}
	key := "register:" + ip
	attempt := uuid.NewString()
	if err := s.attempts.RecordLoginAttempt(ctx, attempt, []string{key}, now); err != nil {
		return err
	}
	since := now.Add(-s.cfg.RegisterWindow).Add(time.Microsecond)
	n, oldest, err := s.attempts.LoginFailures(ctx, key, since)
	if err != nil {
		return err
	}
	if n > s.cfg.MaxRegistrations {
		retry := max(oldest.Add(s.cfg.RegisterWindow).Sub(now), time.Second)
		return errors.Join(&mealsync.Error{Code: mealsync.ETOOMANY, RetryAfter: retry,
			Message: "Too many sign-ups from this address. Try again later."},
			s.attempts.ForgetLoginAttempt(context.WithoutCancel(ctx), attempt))
	}
	return nil
}

var errBadCredentials = mealsync.Errorf(mealsync.EUNAUTHORIZED, "Invalid email or password")

// Login checks credentials, throttled per account and per client address.
//
// The attempt is recorded before the password is checked and forgotten when
// it succeeds: counted that way, guesses sent in parallel cannot all pass
// the throttle before any of them is recorded as a failure.
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (*Session, error) {
	now := s.now().UTC()
	email = strings.TrimSpace(email)
	keys := []string{"email:" + strings.ToLower(email)}
	if clientIP != "" {
		keys = append(keys, "ip:"+clientIP)
	}
	attempt := uuid.NewString()
	if err := s.attempts.RecordLoginAttempt(ctx, attempt, keys, now); err != nil {
		return nil, err
	}
	forget := func() error { return s.attempts.ForgetLoginAttempt(context.WithoutCancel(ctx), attempt) }
	// Refuse before checking the password: a throttled guesser learns
	// nothing, and a refused attempt is not a failure.
	if err := s.throttled(ctx, keys, now); err != nil {
		return nil, errors.Join(err, forget())
	}
	u, ok, rehash, err := s.checkPassword(ctx, email, password)
	if err != nil || !ok {
		if err == nil {
			err = errBadCredentials // the recorded attempt stays: a failure
		}
		return nil, err
	}
	if err := forget(); err != nil {
		return nil, err
	}
	// Only a caller who knows the password learns the account's state.
	if err := activeUser(u); err != nil {
		return nil, err
	}
	if err := s.attempts.ClearLoginFailures(ctx, keys[0]); err != nil {
		return nil, err
	}
	if rehash {
		s.upgradeHash(ctx, u, password)
	}
	return s.newSession(ctx, u, now, uuid.NewString())
}

// checkPassword verifies password for the account with email. An unknown
// email costs the same as a wrong password, so timing does not reveal which
// addresses have accounts.
func (s *Service) checkPassword(ctx context.Context, email, password string) (u *mealsync.User, ok, rehash bool, err error) {
	u, err = s.users.UserByEmail(ctx, email)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		s.dummyOnce.Do(func() { s.dummyHash, _ = HashPassword(rand.Text()) })
		_, _, err := s.hashes.verify(ctx, s.dummyHash, password)
		return nil, false, false, busyOnly(err)
	}
	if err != nil {
		return nil, false, false, err
	}
	ok, rehash, err = s.hashes.verify(ctx, u.PasswordHash, password)
	if err != nil {
		if busyOnly(err) != nil {
			return nil, false, false, err
		}
		return nil, false, false, fmt.Errorf("verify password of %s: %w", u.ID, err)
	}
	return u, ok, rehash, nil
}

// busyOnly keeps the errors of waiting for a hash slot (busy, cancelled)
// and drops a verification's own: the dummy hash is ours and always parses.
func busyOnly(err error) error {
	if errors.Is(err, errHashBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// throttled refuses when a key already had MaxLoginFailures attempts in the
// window before this one (which is counted too, hence the >).
func (s *Service) throttled(ctx context.Context, keys []string, now time.Time) error {
	// The window is (now-window, now]: an attempt exactly one window old no
	// longer counts, so Retry-After seconds later the next try is allowed.
	since := now.Add(-s.cfg.LoginWindow).Add(time.Microsecond)
	for _, k := range keys {
		n, oldest, err := s.attempts.LoginFailures(ctx, k, since)
		if err != nil {
			return err
		}
		if n > s.cfg.MaxLoginFailures {
			// Free again when the oldest attempt leaves the window.
			retry := max(oldest.Add(s.cfg.LoginWindow).Sub(now), time.Second)
			return &mealsync.Error{Code: mealsync.ETOOMANY, RetryAfter: retry,
				Message: "Too many failed login attempts. Try again later."}
		}
	}
	return nil
}

// upgradeHash replaces a legacy or weaker hash after a successful login,
// only if the hash is still the one the password was checked against: a
// password changed meanwhile stays changed. A failure is logged, not
// returned: the login itself succeeded.
func (s *Service) upgradeHash(ctx context.Context, u *mealsync.User, password string) {
	hash, err := s.hashes.hash(ctx, password)
	replaced := false
	if err == nil {
		replaced, err = s.users.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, hash, s.now().UTC())
	}
	switch {
	case err != nil:
		s.log.WarnContext(ctx, "password rehash failed", "user_id", u.ID, "err", err)
	case !replaced:
		s.log.InfoContext(ctx, "password rehash skipped: the password changed meanwhile", "user_id", u.ID)
	}
}

func activeUser(u *mealsync.User) error {
	switch u.Status {
	case mealsync.StatusActive:
		return nil
	case mealsync.StatusBanned:
		return mealsync.Errorf(mealsync.EFORBIDDEN, "User account is locked")
	default:
		return mealsync.Errorf(mealsync.EFORBIDDEN, "User is disabled")
	}
}

func (s *Service) newSession(ctx context.Context, u *mealsync.User, now time.Time, family string) (*Session, error) {
	refresh, rt := s.newRefreshToken(now)
	rt.UserID, rt.FamilyID = u.ID, family
	if err := s.tokens.CreateRefreshToken(ctx, rt); err != nil {
		return nil, err
	}
	return s.session(u, refresh, rt, now)
}

func (s *Service) session(u *mealsync.User, refresh string, rt *mealsync.RefreshToken, now time.Time) (*Session, error) {
	access, _, err := s.signer.Issue(u.ID, u.SessionEpoch, now)
	if err != nil {
		return nil, fmt.Errorf("sign access token: %w", err)
	}
	return &Session{User: u, AccessToken: access, RefreshToken: refresh, RefreshExpiry: rt.ExpiresAt}, nil
}

// newRefreshToken makes a random token and the row that stores its hash.
func (s *Service) newRefreshToken(now time.Time) (string, *mealsync.RefreshToken) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, &mealsync.RefreshToken{
		ID: uuid.NewString(), Hash: hashToken(token), CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL),
	}
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// Refresh errors, in the reference's words (section 11).
var (
	errRefreshInvalid = mealsync.Errorf(mealsync.EINVALID, "Refresh token is not valid")
	errRefreshRevoked = mealsync.Errorf(mealsync.EINVALID, "Refresh token has been revoked")
	errRefreshExpired = mealsync.Errorf(mealsync.EINVALID, "Refresh token is expired")
)

// Refresh exchanges a refresh token for a new session, rotating it. A token
// used twice means it was stolen (or a client is broken): the whole family
// of tokens from that login is revoked, so neither holder can go on.
//
// But not a retry: a client whose answer was lost (a timeout, a dropped
// connection) sends the same token again, and within RefreshRetry of the
// exchange it gets the same successor again, as long as that successor has
// not been used — the exchange is idempotent, like a write with an
// Idempotency-Key. The successor is derived from the token (successor),
// not stored, and is the one the first answer carried, so a thief who
// retries too gets nothing another holder does not already have: whichever
// of them uses it second revokes the family, as before.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	now := s.now().UTC()
	refresh, next := s.successor(token, now)
	old, rotated, err := s.tokens.RotateRefreshToken(ctx, hashToken(token), next, now)
	switch {
	case mealsync.ErrorCode(err) == mealsync.ENOTFOUND:
		return nil, errRefreshInvalid
	case err != nil:
		return nil, err
	case old.RevokedAt != nil:
		return nil, errRefreshRevoked
	case !now.Before(old.ExpiresAt):
		return nil, errRefreshExpired
	case !rotated:
		retried, err := s.retried(ctx, old, next, now)
		if err != nil {
			return nil, err
		}
		if retried == nil { // a reuse
			s.log.WarnContext(ctx, "refresh token reuse; revoking its family", "user_id", old.UserID, "family_id", old.FamilyID)
			if err := s.tokens.RevokeTokenFamily(ctx, old.FamilyID, now); err != nil {
				return nil, err
			}
			return nil, errRefreshRevoked
		}
		next = retried
	}
	u, err := s.users.UserByID(ctx, old.UserID)
	if err != nil {
		return nil, err
	}
	if err := activeUser(u); err != nil {
		return nil, err
	}
	return s.session(u, refresh, next, now)
}

// retried returns the stored successor of old when presenting old again is
// a retry: old was exchanged less than RefreshRetry ago, for this very
// successor, which nobody has used since. Otherwise nil: a reuse.
func (s *Service) retried(ctx context.Context, old, next *mealsync.RefreshToken, now time.Time) (*mealsync.RefreshToken, error) {
	if old.RotatedAt == nil || now.Sub(*old.RotatedAt) >= s.cfg.RefreshRetry {
		return nil, nil
	}
	succ, err := s.tokens.RefreshToken(ctx, next.Hash)
	switch {
	case mealsync.ErrorCode(err) == mealsync.ENOTFOUND:
		return nil, nil // exchanged under another key (a key rotation in between)
	case err != nil:
		return nil, err
	case succ.FamilyID != old.FamilyID || succ.RotatedAt != nil || succ.RevokedAt != nil || !now.Before(succ.ExpiresAt):
		return nil, nil
	}
	return succ, nil
}

// successor returns the refresh token that follows token, and the row that
// stores its hash: an HMAC of token under a key of the service's own, so
// the same token always has the same successor and nobody without the key
// can compute it.
func (s *Service) successor(token string, now time.Time) (string, *mealsync.RefreshToken) {
	m := hmac.New(sha256.New, s.successors)
	m.Write([]byte(token))
	next := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	return next, &mealsync.RefreshToken{
		ID: uuid.NewString(), Hash: hashToken(next), CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL),
	}
}

// successorKey derives the successors' key from the signing key, so that
// every instance sharing MEALSYNC_JWT_SECRET derives the same successors,
// and a leak of one key is not a leak of the other.
func successorKey(signing []byte) []byte {
	m := hmac.New(sha256.New, signing)
	m.Write([]byte("mealsync refresh-token successor v1"))
	return m.Sum(nil)
}

// SignOut ends the session a refresh token belongs to (one device's, from
// its login on): its family is revoked, so neither it nor a successor
// refreshes again. The user's other sessions stand; the device's own access
// token lasts until it expires (minutes) unless the device drops it, as the
// web app does. An empty or unknown token is not an error: there is nothing
// left to end.
func (s *Service) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.tokens.EndTokenFamily(ctx, hashToken(token), s.now().UTC())
}

// TokenLookups returns how many access tokens were found among those this
// process had verified (hits) and how many had to be verified (misses).
func (s *Service) TokenLookups() (hits, misses uint64) { return s.signer.Lookups() }

var errInvalidToken = mealsync.Errorf(mealsync.EUNAUTHORIZED, "Invalid or expired token")

// Authenticate returns the active user an access token belongs to. The user
// is loaded on every request, so deleting or banning an account, or ending
// its sessions, takes effect at once rather than when its tokens expire: a
// token issued before the user's session epoch moved on is refused.
func (s *Service) Authenticate(ctx context.Context, token string) (*mealsync.User, error) {
	tok, err := s.signer.Parse(token)
	if err != nil {
		return nil, errInvalidToken
	}
	u, err := s.users.UserByID(ctx, tok.UserID)
	if mealsync.ErrorCode(err) == mealsync.ENOTFOUND {
		return nil, errInvalidToken
	} else if err != nil {
		return nil, err
	}
	if u.SessionEpoch != tok.Epoch {
		return nil, errInvalidToken
	}
	if err := activeUser(u); err != nil {
		return nil, err
	}
	return u, nil
}
