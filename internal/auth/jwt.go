package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	issuer   = "mealsync"
	audience = "mealsync-api"
	// leeway tolerates clock skew between the instances that issue and check.
	leeway = 30 * time.Second
)

// Signer issues and checks HS256 access tokens.
type Signer struct {
	key    []byte
	ttl    time.Duration
	parser *jwt.Parser
}

// NewSigner returns a Signer for key (at least 32 bytes, checked by config).
func NewSigner(key []byte, ttl time.Duration, now func() time.Time) *Signer {
	return &Signer{key: key, ttl: ttl, parser: jwt.NewParser(
		// Only HS256: "alg":"none" and algorithm-confusion tokens fail here.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	)}
}

// Issue returns a signed access token for userID and its expiry.
func (s *Signer) Issue(userID string, now time.Time) (string, time.Time, error) {
	exp := now.Add(s.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   userID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	})
	signed, err := tok.SignedString(s.key)
	return signed, exp, err
}

// ErrBadToken covers every reason a token is refused; the reason is not
// told to the client.
var ErrBadToken = errors.New("invalid or expired token")

// Parse verifies token and returns its subject, the user id.
func (s *Signer) Parse(token string) (string, error) {
	var claims jwt.RegisteredClaims
	_, err := s.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return s.key, nil })
	if err != nil || claims.Subject == "" {
		return "", ErrBadToken
	}
	return claims.Subject, nil
}
