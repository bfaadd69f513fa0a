package image_test

import (
	"archive/tar"
	"bufio"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// No registry is reachable here, so the base images that the Dockerfile names
// are made locally and tagged with exactly those names; the Dockerfile itself
// stays the one a user builds with `docker build`. They are a test device
// only, close enough to the real ones for what the build and the image use:
//
//   - the builder: the running Go toolchain (statically linked) at
//     /usr/local/go, a static busybox as /bin/sh and its applets, CA
//     certificates for module downloads; PATH, HOME, GOPATH and
//     GOTOOLCHAIN=local as in the official Go image.
//   - the runtime: like distroless/static's nonroot variant — /etc/passwd
//     and /etc/group with nonroot (65532), CA certificates, tzdata,
//     /home/nonroot, user 65532 — and no shell.

// baseImages reads the external images of the Dockerfile's FROM lines, in
// order, leaving out earlier stages and scratch.
func baseImages(t *testing.T, dockerfile string) []string {
	t.Helper()
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]bool{"scratch": true}
	var images []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.EqualFold(fields[0], "FROM") {
			continue
		}
		fields = fields[1:]
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") { // --platform=…
			fields = fields[1:]
		}
		if len(fields) == 0 {
			t.Fatalf("%s: FROM without an image", dockerfile)
		}
		image := fields[0]
		if strings.Contains(image, "$") {
			t.Fatalf("%s: FROM %s uses a build argument; the test cannot make its stand-in", dockerfile, image)
		}
		if !stages[strings.ToLower(image)] {
			images = append(images, image)
		}
		if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
			stages[strings.ToLower(fields[2])] = true // later FROM lines may name it
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return images
}

// makeBuilderStandIn imports the Go toolchain image under name.
func makeBuilderStandIn(t *testing.T, s *store, name string) {
	t.Helper()
	goroot := goEnv(t, "GOROOT")
	busybox, _ := exec.LookPath("busybox")
	applets := busyboxApplets(t, busybox)
	importImage(t, s, name, []string{
		"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV HOME=/root", "ENV GOPATH=/go", "ENV GOTOOLCHAIN=local", "WORKDIR /go",
	}, func(w *tarWriter) {
		w.dir("tmp", 0o1777, 0)
		w.dir("root", 0o700, 0)
		w.dir("go", 0o777, 0)
		w.dir("etc", 0o755, 0)
		w.file("etc/passwd", 0o644, 0, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
		w.file("etc/group", 0o644, 0, "root:x:0:\nnogroup:x:65534:\n")
		w.copyFile("etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt")
		w.copyFile("bin/busybox", busybox)
		for _, a := range applets {
			w.symlink("bin/"+a, "busybox")
		}
		// Less what building a program does not read: Go's own tests and
		// documentation, and the toolchain's sources (its binaries are in pkg/tool).
		w.copyTree("usr/local/go", goroot, func(rel string) bool {
			return rel == "test" || rel == "doc" || rel == "api" || rel == "misc" || rel == filepath.Join("src", "cmd")
		})
	})
}

// makeRuntimeStandIn imports a distroless-like static, non-root image under name.
func makeRuntimeStandIn(t *testing.T, s *store, name string) {
	t.Helper()
	importImage(t, s, name, []string{
		"USER 65532", "WORKDIR /home/nonroot",
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
	}, func(w *tarWriter) {
		w.dir("tmp", 0o1777, 0)
		w.dir("root", 0o700, 0)
		w.dir("home/nonroot", 0o700, 65532)
		w.file("etc/passwd", 0o644, 0, "root:x:0:0:root:/root:/sbin/nologin\n"+
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"+
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
		w.file("etc/group", 0o644, 0, "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n")
		w.copyFile("etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt")
		if _, err := os.Stat("/usr/share/zoneinfo"); err == nil {
			w.copyTree("usr/share/zoneinfo", "/usr/share/zoneinfo", nil)
		}
	})
}

// importImage streams a root filesystem written by fill into `podman import`.
func importImage(t *testing.T, s *store, name string, changes []string, fill func(*tarWriter)) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		w := &tarWriter{tw: tar.NewWriter(pw), seen: map[string]bool{}}
		fill(w)
		if w.err == nil {
			w.err = w.tw.Close()
		}
		pw.CloseWithError(w.err)
	}()
	args := []string{"import", "--quiet"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := s.podman(ctx, pr, append(args, "-", name)...)
	pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if podman stopped early
	if err != nil {
		t.Fatalf("podman import %s: %v\n%s", name, err, tail(out, 20))
	}
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

func busyboxApplets(t *testing.T, busybox string) []string {
	t.Helper()
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" && !strings.Contains(a, "/") {
			applets = append(applets, a)
		}
	}
	return applets
}

// tarWriter writes a root filesystem; the first error sticks.
type tarWriter struct {
	tw   *tar.Writer
	seen map[string]bool
	err  error
}

// parents adds the missing parent folders of name, owned by root.
func (w *tarWriter) parents(name string) {
	dir := filepath.Dir(name)
	if dir == "." || w.seen[dir] {
		return
	}
	w.parents(dir)
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755})
}

func (w *tarWriter) header(h *tar.Header) {
	if w.err != nil {
		return
	}
	w.seen[strings.TrimSuffix(h.Name, "/")] = true
	h.ModTime = time.Unix(0, 0)
	h.Format = tar.FormatPAX
	w.err = w.tw.WriteHeader(h)
}

func (w *tarWriter) dir(name string, mode int64, owner int) {
	w.parents(name)
	w.header(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner})
}

func (w *tarWriter) file(name string, mode int64, owner int, content string) {
	w.parents(name)
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: owner, Gid: owner, Size: int64(len(content))})
	if w.err == nil {
		_, w.err = io.WriteString(w.tw, content)
	}
}

func (w *tarWriter) symlink(name, target string) {
	w.parents(name)
	w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

// copyFile copies a host file (symlinks followed) to name.
func (w *tarWriter) copyFile(name, src string) {
	if w.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		w.err = err
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		w.err = err
		return
	}
	w.parents(name)
	w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size()})
	if w.err == nil {
		_, w.err = io.Copy(w.tw, f)
	}
}

// copyTree copies a host folder to name, symlinks kept as they are, owned by
// root; skip leaves out paths relative to src.
func (w *tarWriter) copyTree(name, src string, skip func(rel string) bool) {
	if w.err != nil {
		return
	}
	w.err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || w.err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if skip != nil && rel != "." && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		dst := filepath.Join(name, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			w.dir(dst, int64(fi.Mode().Perm()), 0)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			w.symlink(dst, target)
		case fi.Mode().IsRegular():
			w.copyFile(dst, path)
		}
		return w.err
	})
}
