// Package image_test builds the repository's Dockerfile, unmodified, with
// buildah (`bud --isolation chroot`, no daemon) against locally made
// stand-ins for its base images, measures the image and its cold and warm
// builds, inspects its configuration, and runs the binary it holds from the
// image's root filesystem as the image's user.
//
// It needs root, buildah, podman and a static busybox; without them it
// skips, and under MEALSYNC_REQUIRE_SERVICES=1 (CI) it fails instead.
// It imports nothing of the server but the test helpers.
package image_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

const (
	image      = "localhost/mealsync:test"
	buildImage = "localhost/mealsync-build:test" // the builder stage, to look at the context
	// maxSize is the image's budget, in bytes as `podman images` counts
	// (the old image weighed ~350 MB). It was 20 MB until live sync,
	// households and idempotent writes outgrew it: docs/BENCHMARKS.md,
	// "Container image", says what grew and what was cut.
	maxSize = 21_000_000
	version = "1.2.3-imagetest"
)

func TestImage(t *testing.T) {
	requireTools(t)
	repo := repoRoot(t)
	ctxDir := copyRepo(t, repo)
	s := newStore(t)

	// The builder is the official Go image; the runtime is scratch (no
	// stand-in needed) or a distroless-like base.
	bases := baseImages(t, filepath.Join(ctxDir, "Dockerfile"))
	if len(bases) != 1 && len(bases) != 2 {
		t.Fatalf("Dockerfile: want a builder and at most one runtime base image, found %q", bases)
	}
	start := time.Now()
	makeBuilderStandIn(t, s, bases[0])
	if len(bases) == 2 {
		makeRuntimeStandIn(t, s, bases[1])
	}
	t.Logf("FIGURE standin_images_seconds=%.1f (%q)", time.Since(start).Seconds(), bases)

	t.Run("builder uses the Go version of go.mod", func(t *testing.T) {
		goMod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
		_, tag, _ := strings.Cut(bases[0][strings.LastIndex(bases[0], "/")+1:], ":")
		if m == nil || !strings.HasPrefix(tag, string(m[1])) {
			t.Errorf("builder %s does not match go.mod's go %s", bases[0], m[1])
		}
	})

	// Cold: empty layer cache and compiler cache.
	cold := build(t, s, ctxDir, "cold0000", "-t", image)
	if cached(cold.output, "RUN go mod download") {
		t.Fatal("the first build used a cache: it was not cold")
	}
	t.Logf("FIGURE cold_build_seconds=%.1f", cold.took.Seconds())

	// Warm: a code change and a new commit, as after a merge.
	appendTo(t, filepath.Join(ctxDir, "cmd", "mealsync", "main.go"), "\n// changed by test/image to measure a warm rebuild\n")
	warm := build(t, s, ctxDir, "warm1111", "-t", image)
	t.Logf("FIGURE warm_build_seconds=%.1f", warm.took.Seconds())
	if !cached(warm.output, "RUN go mod download") {
		t.Errorf("the warm rebuild re-ran `go mod download`:\n%s", tail(warm.output, 60))
	}
	if cached(warm.output, "RUN --mount=type=cache") {
		t.Errorf("the warm rebuild did not recompile after a code change:\n%s", tail(warm.output, 60))
	}
	if warm.took > 30*time.Second {
		t.Errorf("warm rebuild took %v; the target is under 30 s", warm.took)
	}

	cfg := inspect(t, s, image)

	t.Run("size", func(t *testing.T) {
		out, err := s.podman(context.Background(), nil, "image", "inspect", "--format", "{{.Size}}", image)
		if err != nil {
			t.Fatalf("podman image inspect: %v\n%s", err, out)
		}
		var size int64
		if _, err := fmt.Sscan(out, &size); err != nil {
			t.Fatalf("size %q: %v", out, err)
		}
		compressed := compressedSize(t, s, image)
		t.Logf("FIGURE image_size_bytes=%d", size)
		t.Logf("FIGURE image_compressed_bytes=%d", compressed)
		if size <= 0 || size >= maxSize {
			t.Errorf("image is %d bytes (%d compressed, as pushed and pulled), want under %d", size, compressed, maxSize)
		}
	})

	t.Run("config", func(t *testing.T) {
		c := cfg.OCIv1.Config
		if u, _, _ := strings.Cut(c.User, ":"); u == "" || u == "0" || u == "root" {
			t.Errorf("USER %q: the image must not run as root", c.User)
		}
		if _, ok := c.ExposedPorts["8081/tcp"]; !ok || len(c.ExposedPorts) != 1 {
			t.Errorf("exposed ports %v, want 8081/tcp", c.ExposedPorts)
		}
		if want := []string{"/mealsync"}; !slices.Equal(c.Entrypoint, want) || !slices.Equal(c.Cmd, []string{"serve"}) {
			t.Errorf("ENTRYPOINT %q CMD %q, want %q [serve]", c.Entrypoint, c.Cmd, want)
		}
		if c.Labels["org.opencontainers.image.version"] != version || c.Labels["org.opencontainers.image.revision"] != "warm1111" {
			t.Errorf("OCI labels do not carry the build: %v", c.Labels)
		}
		hc := cfg.Docker.Config.Healthcheck
		if hc == nil {
			t.Fatal("no HEALTHCHECK in the image (built with --format docker)")
		}
		if !slices.Equal(hc.Test, []string{"CMD", "/mealsync", "healthcheck"}) {
			t.Errorf("healthcheck %q: want an exec form (no shell) of /mealsync healthcheck", hc.Test)
		}
		if hc.Interval != 30*time.Second || hc.Timeout != 3*time.Second || hc.StartPeriod != 10*time.Second || hc.Retries != 3 {
			t.Errorf("healthcheck interval %v timeout %v start-period %v retries %d, want 30s 3s 10s 3",
				hc.Interval, hc.Timeout, hc.StartPeriod, hc.Retries)
		}
	})

	t.Run("build context", func(t *testing.T) {
		build(t, s, ctxDir, "warm1111", "--target", "build", "-t", buildImage)
		src := filepath.Join(s.mount(t, buildImage), "src")
		var files int
		var bytes int64
		err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, path)
			for _, excluded := range []string{".git", "data", "docs", "test", "nginx", "deploy", "scripts", ".ci", "Dockerfile", "README.md"} {
				if rel == excluded || strings.HasPrefix(rel, excluded+"/") {
					t.Errorf("%s reached the build context", rel)
				}
			}
			if strings.HasSuffix(rel, "_test.go") || strings.HasPrefix(rel, "docker-compose") || filepath.Base(rel) == "data" {
				t.Errorf("%s reached the build context", rel)
			}
			if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
				files++
				bytes += fi.Size()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, need := range []string{"go.mod", "go.sum", "cmd/mealsync/main.go"} {
			if _, err := os.Stat(filepath.Join(src, need)); err != nil {
				t.Errorf("%s is missing from the build context", need)
			}
		}
		t.Logf("FIGURE build_context_files=%d build_context_bytes=%d", files, bytes)
	})

	root := s.mount(t, image)
	uid, gid := imageUser(t, root, cfg.OCIv1.Config.User)
	fsys := rootfs{dir: root, uid: uid, gid: gid, workdir: cfg.OCIv1.Config.WorkingDir, env: cfg.OCIv1.Config.Env}
	if fsys.workdir == "" {
		fsys.workdir = "/"
	}
	entrypoint := cfg.OCIv1.Config.Entrypoint

	t.Run("no shell", func(t *testing.T) {
		for _, sh := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
			if _, err := os.Lstat(filepath.Join(root, sh)); err == nil {
				t.Errorf("/%s is in the runtime image", sh)
			}
		}
	})

	t.Run("version", func(t *testing.T) {
		out, code := fsys.run(t, nil, append(entrypoint, "version")...)
		if want := "mealsync " + version + " (commit warm1111, built "; code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("version: exit %d, %q; want it to start with %q", code, out, want)
		}
	})

	// The image's defaults are production's: no start without a secret of
	// the operator's own, and JSON logs (the server below sets no format).
	t.Run("defaults refuse to start without a secret", func(t *testing.T) {
		out, code := fsys.run(t, []string{"MEALSYNC_ADDR=127.0.0.1:0"}, append(entrypoint, cfg.OCIv1.Config.Cmd...)...)
		if code == 0 || !strings.Contains(out, "MEALSYNC_JWT_SECRET is required in production") {
			t.Errorf("bare start: exit %d, %q; want a refusal naming MEALSYNC_JWT_SECRET", code, out)
		}
	})

	t.Run("serve, healthcheck, stop", func(t *testing.T) {
		srv := startServer(t, fsys.command([]string{
			"MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=127.0.0.1:0", "MEALSYNC_SHUTDOWN_DELAY=0s",
			"MEALSYNC_JWT_SECRET=" + strings.Repeat("image-test-secret-", 3),
		}, append(entrypoint, cfg.OCIv1.Config.Cmd...)...))
		healthy := srv.waitReady(t)
		t.Logf("FIGURE start_to_healthy_ms=%d", healthy.Milliseconds())

		// The image's own settings put the database in /data, writable by its user.
		if db, err := os.Stat(filepath.Join(root, "data", "mealsync.db")); err != nil {
			t.Errorf("the SQLite database is not in the image's /data: %v", err)
		} else if owner := db.Sys().(*syscall.Stat_t).Uid; owner != uid {
			t.Errorf("/data/mealsync.db is owned by %d, not the image's user %d", owner, uid)
		}
		// A chroot has no /proc, so the limit cannot be read here (a
		// container has one): the line says so and serving goes on.
		if ml := srv.logLine("memory limit"); ml == nil {
			t.Errorf("no memory limit line in the log:\n%s", srv.output())
		} else {
			t.Logf("memory limit in the chroot: %v", ml)
		}

		healthcheck := cfg.Docker.Config.Healthcheck.Test[1:]
		addr := []string{"MEALSYNC_ADDR=" + srv.addr}
		if out, code := fsys.run(t, addr, healthcheck...); code != 0 {
			t.Errorf("healthcheck of a ready server: exit %d\n%s", code, out)
		}
		if code := srv.stop(t); code != 0 {
			t.Errorf("serve exited %d after SIGTERM, want 0\n%s", code, srv.output())
		}
		if out, code := fsys.run(t, addr, healthcheck...); code != 1 {
			t.Errorf("healthcheck of a stopped server: exit %d, want 1\n%s", code, out)
		}
	})

	// Told it is development, the image signs with a random key it keeps in
	// /data, not with anything one could read in this repository.
	t.Run("development signs with no published key", func(t *testing.T) {
		srv := startServer(t, fsys.command([]string{
			"MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=127.0.0.1:0", "MEALSYNC_SHUTDOWN_DELAY=0s", "MEALSYNC_ENV=development", "MEALSYNC_LOG_FORMAT=json",
		}, append(entrypoint, cfg.OCIv1.Config.Cmd...)...))
		srv.waitReady(t)
		token := srv.login(t)
		if k, ok := testenv.SignedWith(token, testenv.PublishedStrings(t)); ok {
			t.Fatalf("the image signs with %q, a string published in the repository", k)
		}
		key, err := os.Stat(filepath.Join(root, "data", "jwt-signing-key"))
		if err != nil {
			t.Fatalf("no signing key kept in /data: %v", err)
		}
		if key.Mode().Perm() != 0o600 || key.Sys().(*syscall.Stat_t).Uid != uid {
			t.Errorf("/data/jwt-signing-key: mode %v, owner %d; want 0600 and the image's user %d",
				key.Mode().Perm(), key.Sys().(*syscall.Stat_t).Uid, uid)
		}
		if code := srv.stop(t); code != 0 {
			t.Errorf("serve exited %d after SIGTERM\n%s", code, srv.output())
		}
	})

	t.Run("memory limit follows the cgroup", func(t *testing.T) {
		const limit = 256 << 20
		for _, tc := range []struct {
			name, gomemlimit, source string
			want                     float64
		}{
			{"90% of the cgroup limit", "", "cgroup", limit * 9 / 10},
			{"GOMEMLIMIT wins", "100MiB", "GOMEMLIMIT", 100 << 20},
		} {
			t.Run(tc.name, func(t *testing.T) {
				procs := memoryCgroup(t, limit)
				env := []string{"MEALSYNC_ADDR=127.0.0.1:0", "MEALSYNC_OPS_ADDR=127.0.0.1:0", "MEALSYNC_LOG_FORMAT=json", "MEALSYNC_SHUTDOWN_DELAY=0s",
					"MEALSYNC_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "m.db"),
					"MEALSYNC_JWT_SECRET=" + strings.Repeat("image-test-secret-", 3)}
				if tc.gomemlimit != "" {
					env = append(env, "GOMEMLIMIT="+tc.gomemlimit)
				}
				// The image's binary with the image's environment, run on the
				// host (a chroot has no /proc or cgroup file system to read the
				// limit from), joining the cgroup before it starts.
				cmd := exec.Command("/bin/sh", "-c", `echo $$ > "$0" && exec "$@"`, procs, filepath.Join(root, "mealsync"), "serve")
				cmd.Env = append(append([]string{}, fsys.env...), env...)
				srv := startServer(t, cmd)
				ml := srv.logLine("memory limit")
				if ml == nil || ml["source"] != tc.source || ml["gomemlimit_bytes"] != float64(int64(tc.want)) {
					t.Errorf("memory limit line %v, want source %s and gomemlimit_bytes %d", ml, tc.source, int64(tc.want))
				}
				if code := srv.stop(t); code != 0 {
					t.Errorf("serve exited %d after SIGTERM\n%s", code, srv.output())
				}
			})
		}
	})
}

// compressedSize is the image's size as a registry stores it and a pull
// transfers it: its config and gzip-compressed layers.
func compressedSize(t *testing.T, s *store, ref string) int64 {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "oci")
	s.must(t, "push", "--quiet", "--compression-format", "gzip", ref, "oci:"+dir)
	var index struct{ Manifests []struct{ Digest string } }
	readJSON(t, filepath.Join(dir, "index.json"), &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("oci layout: %d manifests", len(index.Manifests))
	}
	type blob struct{ Size int64 }
	var manifest struct {
		Config blob
		Layers []blob
	}
	readJSON(t, filepath.Join(dir, "blobs", strings.Replace(index.Manifests[0].Digest, ":", "/", 1)), &manifest)
	size := manifest.Config.Size
	for _, l := range manifest.Layers {
		size += l.Size
	}
	return size
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// buildResult is one `buildah bud`.
type buildResult struct {
	output string
	took   time.Duration
}

// build runs `buildah bud` on the unmodified Dockerfile in dir, with the
// layer cache on (--layers, as docker build does by default).
func build(t *testing.T, s *store, dir, commit string, args ...string) buildResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	args = append([]string{"bud", "--isolation", "chroot", "--pull=never", "--layers", "--format", "docker",
		"--build-arg", "VERSION=" + version, "--build-arg", "COMMIT=" + commit,
		"--build-arg", "BUILD_TIME=" + time.Now().UTC().Format(time.RFC3339)}, args...)
	args = append(args, dir)
	start := time.Now()
	out, err := s.buildah(ctx, nil, args...)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("buildah bud: %v (after %v)\n%s", err, took.Round(time.Second), tail(out, 60))
	}
	return buildResult{out, took}
}

// cached reports whether the build step starting with step was taken from
// the layer cache: buildah prints "--> Using cache" under the step's
// "[stage/stages] STEP n/m: …" line.
func cached(output, step string) bool {
	stepLine := regexp.MustCompile(`^(\[\d+/\d+\] )?STEP \d+/\d+: (.*)$`)
	sc := bufio.NewScanner(strings.NewReader(output))
	in := false
	for sc.Scan() {
		if m := stepLine.FindStringSubmatch(sc.Text()); m != nil {
			in = strings.HasPrefix(m[2], step)
			continue
		}
		if in && strings.HasPrefix(sc.Text(), "--> Using cache") {
			return true
		}
	}
	return false
}

// imageConfig is the part of `buildah inspect` the test reads.
type imageConfig struct {
	OCIv1 struct {
		Config struct {
			User         string
			ExposedPorts map[string]struct{}
			Env          []string
			Entrypoint   []string
			Cmd          []string
			WorkingDir   string
			Labels       map[string]string
		} `json:"config"`
	}
	Docker struct {
		Config struct {
			Healthcheck *struct {
				Test        []string
				Interval    time.Duration
				Timeout     time.Duration
				StartPeriod time.Duration
				Retries     int
			}
		} `json:"config"`
	}
}

func inspect(t *testing.T, s *store, ref string) imageConfig {
	t.Helper()
	var cfg imageConfig
	if err := json.Unmarshal([]byte(s.must(t, "inspect", "--type", "image", ref)), &cfg); err != nil {
		t.Fatalf("buildah inspect: %v", err)
	}
	return cfg
}

// repoRoot is the folder of the module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test")
		}
		dir = parent
	}
}

// copyRepo copies the work tree, .git and local data included, to a
// temporary build context, so the test never changes the real one and the
// .dockerignore has something to leave out. A local database and a compose
// file are planted to be sure they stay out.
func copyRepo(t *testing.T, repo string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, path)
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copy the work tree: %v", err)
	}
	for _, f := range []string{"data/mealsync.db", "cmd/mealsync/data/mealsync.db", "docker-compose.imagetest.yml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, f), []byte("planted by test/image\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
