package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"
)

const (
	issuer   = "mealsync"
	audience = "mealsync-api"
	// leeway tolerates clock skew between the instances that issue and check.
	leeway = 30 * time.Second
)

// Signer issues and checks HS256 access tokens. It signs with its first key
// and accepts tokens signed with any of them, so a key can be rotated
// without ending every session: the new key signs, the old one keeps
// verifying until the tokens it signed have expired.
type Signer struct {
	keys   map[string][]byte // by key id
	signID string            // the id of the key that signs
	all    jwt.VerificationKeySet
	ttl    time.Duration
	parser *jwt.Parser
	now    func() time.Time
	// verified remembers tokens already checked, with their expiry: a client
	// sends the same token for its whole life, and decoding its claims is
	// most of a request's authentication. The keys never change in a
	// process, so a token that verified once verifies until it expires.
	verified *lru.Cache[string, verifiedToken]

	hits, misses atomic.Uint64 // Parse answered from verified, by verifying
}

type verifiedToken struct {
	tok Token
	exp time.Time
}

// verifiedTokens is how many verified tokens a process remembers: one per
// active session of some tens of thousands of users.
const verifiedTokens = 50_000

// KeyID names a key in a token's "kid" header: a prefix of its SHA-256,
// which tells a verifier which key to use without revealing the key.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// NewSigner returns a Signer that signs with keys[0] and verifies with any
// of keys (each at least 32 bytes, checked by config).
func NewSigner(keys [][]byte, ttl time.Duration, now func() time.Time) *Signer {
	verified, _ := lru.New[string, verifiedToken](verifiedTokens) // a positive size cannot fail
	s := &Signer{keys: make(map[string][]byte, len(keys)), signID: KeyID(keys[0]), ttl: ttl, now: now, verified: verified, parser: jwt.NewParser(
		// Only HS256: "alg":"none" and algorithm-confusion tokens fail here.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	)}
	for _, k := range keys {
		s.keys[KeyID(k)] = k
		s.all.Keys = append(s.all.Keys, k)
	}
	return s
}

// claims are an access token's claims: the registered ones, with the user id
// as subject, and the user's session epoch when the token was issued.
type claims struct {
	jwt.RegisteredClaims
	// Epoch is the user's session epoch at issue. Ending a user's sessions
	// bumps the stored epoch, which every older token then fails to match.
	// Tokens issued before epochs existed carry none and read as 0.
	Epoch int64 `json:"sep,omitempty"`
}

// Token is what a verified access token says.
type Token struct {
	UserID string // a canonical, lower-case UUID
	Epoch  int64
}

// Issue returns a signed access token for the user and its expiry.
func (s *Signer) Issue(userID string, epoch int64, now time.Time) (string, time.Time, error) {
	exp := now.Add(s.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Epoch: epoch,
	})
	tok.Header["kid"] = s.signID
	signed, err := tok.SignedString(s.keys[s.signID])
	return signed, exp, err
}

// ErrBadToken covers every reason a token is refused; the reason is not
// told to the client.
var ErrBadToken = errors.New("invalid or expired token")

// Parse verifies token and returns what it says. A subject that is not a
// UUID is refused here: no user id of ours has another form, and a store
// must never be asked for one.
func (s *Signer) Parse(token string) (Token, error) {
	if v, ok := s.verified.Get(token); ok {
		s.hits.Add(1)
		if s.now().Before(v.exp.Add(leeway)) {
			return v.tok, nil
		}
		s.verified.Remove(token)
		return Token{}, ErrBadToken
	}
	s.misses.Add(1)
	var c claims
	_, err := s.parser.ParseWithClaims(token, &c, s.key)
	if err != nil {
		return Token{}, ErrBadToken
	}
	id, err := uuid.Parse(c.Subject)
	if err != nil || len(c.Subject) != 36 || c.Epoch < 0 {
		return Token{}, ErrBadToken
	}
	tok := Token{UserID: id.String(), Epoch: c.Epoch}
	s.verified.Add(token, verifiedToken{tok: tok, exp: c.ExpiresAt.Time})
	return tok, nil
}

// Lookups returns how many tokens Parse found among those it had verified
// (hits) and how many it had to verify (misses: new tokens, and forgeries).
func (s *Signer) Lookups() (hits, misses uint64) {
	return s.hits.Load(), s.misses.Load()
}

// key picks the verification key by the token's "kid"; a token without one
// (issued before key ids) may match any key.
func (s *Signer) key(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"]
	if !ok {
		return s.all, nil
	}
	id, _ := kid.(string)
	if k, ok := s.keys[id]; ok {
		return k, nil
	}
	return nil, ErrBadToken
}
