package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef") // 32 bytes, as config demands
	otherKey = []byte("fedcba9876543210fedcba9876543210")
)

// Subjects are user ids, which are UUIDs.
const (
	testUserID  = "5f0c8a52-7d53-4c0e-9b8e-3f6f2a1d9c11"
	otherUserID = "0b7e0f64-2b38-4a4b-a4f1-6d9e7c4f2a00"
)

const (
	testAccessTTL = 15 * time.Minute
	// wantLeeway is the documented clock-skew tolerance, written out so a
	// change to the constant in jwt.go shows up here.
	wantLeeway = 30 * time.Second
)

func newTestSigner(t testing.TB) (*Signer, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	return NewSigner([][]byte{testKey}, testAccessTTL, clock.Now), clock
}

// handToken builds a JWT without the library under test, so the tests can
// forge what an attacker would send.
func handToken(t testing.TB, header, claims map[string]any, sign func(signingInput string) []byte) string {
	t.Helper()
	seg := func(v map[string]any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := seg(header) + "." + seg(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

func hmacWith(h func() hash.Hash, key []byte) func(string) []byte {
	return func(input string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(input))
		return m.Sum(nil)
	}
}

func noSignature(string) []byte { return nil }

func hs256Header() map[string]any { return map[string]any{"alg": "HS256", "typ": "JWT"} }

// goodClaims are claims the signer accepts at now.
func goodClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": "mealsync",
		"aud": []string{"mealsync-api"},
		"sub": testUserID,
		"iat": now.Unix(),
		"exp": now.Add(testAccessTTL).Unix(),
	}
}

func TestSignerRoundTrip(t *testing.T) {
	t.Parallel()
	s, clock := newTestSigner(t)
	token, exp, err := s.Issue(testUserID, 7, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(testAccessTTL); !exp.Equal(want) {
		t.Errorf("expiry = %v, want %v", exp, want)
	}
	tok, err := s.Parse(token)
	if err != nil || tok != (Token{UserID: testUserID, Epoch: 7}) {
		t.Fatalf("Parse = %+v, %v; want %s at epoch 7", tok, err, testUserID)
	}

	// The header says HS256 and the signature is HMAC-SHA256 with our key.
	parts := strings.Split(token, ".")
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	if err := json.Unmarshal(head, &h); err != nil || h["alg"] != "HS256" {
		t.Errorf("header = %s (%v), want alg HS256", head, err)
	}
	if !validHS256(token, testKey) {
		t.Error("signature is not HMAC-SHA256 of header.payload with the key")
	}
}

func TestSignerExpiryLeeway(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"fresh", 0, true},
		{"expired within leeway", testAccessTTL + wantLeeway - time.Second, true},
		{"expired beyond leeway", testAccessTTL + wantLeeway + time.Second, false},
		{"long expired", 24 * time.Hour, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, clock := newTestSigner(t)
			token, _, err := s.Issue(testUserID, 0, clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			clock.Advance(c.after)
			tok, err := s.Parse(token)
			if ok := err == nil; ok != c.ok {
				t.Fatalf("after %v: Parse = %+v, %v; want accepted %v", c.after, tok, err, c.ok)
			}
			if !c.ok && err != ErrBadToken {
				t.Errorf("err = %v, want ErrBadToken", err)
			}
		})
	}
}

func TestSignerRejectsForgedTokens(t *testing.T) {
	t.Parallel()
	now := newFakeClock().Now()
	with := func(change func(map[string]any)) map[string]any {
		c := goodClaims(now)
		change(c)
		return c
	}
	hs256 := hmacWith(sha256.New, testKey)

	valid := handToken(t, hs256Header(), goodClaims(now), hs256)
	// Same signature, another user in the payload.
	validParts := strings.Split(valid, ".")
	forgedPayload := strings.Split(handToken(t, hs256Header(), with(func(c map[string]any) { c["sub"] = otherUserID }), hs256), ".")[1]

	for _, c := range []struct {
		name  string
		token string
		ok    bool
	}{
		// The control: the hand-built tokens are otherwise acceptable, so a
		// rejection below is for the reason the case names.
		{"hand-built HS256", valid, true},
		{"audience as a string", handToken(t, hs256Header(), with(func(c map[string]any) { c["aud"] = "mealsync-api" }), hs256), true},

		{"other key", handToken(t, hs256Header(), goodClaims(now), hmacWith(sha256.New, otherKey)), false},
		{"alg none", handToken(t, map[string]any{"alg": "none", "typ": "JWT"}, goodClaims(now), noSignature), false},
		{"alg None", handToken(t, map[string]any{"alg": "None", "typ": "JWT"}, goodClaims(now), noSignature), false},
		{"alg none with HS256 signature", handToken(t, map[string]any{"alg": "none", "typ": "JWT"}, goodClaims(now), hs256), false},
		{"HS512 same key", handToken(t, map[string]any{"alg": "HS512", "typ": "JWT"}, goodClaims(now), hmacWith(sha512.New, testKey)), false},
		{"HS384 same key", handToken(t, map[string]any{"alg": "HS384", "typ": "JWT"}, goodClaims(now), hmacWith(sha512.New384, testKey)), false},
		{"RS256 header, HMAC signature", handToken(t, map[string]any{"alg": "RS256", "typ": "JWT"}, goodClaims(now), hs256), false},
		{"wrong issuer", handToken(t, hs256Header(), with(func(c map[string]any) { c["iss"] = "spring" }), hs256), false},
		{"no issuer", handToken(t, hs256Header(), with(func(c map[string]any) { delete(c, "iss") }), hs256), false},
		{"wrong audience", handToken(t, hs256Header(), with(func(c map[string]any) { c["aud"] = []string{"mealsync-admin"} }), hs256), false},
		{"no audience", handToken(t, hs256Header(), with(func(c map[string]any) { delete(c, "aud") }), hs256), false},
		{"no exp", handToken(t, hs256Header(), with(func(c map[string]any) { delete(c, "exp") }), hs256), false},
		{"expired beyond leeway", handToken(t, hs256Header(), with(func(c map[string]any) { c["exp"] = now.Add(-wantLeeway - time.Second).Unix() }), hs256), false},
		{"issued in the future", handToken(t, hs256Header(), with(func(c map[string]any) { c["iat"] = now.Add(wantLeeway + time.Minute).Unix() }), hs256), false},
		{"not valid yet", handToken(t, hs256Header(), with(func(c map[string]any) { c["nbf"] = now.Add(wantLeeway + time.Minute).Unix() }), hs256), false},
		{"no subject", handToken(t, hs256Header(), with(func(c map[string]any) { delete(c, "sub") }), hs256), false},
		// A correctly signed token whose subject is not a user id of ours
		// (the old server's subjects were emails) never reaches a store.
		{"subject an email", handToken(t, hs256Header(), with(func(c map[string]any) { c["sub"] = "ana@example.com" }), hs256), false},
		{"subject not a UUID", handToken(t, hs256Header(), with(func(c map[string]any) { c["sub"] = "user-1" }), hs256), false},
		{"subject a UUID in braces", handToken(t, hs256Header(), with(func(c map[string]any) { c["sub"] = "{" + testUserID + "}" }), hs256), false},
		{"subject with a NUL", handToken(t, hs256Header(), with(func(c map[string]any) { c["sub"] = testUserID + "\x00" }), hs256), false},
		{"negative epoch", handToken(t, hs256Header(), with(func(c map[string]any) { c["sep"] = -1 }), hs256), false},
		{"epoch not a number", handToken(t, hs256Header(), with(func(c map[string]any) { c["sep"] = "1" }), hs256), false},
		{"unknown key id", handToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": "0011223344556677"}, goodClaims(now), hs256), false},
		{"key id of another key", handToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": KeyID(otherKey)}, goodClaims(now), hs256), false},
		{"key id not a string", handToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": 7}, goodClaims(now), hs256), false},
		{"key id of the key", handToken(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": KeyID(testKey)}, goodClaims(now), hs256), true},
		{"tampered payload", validParts[0] + "." + forgedPayload + "." + validParts[2], false},
		{"signature stripped", validParts[0] + "." + validParts[1] + ".", false},
		{"two segments", validParts[0] + "." + validParts[1], false},
		{"garbage", "not.a.token", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewSigner([][]byte{testKey}, testAccessTTL, func() time.Time { return now })
			tok, err := s.Parse(c.token)
			if ok := err == nil; ok != c.ok {
				t.Fatalf("Parse(%s) = %+v, %v; want accepted %v", c.token, tok, err, c.ok)
			}
			if c.ok && tok.UserID != testUserID {
				t.Errorf("subject = %q, want %s", tok.UserID, testUserID)
			}
			if !c.ok && err != ErrBadToken {
				t.Errorf("err = %v, want ErrBadToken", err)
			}
		})
	}
}

// validHS256 reports whether token's signature is HMAC-SHA256 of its
// header.payload with key.
func validHS256(token string, key []byte) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	return hmac.Equal(sig, hmacWith(sha256.New, key)(parts[0]+"."+parts[1]))
}

// FuzzParse: Parse never panics, and whatever it accepts was signed with the
// key. (The signature is compared decoded: base64 without padding has spare
// bits, and two spellings of the same signature are not a forgery.)
func FuzzParse(f *testing.F) {
	s, clock := newTestSigner(f)
	valid, _, err := s.Issue(testUserID, 0, clock.Now())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(handToken(f, map[string]any{"alg": "none", "typ": "JWT"}, goodClaims(clock.Now()), noSignature))
	f.Add(handToken(f, map[string]any{"alg": "HS512", "typ": "JWT"}, goodClaims(clock.Now()), hmacWith(sha512.New, testKey)))
	f.Add(handToken(f, hs256Header(), goodClaims(clock.Now()), hmacWith(sha256.New, otherKey)))
	f.Add("garbage")
	f.Add("a.b.c")
	f.Add("")

	f.Fuzz(func(t *testing.T, token string) {
		tok, err := s.Parse(token)
		if err != nil {
			if err != ErrBadToken || tok != (Token{}) {
				t.Fatalf("Parse(%q) = %+v, %v; a refusal must be Token{}, ErrBadToken", token, tok, err)
			}
			return
		}
		if _, err := uuid.Parse(tok.UserID); err != nil {
			t.Fatalf("Parse(%q) accepted a token whose subject %q is not a UUID", token, tok.UserID)
		}
		if !validHS256(token, testKey) {
			t.Fatalf("Parse(%q) accepted a token that is not HMAC-SHA256-signed with the key", token)
		}
	})
}

// Rotation: a signer whose current key is new and whose previous key is the
// old one accepts tokens of both, signs only with the new one, and a signer
// that dropped the old key refuses the old tokens.
func TestSignerKeyRotation(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	before := NewSigner([][]byte{testKey}, testAccessTTL, clock.Now)
	during := NewSigner([][]byte{otherKey, testKey}, testAccessTTL, clock.Now)
	after := NewSigner([][]byte{otherKey}, testAccessTTL, clock.Now)

	old, _, err := before.Issue(testUserID, 0, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	fresh, _, err := during.Issue(testUserID, 0, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !validHS256(fresh, otherKey) || validHS256(fresh, testKey) {
		t.Fatal("during a rotation, tokens must be signed with the new key only")
	}
	// A token from before key ids existed has no kid: any key may match.
	noKid := handToken(t, hs256Header(), goodClaims(clock.Now()), hmacWith(sha256.New, testKey))
	for _, c := range []struct {
		name   string
		signer *Signer
		token  string
		ok     bool
	}{
		{"old token, old signer", before, old, true},
		{"old token during rotation", during, old, true},
		{"new token during rotation", during, fresh, true},
		{"token without kid during rotation", during, noKid, true},
		{"old token after rotation", after, old, false},
		{"token without kid after rotation", after, noKid, false},
		{"new token after rotation", after, fresh, true},
		{"new token, old signer", before, fresh, false},
	} {
		if _, err := c.signer.Parse(c.token); (err == nil) != c.ok {
			t.Errorf("%s: Parse err = %v, want accepted %v", c.name, err, c.ok)
		}
	}
}

// A token verified once is remembered, and still refused once it expires:
// the memory saves work, never extends a token's life.
func TestSignerRemembersTokensUntilTheyExpire(t *testing.T) {
	t.Parallel()
	s, clock := newTestSigner(t)
	token, _, err := s.Issue(testUserID, 3, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Parse(token); err != nil {
		t.Fatal(err)
	}
	// A tampered copy of a remembered token is another string: checked, refused.
	tampered := token[:len(token)-4] + strings.Map(func(r rune) rune { return r ^ 1 }, token[len(token)-4:])
	if _, err := s.Parse(tampered); err == nil {
		t.Fatal("a tampered token was accepted")
	}
	for _, c := range []struct {
		after time.Duration
		ok    bool
	}{
		{0, true}, // remembered
		{testAccessTTL, true},
		{wantLeeway - time.Second, true}, // within the leeway past expiry
		{2 * time.Second, false},         // beyond it, though remembered
		{0, false},                       // and forgotten
	} {
		clock.Advance(c.after)
		tok, err := s.Parse(token)
		if (err == nil) != c.ok || (c.ok && tok != (Token{UserID: testUserID, Epoch: 3})) {
			t.Fatalf("at +%v: %+v, %v; want accepted %v", c.after, tok, err, c.ok)
		}
	}
	// Counted as the metrics report it: the first check, the tampered copy and
	// the forgotten token were verified; the four others were remembered.
	if hits, misses := s.Lookups(); hits != 4 || misses != 3 {
		t.Fatalf("counted %d hits and %d misses, want 4 and 3", hits, misses)
	}
}
