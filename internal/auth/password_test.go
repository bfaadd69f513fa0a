package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	t.Parallel()
	const pw = "correct horse 42"
	hash, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	wantPrefix := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemory, argonTime, argonThreads)
	if !strings.HasPrefix(hash, wantPrefix) {
		t.Fatalf("hash = %q, want prefix %q", hash, wantPrefix)
	}
	if strings.Contains(hash, pw) {
		t.Fatalf("hash %q contains the password", hash)
	}

	ok, rehash, err := VerifyPassword(hash, pw)
	if err != nil || !ok || rehash {
		t.Fatalf("VerifyPassword(right) = ok %v, rehash %v, err %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = VerifyPassword(hash, "correct horse 43")
	if err != nil || ok || rehash {
		t.Fatalf("VerifyPassword(wrong) = ok %v, rehash %v, err %v; want false, false, nil", ok, rehash, err)
	}

	// Each hash has its own salt.
	again, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if again == hash {
		t.Fatal("two hashes of the same password are equal: the salt is not random")
	}
}

// argon2idHash builds a PHC string with the given parameters, as an older
// version of the service (or another tool) would have written it.
func argon2idHash(t *testing.T, pw string, mem, passes uint32, threads uint8) string {
	t.Helper()
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, passes, mem, threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, mem, passes, threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestVerifyPasswordOtherArgonParamsAsksForRehash(t *testing.T) {
	t.Parallel()
	const pw = "tasty soup 2024"
	for _, c := range []struct {
		name           string
		mem, passes    uint32
		threads        uint8
		wantRehashOnOK bool
	}{
		{"current", argonMemory, argonTime, argonThreads, false},
		{"less memory", 8 * 1024, argonTime, argonThreads, true},
		{"fewer passes", argonMemory, 1, argonThreads, true},
		{"more lanes", argonMemory, argonTime, 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			hash := argon2idHash(t, pw, c.mem, c.passes, c.threads)
			ok, rehash, err := VerifyPassword(hash, pw)
			if err != nil || !ok || rehash != c.wantRehashOnOK {
				t.Errorf("right password: ok %v, rehash %v, err %v; want true, %v, nil", ok, rehash, err, c.wantRehashOnOK)
			}
			// A wrong password never asks for a rehash: we would store a hash of it.
			ok, rehash, err = VerifyPassword(hash, pw+"x")
			if err != nil || ok || rehash {
				t.Errorf("wrong password: ok %v, rehash %v, err %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// Spring Security's BCryptPasswordEncoder writes "$2a$10$…" hashes; users
// migrated from the old server must log in with them.
func TestVerifyPasswordLegacyBCrypt(t *testing.T) {
	t.Parallel()
	const pw = "spring boot 1"
	raw, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
	if err != nil {
		t.Fatal(err)
	}
	hash := string(raw)
	if !strings.HasPrefix(hash, "$2a$10$") {
		t.Fatalf("bcrypt hash %q does not look like Spring's ($2a$10$…)", hash)
	}

	ok, rehash, err := VerifyPassword(hash, pw)
	if err != nil || !ok || !rehash {
		t.Fatalf("right password: ok %v, rehash %v, err %v; want true, true, nil", ok, rehash, err)
	}
	ok, rehash, err = VerifyPassword(hash, "spring boot 2")
	if err != nil || ok || rehash {
		t.Fatalf("wrong password: ok %v, rehash %v, err %v; want false, false, nil", ok, rehash, err)
	}
}

func TestVerifyPasswordRejectsGarbageHashes(t *testing.T) {
	t.Parallel()
	good, err := HashPassword("abcdefghij1")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=…, salt, key
	for name, hash := range map[string]string{
		"empty":              "",
		"plain text":         "abcdefghij1",
		"unknown scheme":     "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5",
		"md5 crypt":          "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
		"too few fields":     strings.Join(parts[:5], "$"),
		"too many fields":    good + "$extra",
		"other version":      strings.Replace(good, "$v=19$", "$v=16$", 1),
		"bad params":         strings.Replace(good, parts[3], "m=x,t=2,p=1", 1),
		"zero lanes":         strings.Replace(good, parts[3], "m=19456,t=2,p=0", 1),
		"salt not base64":    strings.Replace(good, parts[4], "!!!!", 1),
		"key not base64":     strings.Replace(good, parts[5], "!!!!", 1),
		"empty key":          strings.Join(append(parts[:5:5], ""), "$"),
		"truncated bcrypt":   "$2a$10$tooShort",
		"bcrypt cost absent": "$2a$$abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab",
	} {
		t.Run(name, func(t *testing.T) {
			ok, rehash, err := VerifyPassword(hash, "abcdefghij1")
			if err == nil || ok || rehash {
				t.Errorf("VerifyPassword(%q) = ok %v, rehash %v, err %v; want false, false, an error", hash, ok, rehash, err)
			}
		})
	}
}

func TestPasswordProblems(t *testing.T) {
	t.Parallel()
	const (
		tooShort = "Password must be at least 10 characters"
		tooLong  = "Password cannot exceed 128 characters"
		mix      = "Password must contain at least one letter and one number"
	)
	for _, c := range []struct {
		name string
		pw   string
		want []string
	}{
		{"9 chars", "abcdefgh1", []string{tooShort}},
		{"10 chars", "abcdefghi1", nil},
		{"128 chars", strings.Repeat("a", 127) + "1", nil},
		{"129 chars", strings.Repeat("a", 128) + "1", []string{tooLong}},
		{"no digit", "abcdefghijk", []string{mix}},
		{"no letter", "1234567890!", []string{mix}},
		{"empty", "", []string{tooShort, mix}},
		{"short, no digit", "abc", []string{tooShort, mix}},
		// Length counts characters, not bytes: 10 Cyrillic letters and a
		// digit are 21 bytes; 8 of them and a digit are 17 bytes but short.
		{"unicode letters", "пароль1234", nil},
		{"unicode 9 chars", "пароль123", []string{tooShort}},
		{"unicode 129 chars", strings.Repeat("é", 128) + "1", []string{tooLong}},
		{"non-Latin letters and digit", "日本語のパスワード٣", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := PasswordProblems(c.pw); !slices.Equal(got, c.want) {
				t.Errorf("PasswordProblems(%q) = %q, want %q", c.pw, got, c.want)
			}
		})
	}
}
