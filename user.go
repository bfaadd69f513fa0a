package mealsync

import (
	"context"
	"time"
)

// Role is what a user may do. Registration only ever creates RoleUser.
type Role string

const (
	RoleUser  Role = "USER"
	RoleAdmin Role = "ADMIN"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// Status is a user's account state. Only ACTIVE users may log in or use a token.
type Status string

const (
	StatusActive   Status = "ACTIVE"
	StatusInactive Status = "INACTIVE"
	StatusBanned   Status = "BANNED"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusActive || s == StatusInactive || s == StatusBanned
}

// Preferences steer recommendations and recipe generation.
type Preferences struct {
	DietaryRestrictions []string
	FavoriteCuisines    []string
	DislikedIngredients []string
}

// User is an account. PasswordHash never leaves the server.
type User struct {
	ID           string
	Email        string
	Name         string
	Role         Role
	Status       Status
	Preferences  Preferences
	PasswordHash string
	// SessionEpoch counts the times every session of the user was ended (a
	// password, role or status change, a sign-out everywhere, a stolen
	// refresh token). Access tokens carry the epoch they were issued in and
	// stop working when it moves on.
	SessionEpoch int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CanAccess reports whether u may act on the user with id: itself, or anyone
// when u is an admin (the reference's "self-or-admin" rule).
func (u *User) CanAccess(id string) bool { return u.ID == id || u.Role == RoleAdmin }

// UserFilter narrows ListUsers. Zero fields match everything.
type UserFilter struct {
	Role   Role
	Status Status
}

// UserStore keeps users. Lookups by email are case-insensitive.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error // ErrConflict on a taken email
	UserByID(ctx context.Context, id string) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, error)
	// UpdateUser writes the fields upd sets, and only those, in one
	// transaction, and returns the user as stored after it (ErrNotFound for
	// an unknown id).
	UpdateUser(ctx context.Context, id string, upd UserUpdate) (*User, error)
	// ReplacePasswordHash swaps oldHash for newHash only while the stored hash
	// is still oldHash, and reports whether it did: a rehash after a login must
	// not undo a password change made meanwhile.
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string, at time.Time) (bool, error)
	DeleteUser(ctx context.Context, id string) error
}

// UserChangeFeed tells which users changed, so that user rows may be cached
// (every request authenticates one) and a change made anywhere still
// reaches every cache. Each write to a user row records the user under a
// version that only grows, in the write's own transaction; versions become
// visible in order.
type UserChangeFeed interface {
	// UserChangesSince returns the users changed after version after (each
	// once), the latest version, and whether the feed still holds every
	// change after after — false once old changes were pruned, when the
	// caller must forget every user.
	UserChangesSince(ctx context.Context, after int64) (ids []string, latest int64, complete bool, err error)
}

// UserUpdate names the fields one change writes. Nil fields keep what is
// stored, so two requests that change different fields of a user — a ban
// and a name change, a password change and a preference — never undo each
// other, whatever their order.
type UserUpdate struct {
	Name                *string
	PasswordHash        *string
	Role                *Role
	Status              *Status
	DietaryRestrictions *[]string
	FavoriteCuisines    *[]string
	DislikedIngredients *[]string
	// EndSessions moves the session epoch on, so every access token issued
	// before stops working, and revokes every refresh token of the user, in
	// the same transaction.
	EndSessions bool
	At          time.Time // the new UpdatedAt
}

// TicketStore keeps the single-use tickets that open live connections.
type TicketStore interface {
	CreateTicket(ctx context.Context, hash, userID string, expires time.Time) error
	// RedeemTicket deletes the ticket and returns its user; ErrNotFound for
	// an unknown, used or expired one.
	RedeemTicket(ctx context.Context, hash string, now time.Time) (string, error)
	PruneTickets(ctx context.Context, now time.Time) error
}

// RefreshToken is a stored refresh token. Only its hash is kept: a database
// leak does not hand out sessions. Tokens issued by rotation share the
// FamilyID of the login that started the chain.
type RefreshToken struct {
	ID        string
	UserID    string
	FamilyID  string
	Hash      string
	ExpiresAt time.Time
	CreatedAt time.Time
	RotatedAt *time.Time // set when it was exchanged for a successor
	RevokedAt *time.Time // set when its family was revoked
}

// TokenStore keeps refresh tokens.
type TokenStore interface {
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// RotateRefreshToken marks the token with oldHash rotated and stores next,
	// atomically, only if the old one is neither rotated nor revoked. It
	// returns the old token as it was before the call; when it was already
	// rotated or revoked, nothing is written and the caller decides.
	RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken, now time.Time) (old *RefreshToken, rotated bool, err error)
	// RefreshToken returns the token stored under hash (ENOTFOUND if none).
	RefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	// RevokeTokenFamily revokes every token of a family and ends the access
	// tokens of its user (moves the session epoch on), in one transaction:
	// a refresh token used twice means it was stolen, and whatever the thief
	// obtained with it must stop working at once.
	RevokeTokenFamily(ctx context.Context, familyID string, now time.Time) error
	// EndTokenFamily revokes the family of the token with this hash (one
	// device signing out) and nothing else: the user's other sessions and
	// access tokens stand. An unknown hash is not an error.
	EndTokenFamily(ctx context.Context, tokenHash string, now time.Time) error
}

// LoginAttemptStore counts attempts per key (an account or an address that
// logs in, an address that registers) in the database, so the limits hold
// across every instance of the service.
//
// An attempt is recorded before its password is checked and forgotten if it
// succeeds or is refused, so that guesses sent in parallel are all counted:
// none can slip between another's check and its record.
type LoginAttemptStore interface {
	RecordLoginAttempt(ctx context.Context, id string, keys []string, at time.Time) error
	ForgetLoginAttempt(ctx context.Context, id string) error
	// LoginFailures returns how many attempts key has at or after since, and
	// the time of the oldest of them.
	LoginFailures(ctx context.Context, key string, since time.Time) (n int, oldest time.Time, err error)
	ClearLoginFailures(ctx context.Context, key string) error
}
