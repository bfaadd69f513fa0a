package testenv

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// quoted matches the literals a reader picks out of source and docs: "…",
// '…' and `…`.
var quoted = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'[^'\\n]*'|`[^`]*`")

// PublishedStrings returns every string a reader of the repository sees, as
// an attacker looking for a signing key would try them: each line of each
// tracked file, trimmed, each whitespace-separated field, each quoted
// literal, and each value after an '=' or ':'. Duplicates are dropped.
func PublishedStrings(t testing.TB) []string {
	t.Helper()
	root := RepoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
		}
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || strings.IndexByte(string(b[:min(len(b), 8000)]), 0) >= 0 {
			continue // deleted in the work tree, or binary
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			add(line)
			for _, f := range strings.Fields(line) {
				add(f)
				add(strings.Trim(f, "\"'`,;()[]{}"))
			}
			for _, q := range quoted.FindAllString(line, -1) {
				add(q[1 : len(q)-1])
			}
			for _, sep := range []string{"=", ":"} {
				if _, v, ok := strings.Cut(line, sep); ok {
					add(strings.TrimSpace(v))
					add(strings.Trim(strings.TrimSpace(v), "\"'`,"))
				}
			}
		}
	}
	strs := make([]string, 0, len(seen))
	for s := range seen {
		strs = append(strs, s)
	}
	return strs
}

// SignedWith returns the candidate that, as an HMAC-SHA256 key, makes
// token's signature — the key that signed it, if it is among them.
func SignedWith(token string, candidates []string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", false
	}
	input := []byte(parts[0] + "." + parts[1])
	for _, c := range candidates {
		m := hmac.New(sha256.New, []byte(c))
		m.Write(input)
		if hmac.Equal(m.Sum(nil), sig) {
			return c, true
		}
	}
	return "", false
}

// ForgeToken signs, with key, an access token for userID shaped as the
// server's own are (issuer, audience, a fresh expiry, session epoch 0): what
// an attacker who guessed the key would send.
func ForgeToken(key, userID string) string {
	seg := func(v any) string {
		b, _ := json.Marshal(v) // maps of strings and numbers always marshal
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	input := seg(map[string]any{"alg": "HS256", "typ": "JWT"}) + "." + seg(map[string]any{
		"iss": "mealsync", "aud": []string{"mealsync-api"}, "sub": userID,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
