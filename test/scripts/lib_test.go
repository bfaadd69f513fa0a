package scripts_test

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the scripts' copies of scripts/lib.sh")

const (
	libBegin = "# ---- lib.sh: a copy of scripts/lib.sh; edit it there -----------------------\n\n"
	libEnd   = "\n# ---- end of lib.sh -----------------------------------------------------------\n"
)

// The scripts share their helpers through scripts/lib.sh, and each carries a
// copy of it so it still works when copied alone to a server. The copies
// must match lib.sh (its header paragraph aside); -update rewrites them.
func TestScriptsCarryLib(t *testing.T) {
	root := repoRoot(t)
	lib, err := os.ReadFile(filepath.Join(root, "scripts", "lib.sh"))
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(lib), "\n\n")
	if !ok {
		t.Fatal("scripts/lib.sh: no header paragraph followed by a blank line")
	}
	for _, name := range []string{initialSetup, setupSSL} {
		path := filepath.Join(root, "scripts", name)
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		before, rest, ok1 := strings.Cut(string(text), libBegin)
		copied, after, ok2 := strings.Cut(rest, libEnd)
		if !ok1 || !ok2 {
			t.Errorf("%s: no lib.sh block between the markers %q and %q", name, strings.TrimSpace(libBegin), strings.TrimSpace(libEnd))
			continue
		}
		if copied == body {
			continue
		}
		if !*update {
			t.Errorf("%s: its copy of lib.sh differs from scripts/lib.sh; edit lib.sh, then run: go test ./test/scripts -run TestScriptsCarryLib -update", name)
			continue
		}
		if err := os.WriteFile(path, []byte(before+libBegin+body+libEnd+after), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// A script copied alone, with nothing of the repository beside it, runs: it
// sources nothing.
func TestScriptsRunCopiedAlone(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	for _, name := range []string{initialSetup, setupSSL} {
		dir := t.TempDir()
		text, err := os.ReadFile(filepath.Join(root, "scripts", name))
		if err != nil {
			t.Fatal(err)
		}
		alone := filepath.Join(dir, name)
		if err := os.WriteFile(alone, text, 0o755); err != nil {
			t.Fatal(err)
		}
		// An unknown option exercises usage_error, a lib.sh function.
		out, err := exec.Command("bash", alone, "--no-such-option").CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "unknown argument: --no-such-option") {
			t.Errorf("%s copied alone, --no-such-option: %v\n%s", name, err, out)
		}
		out, err = exec.Command("bash", alone, "--help").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage: "+name) {
			t.Errorf("%s copied alone, --help: %v\n%s", name, err, out)
		}
	}
}
