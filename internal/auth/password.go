package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters for new hashes: OWASP's recommended minimum
// (19 MiB, 2 passes, 1 lane). They are stored in each hash, so raising them
// later only affects new and rehashed passwords.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password rules (the reference's later version, section 11).
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128 // bounds the work an attacker can make us do
)

// PasswordProblems returns the rules pw breaks, in the reference's words.
func PasswordProblems(pw string) []string {
	var out []string
	n := len([]rune(pw))
	if n < MinPasswordLen {
		out = append(out, fmt.Sprintf("Password must be at least %d characters", MinPasswordLen))
	}
	if n > MaxPasswordLen {
		out = append(out, fmt.Sprintf("Password cannot exceed %d characters", MaxPasswordLen))
	}
	var letter, digit bool
	for _, r := range pw {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	if !letter || !digit {
		out = append(out, "Password must contain at least one letter and one number")
	}
	return out
}

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("unrecognised password hash")

// VerifyPassword checks pw against hash, which is either one of ours
// (argon2id) or a BCrypt hash exported from the old Spring server ($2a$…), so
// a migrated database needs no password resets. rehash is true when the
// password is right but the hash should be replaced by a current one.
func VerifyPassword(hash, pw string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(hash, pw)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		return err == nil, err == nil, err
	}
	return false, false, errBadHash
}

func verifyArgon2id(hash, pw string) (ok, rehash bool, err error) {
	// $argon2id$v=19$m=19456,t=2,p=1$salt$key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false, false, errBadHash
	}
	var version int
	var mem, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &passes, &threads); err != nil {
		return false, false, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || threads == 0 {
		return false, false, errBadHash
	}
	got := argon2.IDKey([]byte(pw), salt, passes, mem, threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	rehash = ok && (mem != argonMemory || passes != argonTime || threads != argonThreads)
	return ok, rehash, nil
}
