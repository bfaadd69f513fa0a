package scripts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// The host install (--mode process): the script puts the repository's nginx
// configuration into /etc/nginx the way the host's nginx needs it, keeps
// what it replaces, never touches an upstream.conf mealsyncctl wrote, and
// puts everything back when nginx rejects the result.
func TestInitialSetupInstallsNginxForTheHost(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sb := newSandbox(t)
	key := sb.keyFile()
	apply := runOpts{Apply: true}
	args := []string{"--mode", "process", "--ssh-key", key}
	r := sb.RunWith(apply, initialSetup, args...)
	if r.Code != 0 {
		t.Fatalf("setup failed:\n%s", r)
	}

	repo := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "nginx", rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// nginx.conf: the repository's, with Debian's nginx user.
	wantConf := regexp.MustCompile(`(?m)^user\s[^;]*;`).ReplaceAllString(repo("nginx.conf"), "user www-data;")
	if got := sb.ReadFile("etc/nginx/nginx.conf"); got != wantConf || !strings.Contains(got, "\nuser www-data;\n") {
		t.Errorf("/etc/nginx/nginx.conf is not the repository's with user www-data:\n%s", got)
	}
	mustContain(t, "the distribution's nginx.conf, kept", sb.ReadFile("etc/nginx/nginx.conf.before-mealsync"), "Debian's default nginx.conf")
	for _, rel := range []string{"mealsync.conf", "security-headers.conf", "conf.d/https.conf.disabled"} {
		if sb.ReadFile("etc/nginx/"+rel) != repo(rel) {
			t.Errorf("/etc/nginx/%s is not the repository's", rel)
		}
	}
	// upstream.conf: the repository's block, every directive kept, no server
	// but mealsyncctl's placeholder for "no instance".
	up := sb.ReadFile("etc/nginx/upstream.conf")
	mustContain(t, "/etc/nginx/upstream.conf", up, "upstream mealsync_app {\n", "    server 127.0.0.1:1 down;  # no instance is serving\n")
	for _, d := range upstreamDirectives(t, repo("upstream.conf")) {
		mustContain(t, "/etc/nginx/upstream.conf", up, "\n"+d+"\n")
	}
	if strings.Contains(up, "app:8081") {
		t.Errorf("/etc/nginx/upstream.conf still names the compose service:\n%s", up)
	}
	for _, d := range []struct {
		path string
		mode os.FileMode
		uid  uint32
	}{{"var/cache/nginx", 0o755, 0}, {"var/lib/mealsync", 0o750, 4242}} {
		info, err := os.Stat(filepath.Join(sb.Root, d.path))
		if err != nil || info.Mode().Perm() != d.mode || info.Sys().(*syscall.Stat_t).Uid != d.uid {
			t.Errorf("/%s: %v %v, want mode %o owner %d", d.path, info, err, d.mode, d.uid)
		}
	}
	mustContain(t, "the env file", sb.ReadFile("etc/mealsync/env"), "\nMEALSYNC_MIGRATE_ON_START=true\n", "\nMEALSYNC_DATA_DIR=/var/lib/mealsync\n")
	if got := readState(t, sb, "reloads"); got != "nginx\n" {
		t.Errorf("nginx reloads: %q, want one", got)
	}
	mustContain(t, "the next steps", r.Stdout, "--env-file /etc/mealsync/env --workdir /var/lib/mealsync",
		"--nginx-conf /etc/nginx/nginx.conf --upstream-file /etc/nginx/upstream.conf")

	// rerun runs the script again and returns what it did.
	rerun := func(what string) result {
		t.Helper()
		sb.ResetMutations()
		r := sb.RunWith(apply, initialSetup, args...)
		if r.Code != 0 {
			t.Fatalf("%s: setup failed:\n%s", what, r)
		}
		return r
	}

	// Again: nothing to do, and no reload.
	before := sb.Snapshot()
	r = rerun("second run")
	if c := r.Lines("change: "); len(c) > 0 {
		t.Errorf("the second run changed things: %v", c)
	}
	mustContain(t, "second run", r.Stdout, "/etc/nginx/nginx.conf already MealSync's",
		"/etc/nginx/upstream.conf already in place (mealsyncctl maintains it)", "/var/cache/nginx already exists")
	sb.requireUnchanged(before, r)

	// The upstream mealsyncctl wrote stays as it is.
	deployed := strings.Replace(up, "    server 127.0.0.1:1 down;  # no instance is serving\n", "    server 127.0.0.1:40001 max_fails=1 fail_timeout=5s;\n", 1)
	sb.WriteFile("etc/nginx/upstream.conf", deployed)
	before = sb.Snapshot()
	r = rerun("run after a deploy")
	sb.requireUnchanged(before, r)

	// The repository's upstream.conf, copied by hand as the old instructions
	// said, is replaced: nginx -t fails on it.
	sb.WriteFile("etc/nginx/upstream.conf", repo("upstream.conf"))
	r = rerun("run after a hand copy")
	mustContain(t, "run after a hand copy", r.Stdout, "change: replace /etc/nginx/upstream.conf: it names app:8081")
	if got := sb.ReadFile("etc/nginx/upstream.conf"); got != up {
		t.Errorf("upstream.conf after replacing the hand copy:\n%s", got)
	}
	if got := readState(t, sb, "reloads"); got != "nginx\nnginx\n" {
		t.Errorf("nginx reloads: %q, want a second one", got)
	}

	// nginx rejects the new files: the previous ones come back, unreloaded.
	sb.WriteFile("etc/nginx/mealsync.conf", "# edited by hand\n")
	sb.WriteState("nginx-rejects", "")
	sb.ResetMutations()
	before = sb.Snapshot()
	r = sb.RunWith(apply, initialSetup, args...)
	if r.Code != 1 {
		t.Fatalf("exit %d with nginx rejecting the config, want 1:\n%s", r.Code, r)
	}
	mustContain(t, "stderr", r.Stderr, "nginx rejected the installed configuration", "the previous files are back")
	sb.requireUnchanged(before, r)
}

// upstreamDirectives are the lines of the upstream block that are not server
// lines, trimmed and indented by four spaces.
func upstreamDirectives(t *testing.T, conf string) []string {
	t.Helper()
	var out []string
	inside := false
	for _, line := range strings.Split(conf, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "upstream mealsync_app"):
			inside = true
		case inside && l == "}":
			inside = false
		case inside && l != "" && !strings.HasPrefix(l, "server ") && !strings.HasPrefix(l, "#"):
			out = append(out, "    "+l)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no directives in the repository's upstream block:\n%s", conf)
	}
	return out
}

// TestHostInstallServesThroughTheHostsNginx follows the host install to the
// letter with the real programs: the script prepares the server (its system
// commands stubbed, its files under a sandbox root); the host's nginx checks
// and runs the configuration the script installed; the first deploy runs
// the command the script prints, with the real mealsyncctl and mealsync on
// PostgreSQL; requests pass through nginx.
//
// The one translation is the one test/edge makes (testenv.Substitute): every
// absolute path in the installed nginx files, the env file and the printed
// command moves under the sandbox root, and nginx listens on free loopback
// ports. So /var/cache/nginx, the logs' folder and the webroot must exist
// there because the script (or, for /var/log/nginx, Debian's nginx package)
// made them; the user directive is kept as installed, and checked against
// this machine's users.
func TestHostInstallServesThroughTheHostsNginx(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	nginxBin := testenv.RequireNginx(t)
	dbURL := testdb.PostgresURL(t)
	sb := newSandbox(t)
	r := sb.RunWith(runOpts{Apply: true}, initialSetup, "--mode", "process", "--ssh-key", sb.keyFile())
	if r.Code != 0 {
		t.Fatalf("setup failed:\n%s", r)
	}
	root := sb.Root
	nginxDir := filepath.Join(root, "etc", "nginx")
	conf := filepath.Join(nginxDir, "nginx.conf")

	user := regexp.MustCompile(`(?m)^user\s+([^;\s]+)\s*;`).FindStringSubmatch(sb.ReadFile("etc/nginx/nginx.conf"))
	if user == nil {
		t.Fatal("the installed nginx.conf has no user directive")
	}
	ports := map[int]int{80: testenv.FreePort(t), 443: testenv.FreePort(t)}
	confs, _ := filepath.Glob(filepath.Join(nginxDir, "*.conf"))
	for _, f := range confs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text, _, err := testenv.Substitute(string(b), testenv.Substitution{Prefix: root, Ports: ports, User: user[1]})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(nginxBin, "-t", "-e", "stderr", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t on the installed configuration: %v\n%s", err, out)
	}

	startHostNginx(t, nginxBin, conf)
	base := "http://127.0.0.1:" + itoa(ports[80])
	testenv.WaitFor(t, 15*time.Second, "nginx to answer /nginx-health", func() bool {
		code, _ := get(base + "/nginx-health")
		return code == http.StatusOK
	})
	if code, body := get(base + "/api/v1/recipes"); code != http.StatusBadGateway {
		t.Errorf("before the first deploy: %d %s, want nginx's 502 (no instance yet)", code, body)
	}

	// The operator fills in the database URL and puts a release in place.
	envFile := filepath.Join(root, "etc", "mealsync", "env")
	env := sb.ReadFile("etc/mealsync/env")
	env = strings.Replace(env, "\nMEALSYNC_DATABASE_URL=\n", "\nMEALSYNC_DATABASE_URL="+dbURL+"\n", 1)
	env = strings.ReplaceAll(env, "=/var/lib/mealsync\n", "="+root+"/var/lib/mealsync\n")
	if err := os.WriteFile(envFile, []byte(env), 0o640); err != nil {
		t.Fatal(err)
	}
	release := filepath.Join(root, "opt", "mealsync", "releases", "v1", "mealsync")
	copyFile(t, testenv.BuildMealsync(t), release, 0o755)

	// The commands the script printed, word for word.
	exported := regexp.MustCompile(`export MEALSYNCCTL_STATE_DIR=(/\S+)'`).FindStringSubmatch(r.Stdout)
	m := regexp.MustCompile(`mealsyncctl deploy(?:[^\n]*\\\n)*[^\n]*`).FindString(r.Stdout)
	if exported == nil || m == "" {
		t.Fatalf("the next steps give no state directory or no deploy command:\n%s", r.Stdout)
	}
	stateDir := exported[1]
	args := strings.Fields(strings.ReplaceAll(m, "\\\n", " "))[1:]
	for i, a := range args {
		a = strings.ReplaceAll(a, "VERSION", "v1")
		if strings.HasPrefix(a, "/") {
			a = filepath.Join(root, a)
		}
		args[i] = a
	}
	stateDir = filepath.Join(root, stateDir)
	guardInstances(t, stateDir)
	ctl := testenv.Build(t, "./cmd/mealsyncctl")
	cmd := exec.Command(ctl, append(args, "--verify", "2s")...)
	cmd.Env = append(os.Environ(), "MEALSYNCCTL_STATE_DIR="+stateDir,
		"PATH="+filepath.Dir(nginxBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}

	for _, path := range []string{"/api/v1/recipes", "/actuator/health"} {
		if code, body := get(base + path); code != http.StatusOK {
			t.Errorf("GET %s through nginx: %d %s", path, code, body)
		}
	}
	out, err := exec.Command(ctl, "status", "--json", "--state-dir", stateDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	var status struct {
		Consistent bool
		Problems   []string
		Upstream   struct{ Servers []string }
	}
	if err := json.Unmarshal(out, &status); err != nil {
		t.Fatal(err)
	}
	if !status.Consistent || len(status.Upstream.Servers) != 1 || !strings.HasPrefix(status.Upstream.Servers[0], "127.0.0.1:") {
		t.Errorf("status after the first deploy: %s", out)
	}
}

// startHostNginx runs nginx in the foreground on conf until the test ends.
func startHostNginx(t *testing.T, bin, conf string) {
	t.Helper()
	cmd := exec.Command(bin, "-e", "stderr", "-c", conf, "-g", "daemon off;")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx:\n%s", logs.String())
		}
	})
}

// guardInstances ties the instances mealsyncctl starts (detached, in
// sessions of their own) to the test: a guard process, which the kernel
// sends SIGTERM when the test process dies and the cleanup sends it
// otherwise, kills every process stateDir's pids/ records.
func guardInstances(t *testing.T, stateDir string) {
	t.Helper()
	script := `trap 'for f in "$1"/pids/*; do [ -f "$f" ] && read -r pid _ <"$f" && { kill -KILL "-$pid" || kill -KILL "$pid"; }; done; kill "$!"; exit 0' TERM
sleep 100000 & wait`
	cmd := exec.Command("sh", "-c", script, "guard", stateDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
}

func get(url string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
