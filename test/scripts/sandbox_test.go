// Package scripts_test checks the server scripts in scripts/: shellcheck finds
// nothing in them, each one's --dry-run prints every change it would make and
// makes none, bad input stops them with a clear message before anything
// changes, and a real run is idempotent.
//
// The scripts never touch this machine. They run against a sandbox:
// MEALSYNC_SYSROOT prefixes every file they read or write, HOME is a temporary
// folder, and testdata/bin comes first on PATH with stand-ins for every command
// that changes a machine (apt-get, useradd, ufw, systemctl, certbot, nginx,
// docker, …). The stand-ins answer read-only questions from a fake machine
// state and fail loudly on any change, unless a test asks them to simulate it
// (testdata/stublib.sh says how).
package scripts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// repoRoot is the module's root folder, found from this file's location.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func scriptPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "scripts", name)
}

// debian12 is the os-release of a fresh Debian 12 server.
const debian12 = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
`

// debian13Candidates are the versions a Debian 13 package index offers: the
// first Debian whose own docker-compose package is Compose v2.
const debian13Candidates = `ca-certificates 20250419
curl 8.14.1-2
git 1:2.47.2-0.2
ufw 0.36.2-9
unattended-upgrades 2.12
nginx 1.26.3-3
docker.io 26.1.5+dfsg1-9
docker-compose 2.26.1-4
certbot 4.0.0-2
pgbackrest 2.54.2-1
cron 3.0pl1-197
`

// sandbox is a fake fresh server: a sysroot tree, a HOME, and the state the
// stub commands read and write.
type sandbox struct {
	t     *testing.T
	Root  string // MEALSYNC_SYSROOT: the server's files
	Home  string
	State string            // STUB_STATE: installed packages, users, firewall, swap, ...
	Env   map[string]string // extra environment for the scripts
}

// newSandbox builds a fresh Debian 12 server with Debian 13's package index
// (so Compose v2 is available): no swap, no firewall, no deploy user, ca-certificates,
// curl and git already installed, a kernel whose fs.file-max is low.
// Every folder is world-readable so the scripts can also run as nobody.
func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	base, err := os.MkdirTemp("", "mealsync-scripts-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	sb := &sandbox{
		t:     t,
		Root:  filepath.Join(base, "root"),
		Home:  filepath.Join(base, "home"),
		State: filepath.Join(base, "state"),
		Env:   map[string]string{},
	}
	for _, d := range []string{sb.Root, sb.Home} {
		sb.mkdir(d, 0o755)
	}
	// The stubs log every call here, also when the script runs as nobody.
	for _, d := range []string{"", "bin", "pkg", "users", "groups", "units", "enabled", "active", "sysctl"} {
		sb.mkdir(filepath.Join(sb.State, d), 0o777)
	}
	// PATH starts with links to every stub; RemoveStub takes one away.
	stubs, err := filepath.Glob(filepath.Join(repoRoot(t), "test", "scripts", "testdata", "bin", "*"))
	if err != nil || len(stubs) == 0 {
		t.Fatalf("no stubs in testdata/bin: %v", err)
	}
	for _, stub := range stubs {
		if err := os.Symlink(stub, filepath.Join(sb.State, "bin", filepath.Base(stub))); err != nil {
			t.Fatal(err)
		}
	}
	sb.WriteState("candidates", debian13Candidates)
	for _, p := range []string{"ca-certificates", "curl", "git"} {
		sb.WriteState("pkg/"+p, "")
	}
	sb.WriteFile("etc/os-release", debian12)
	sb.WriteFile("etc/fstab", "UUID=0a1b2c3d / ext4 errors=remount-ro 0 1\n")
	sb.WriteFile("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n#Port 22\nPermitRootLogin prohibit-password\n")
	sb.WriteFile("proc/sys/fs/file-max", "400000\n")
	for _, d := range []string{"etc/sysctl.d", "etc/apt/apt.conf.d", "home", "opt", "run", "var/lib", "var/log"} {
		sb.mkdir(filepath.Join(sb.Root, d), 0o755)
	}
	return sb
}

func (sb *sandbox) mkdir(path string, mode os.FileMode) {
	sb.t.Helper()
	if err := os.MkdirAll(path, mode); err != nil {
		sb.t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		sb.t.Fatal(err)
	}
}

// RemoveStub takes a stub command off PATH: the command is not installed.
// Tests that rely on this skip when the real command is on the system PATH.
func (sb *sandbox) RemoveStub(name string) {
	sb.t.Helper()
	for _, dir := range filepath.SplitList(systemPath) {
		if path, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			sb.t.Skipf("%s is installed on this machine (%s), so the scripts would find it", name, path)
		}
	}
	if err := os.Remove(filepath.Join(sb.State, "bin", name)); err != nil {
		sb.t.Fatal(err)
	}
}

// WriteFile puts a file into the server's tree (rel is relative to the sysroot).
func (sb *sandbox) WriteFile(rel, content string) string {
	sb.t.Helper()
	path := filepath.Join(sb.Root, rel)
	sb.mkdir(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		sb.t.Fatal(err)
	}
	return path
}

// WriteState sets part of the fake machine state the stubs read.
func (sb *sandbox) WriteState(rel, content string) {
	sb.t.Helper()
	path := filepath.Join(sb.State, rel)
	if err := os.WriteFile(path, []byte(content), 0o666); err != nil {
		sb.t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		sb.t.Fatal(err)
	}
}

// ReadFile reads a file of the server's tree; "" if it does not exist.
func (sb *sandbox) ReadFile(rel string) string {
	sb.t.Helper()
	b, err := os.ReadFile(filepath.Join(sb.Root, rel))
	if err != nil && !os.IsNotExist(err) {
		sb.t.Fatal(err)
	}
	return string(b)
}

// Mutations lists the changing calls the stubs received, one per line.
func (sb *sandbox) Mutations() []string {
	sb.t.Helper()
	b, err := os.ReadFile(filepath.Join(sb.State, "mutations.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		sb.t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// ResetMutations forgets the changing calls seen so far.
func (sb *sandbox) ResetMutations() {
	sb.t.Helper()
	if err := os.RemoveAll(filepath.Join(sb.State, "mutations.log")); err != nil {
		sb.t.Fatal(err)
	}
}

// systemPath is what comes after the stubs on PATH.
const systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// result is what a script run printed and how it ended.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

// Lines returns stdout's lines that start with prefix.
func (r result) Lines(prefix string) []string {
	var out []string
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// runOpts says how to run a script.
type runOpts struct {
	AsNobody bool // drop to uid/gid 65534 (only possible when the test runs as root)
	Apply    bool // the stubs simulate changes instead of failing on them
}

// Run runs scripts/NAME with args in the sandbox, as the test's own user with
// the stubs failing on every change.
func (sb *sandbox) Run(name string, args ...string) result {
	sb.t.Helper()
	return sb.RunWith(runOpts{}, name, args...)
}

func (sb *sandbox) RunWith(o runOpts, name string, args ...string) result {
	sb.t.Helper()
	argv, env := sb.command(o, name, args...)
	return runCommand(sb.t, argv, env, sb.Root)
}

// command is the command line and the whole environment RunWith runs.
func (sb *sandbox) command(o runOpts, name string, args ...string) (argv, env []string) {
	sb.t.Helper()
	argv = append([]string{"bash", scriptPath(sb.t, name)}, args...)
	if o.AsNobody {
		if _, err := exec.LookPath("setpriv"); err != nil {
			testdb.SkipOrFail(sb.t, "setpriv (util-linux) is needed to run as nobody: %v", err)
		}
		argv = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"}, argv...)
	}
	mode := "dry"
	if o.Apply {
		mode = "apply"
	}
	env = []string{
		"PATH=" + filepath.Join(sb.State, "bin") + ":" + systemPath,
		"HOME=" + sb.Home,
		"LANG=C.UTF-8",
		"MEALSYNC_SYSROOT=" + sb.Root,
		"STUB_STATE=" + sb.State,
		"STUB_MODE=" + mode,
	}
	for k, v := range sb.Env {
		env = append(env, k+"="+v)
	}
	return argv, env
}

// runCommand runs argv with exactly env, in dir, and reports how it ended.
func runCommand(t testing.TB, argv, env []string, dir string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%v timed out\n%s", argv, r)
	}
	if exit, ok := err.(*exec.ExitError); ok {
		r.Code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", argv, err)
	}
	return r
}

// Snapshot describes every file in the sysroot and HOME: type, mode, owner,
// and content hash or link target.
func (sb *sandbox) Snapshot() map[string]string {
	sb.t.Helper()
	snap := map[string]string{}
	for _, top := range []string{sb.Root, sb.Home} {
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := os.Lstat(path)
			if err != nil {
				return err
			}
			st := info.Sys().(*syscall.Stat_t)
			desc := fmt.Sprintf("%v %d:%d", info.Mode(), st.Uid, st.Gid)
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				if err != nil {
					return err
				}
				desc += " -> " + target
			case info.Mode().IsRegular():
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				desc += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
			snap[path] = desc
			return nil
		})
		if err != nil {
			sb.t.Fatal(err)
		}
	}
	return snap
}

// requireUnchanged fails t if the sandbox differs from before or any stub was
// asked to change the machine.
func (sb *sandbox) requireUnchanged(before map[string]string, r result) {
	sb.t.Helper()
	after := sb.Snapshot()
	var diffs []string
	for p, d := range before {
		if a, ok := after[p]; !ok {
			diffs = append(diffs, "removed "+p)
		} else if a != d {
			diffs = append(diffs, fmt.Sprintf("changed %s: %s -> %s", p, d, a))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			diffs = append(diffs, "created "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		sb.t.Errorf("the sandbox changed:\n  %s\n%s", strings.Join(diffs, "\n  "), r)
	}
	if m := sb.Mutations(); len(m) > 0 {
		sb.t.Errorf("changing commands were called:\n  %s\n%s", strings.Join(m, "\n  "), r)
	}
}

// requireRoot skips tests that need root: dropping to another user, or
// passing the scripts' own root check.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
}

// mustContain fails t unless s contains every one of wants.
func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// testKey is an SSH public key in the format ssh-keygen writes.
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ9Qk1P5r0xw2T8S0q7fLw4mN3b1cX9yZ8vU6tE5dR4a ops@example"

func (sb *sandbox) keyFile() string {
	sb.t.Helper()
	path := filepath.Join(sb.Home, "id_ed25519.pub")
	if err := os.WriteFile(path, []byte(testKey+"\n"), 0o644); err != nil {
		sb.t.Fatal(err)
	}
	return path
}
