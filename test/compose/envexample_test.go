package compose_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// composeVariable matches an interpolated variable in a compose file: ${VAR},
// ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+x}
// and the unbraced $VAR. `$$` (a literal dollar for the container's shell) is
// removed before matching.
var composeVariable = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))`)

// composeVariables lists the variables a compose file's text interpolates.
func composeVariables(raw string) []string {
	raw = strings.ReplaceAll(raw, "$$", "")
	var vars []string
	for _, m := range composeVariable.FindAllStringSubmatch(raw, -1) {
		name := m[1] + m[2]
		if !slices.Contains(vars, name) {
			vars = append(vars, name)
		}
	}
	slices.Sort(vars)
	return vars
}

// exampleLine matches a variable's line in .env.example, set (NAME=value) or
// shown commented out (# NAME=value) for the optional ones.
var exampleLine = regexp.MustCompile(`(?m)^(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// documentedVariables maps each variable in .env.example to its value.
func documentedVariables(raw string) map[string]string {
	vars := map[string]string{}
	for _, m := range exampleLine.FindAllStringSubmatch(raw, -1) {
		vars[m[2]] = strings.TrimSpace(m[3])
	}
	return vars
}

// TestComposeVariableExtraction keeps the documentation test honest: it must
// see every form of reference, and none inside $$.
func TestComposeVariableExtraction(t *testing.T) {
	got := composeVariables("a: ${PLAIN}\nb: ${DEF:-x}\nc: ${REQ:?set it}\nd: $BARE/x\ne: $${SHELL_ONLY} $$ALSO_SHELL\nf: ${PLAIN}")
	want := []string{"BARE", "DEF", "PLAIN", "REQ"}
	if !slices.Equal(got, want) {
		t.Errorf("composeVariables = %v, want %v", got, want)
	}
}

// TestEveryComposeVariableIsInEnvExample: an operator who fills in
// .env.example has seen every knob the compose files read.
func TestEveryComposeVariableIsInEnvExample(t *testing.T) {
	documented := documentedVariables(exampleEnv(t))
	seen := 0
	for _, file := range composeFiles {
		vars := composeVariables(readRepoFile(t, file))
		seen += len(vars)
		for _, v := range vars {
			if _, ok := documented[v]; !ok {
				t.Errorf("%s reads ${%s}, which .env.example does not list", file, v)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no variable found in any compose file: the extraction is broken")
	}
}

// TestEnvExampleListsTheAppSecrets: what the server requires outside
// development, with instructions to generate the key.
func TestEnvExampleListsTheAppSecrets(t *testing.T) {
	raw := exampleEnv(t)
	documented := documentedVariables(raw)
	for _, v := range []string{"MEALSYNC_JWT_SECRET", "MEALSYNC_DATABASE_URL"} {
		if _, ok := documented[v]; !ok {
			t.Errorf(".env.example does not list %s", v)
		}
	}
	if !strings.Contains(commentAbove(raw, "MEALSYNC_JWT_SECRET"), "openssl rand") {
		t.Error(".env.example does not say above MEALSYNC_JWT_SECRET how to generate it (openssl rand …)")
	}
}

// commentAbove returns the comment lines directly above a variable's line.
func commentAbove(raw, name string) string {
	lines := strings.Split(raw, "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, name+"=") {
			continue
		}
		start := i
		for start > 0 && strings.HasPrefix(lines[start-1], "#") {
			start--
		}
		return strings.Join(lines[start:i], "\n")
	}
	return ""
}

// secretName matches variables whose values are credentials.
var secretName = regexp.MustCompile(`SECRET|PASSWORD|PASSWD|TOKEN|_KEY$|API_KEY`)

// highEntropy matches a long run of base64/hex characters mixing cases and
// digits: what a generated key looks like, never a placeholder.
var highEntropy = regexp.MustCompile(`[A-Za-z0-9+/=]{24,}`)

func looksGenerated(s string) bool {
	return strings.ContainsAny(s, "0123456789") && strings.ToLower(s) != s && strings.ToUpper(s) != s
}

// isPlaceholder: empty, or a value that says it must be replaced.
func isPlaceholder(v string) bool {
	v = strings.Trim(v, `'"`)
	return v == "" || strings.HasPrefix(v, "change-me")
}

func TestEnvExampleHoldsNoRealSecret(t *testing.T) {
	for name, value := range documentedVariables(exampleEnv(t)) {
		if secretName.MatchString(name) && !isPlaceholder(value) {
			t.Errorf("%s=%s: a credential in .env.example must be empty or a change-me placeholder", name, value)
		}
		if u, err := url.Parse(strings.Trim(value, `'"`)); err == nil && u.User != nil {
			if pw, has := u.User.Password(); has && !isPlaceholder(pw) {
				t.Errorf("%s holds a URL whose password is not a change-me placeholder", name)
			}
		}
		for _, run := range highEntropy.FindAllString(value, -1) {
			if looksGenerated(run) {
				t.Errorf("%s holds %q, which looks like a generated secret", name, run)
			}
		}
	}
}

// TestSecretCheckCatchesRealSecrets proves the check above can fail.
func TestSecretCheckCatchesRealSecrets(t *testing.T) {
	for _, c := range []struct {
		value string
		want  bool
	}{
		{"change-me", true},
		{"", true},
		{"'change-me-please'", true},
		{"hunter2", false},
		{"Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==", false},
	} {
		if got := isPlaceholder(c.value); got != c.want {
			t.Errorf("isPlaceholder(%q) = %v, want %v", c.value, got, c.want)
		}
	}
	if !looksGenerated("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg==") || looksGenerated("mealsync_images_bucket_name") {
		t.Error("looksGenerated does not tell a generated key from a name")
	}
}
