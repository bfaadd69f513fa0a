package image_test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// store is a container storage of the test's own (buildah's and podman's
// --root, --runroot and TMPDIR in a temporary folder): the stand-in base
// images, the layer cache and the compiler's cache mount start empty, so the
// first build is truly cold, nothing the machine already holds is touched, and
// removing the folder removes everything.
type store struct {
	root, runroot, tmp string
}

// requireTools skips the test without what it drives, or fails it in CI.
func requireTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testdb.SkipOrFail(t, "building and mounting images with buildah needs root")
	}
	for _, tool := range []string{"buildah", "podman", "busybox", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			testdb.SkipOrFail(t, "%s is not installed (Debian: buildah podman busybox-static)", tool)
		}
	}
	if bb, _ := exec.LookPath("busybox"); !isStatic(bb) {
		testdb.SkipOrFail(t, "%s is dynamically linked; the stand-in builder image needs busybox-static", bb)
	}
}

func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// newStore makes an empty storage and removes it, with every container and
// image in it, when t ends.
func newStore(t *testing.T) *store {
	t.Helper()
	dir := t.TempDir()
	s := &store{root: filepath.Join(dir, "root"), runroot: filepath.Join(dir, "runroot"), tmp: filepath.Join(dir, "tmp")}
	for _, d := range []string{s.root, s.runroot, s.tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Registered after TempDir, so it runs first: nothing is left mounted
	// when the folder is removed.
	t.Cleanup(func() {
		for _, args := range [][]string{{"umount", "--all"}, {"rm", "--all"}, {"rmi", "--all", "--force"}} {
			if out, err := s.buildah(context.Background(), nil, args...); err != nil {
				t.Logf("cleanup: buildah %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
	return s
}

func (s *store) globalArgs() []string {
	return []string{"--root", s.root, "--runroot", s.runroot, "--storage-driver", "overlay"}
}

func (s *store) env() []string {
	return append(os.Environ(), "TMPDIR="+s.tmp) // buildah keeps cache mounts under TMPDIR
}

// buildah runs buildah on the store and returns its combined output.
func (s *store) buildah(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "buildah", append(s.globalArgs(), args...)...)
	return s.run(cmd, stdin)
}

// podman runs podman on the store and returns its combined output.
func (s *store) podman(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	args = append(append(s.globalArgs(), "--tmpdir", filepath.Join(s.tmp, "podman")), args...)
	return s.run(exec.CommandContext(ctx, "podman", args...), stdin)
}

func (s *store) run(cmd *exec.Cmd, stdin io.Reader) (string, error) {
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &out
	cmd.Env = s.env()
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.String(), err
}

// must runs buildah and fails t on an error, showing the output's end.
func (s *store) must(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := s.buildah(ctx, nil, args...)
	if err != nil {
		t.Fatalf("buildah %s: %v\n%s", strings.Join(args, " "), err, tail(out, 40))
	}
	return strings.TrimSpace(out)
}

// mount makes a working container of image and returns its root filesystem,
// unmounted and removed when t ends.
func (s *store) mount(t *testing.T, image string) string {
	t.Helper()
	c := s.must(t, "from", "--pull-never", image)
	c = lastLine(c)
	t.Cleanup(func() {
		for _, args := range [][]string{{"umount", c}, {"rm", c}} {
			if out, err := s.buildah(context.Background(), nil, args...); err != nil {
				t.Errorf("buildah %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})
	return lastLine(s.must(t, "mount", c))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[… %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
