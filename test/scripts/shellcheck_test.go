package scripts_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mealsync/mealsync/internal/testdb"
)

// Every shell script in scripts/ and deploy/, and the test's own stub commands, pass
// shellcheck with no finding of any severity.
func TestShellcheck(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		testdb.SkipOrFail(t, "shellcheck is not installed (Debian package shellcheck): %v", err)
	}
	root := repoRoot(t)
	scripts, err := filepath.Glob(filepath.Join(root, "scripts", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) < 3 {
		t.Fatalf("expected initial-setup.sh, setup-ssl.sh and monitor.sh in scripts/, found %v", scripts)
	}
	stubs, err := filepath.Glob(filepath.Join(root, "test", "scripts", "testdata", "bin", "*"))
	if err != nil {
		t.Fatal(err)
	}
	stubs = append(stubs, filepath.Join(root, "test", "scripts", "testdata", "stublib.sh"))
	// The database profile's backup schedule (docker-compose.prod.yml).
	images, err := filepath.Glob(filepath.Join(root, "deploy", "*", "*.sh"))
	if err != nil || len(images) == 0 {
		t.Fatalf("expected deploy/postgres/backup-schedule.sh, found %v (%v)", images, err)
	}
	for _, group := range []struct {
		name  string
		files []string
	}{{"scripts", scripts}, {"stubs", stubs}, {"images", images}} {
		for _, f := range group.files {
			rel, _ := filepath.Rel(root, f)
			t.Run(rel, func(t *testing.T) {
				t.Parallel()
				// -x follows `source`d files; --severity=style reports everything.
				out, err := exec.Command("shellcheck", "-x", "--severity=style", f).CombinedOutput()
				if err != nil {
					t.Errorf("shellcheck %s: %v\n%s", rel, err, out)
				}
			})
		}
	}
}
