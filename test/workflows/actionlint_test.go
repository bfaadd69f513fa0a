// Package workflows_test checks the GitHub Actions workflows in
// .github/workflows with actionlint (a tool dependency in go.mod, run as
// `go tool actionlint`; it runs shellcheck on the run: scripts when
// shellcheck is installed), and checks that they do what the deploy
// process promises.
package workflows_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const root = "../.."

func TestWorkflowsPassActionlint(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("workflows: %v %v", files, err)
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Log("shellcheck is not installed: actionlint checks the run: scripts less thoroughly")
	}
	cmd := exec.Command(goTool(), "tool", "actionlint", "-no-color")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// TestDeployWorkflowShape: deploy.yml tests first, pushes the image tagged
// with the commit and latest to the registry the repository names, deploys
// that tag with mealsyncctl over SSH (so its exit status fails the job on a
// rollback), and checks /actuator/health through nginx.
func TestDeployWorkflowShape(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for _, want := range []string{
		"uses: ./.github/workflows/ci.yml",
		"needs: test",
		"docker/build-push-action@",
		"registry: ${{ vars.REGISTRY }}",
		":${{ github.sha }}",
		":latest",
		"needs: image",
		"./mealsyncctl deploy --driver compose --tag '$TAG'",
		"/actuator/health",
		"cancel-in-progress: false",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("deploy.yml lacks %q", want)
		}
	}
	ci, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// The test job is .ci/run: PostgreSQL, nginx and the rest, gofmt, vet and
	// every test with MEALSYNC_REQUIRE_SERVICES=1.
	for _, want := range []string{"workflow_call:", "bash .ci/run", "gofmt", "go vet ./..."} {
		if !strings.Contains(string(ci), want) {
			t.Errorf("ci.yml lacks %q", want)
		}
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
