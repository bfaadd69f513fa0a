package testenv

import (
	"bytes"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// RequireNginx returns the nginx executable's path. Without one, t skips, or
// fails when MEALSYNC_REQUIRE_SERVICES=1.
func RequireNginx(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	testdb.SkipOrFail(t, "nginx is not installed")
	return ""
}

// Nginx is a running nginx master process (in the foreground, as a child of
// the test) serving a substituted copy of a configuration folder.
type Nginx struct {
	URL    string      // http://127.0.0.1:Port
	Port   int         // where the config's port 80 listens
	Ports  map[int]int // every port the config listens on → its loopback port
	Prefix string      // the copy of the config folder; moved paths live under it

	Binary       string   // the nginx executable
	Flags        []string // -p, -c and -e: give them to any nginx command for this instance
	UpstreamFile string   // Prefix/upstream.conf
	AccessLog    string   // Prefix/var/log/nginx/access.log (JSON lines)
	ErrorLog     string   // Prefix/var/log/nginx/error.log
	Cmd          *exec.Cmd

	upstreamTemplate string // upstream.conf as copied, before substitution
	stderr           *SyncBuffer
	exited           chan struct{}
	err              error
	stop             sync.Once
}

// StartNginx copies the configuration folder confDir ("" means the
// repository's nginx/) to a temporary prefix, applies Substitute to every
// *.conf file in it (free loopback ports; pid, logs and temporary files under
// the prefix; user removed, or root when the test runs as root, so workers
// can use the private prefix) and SubstituteUpstream to upstream.conf with
// upstreams, checks it with `nginx -t`, and runs nginx in the foreground
// until t's cleanup. It returns once /nginx-health answers.
//
// Files a test puts in its own confDir at a moved path's place (for
// example etc/letsencrypt/live/<domain>/fullchain.pem) are found there:
// the prefix is a copy of confDir.
func StartNginx(t testing.TB, confDir string, upstreams []string) *Nginx {
	t.Helper()
	bin := RequireNginx(t)
	if confDir == "" {
		confDir = filepath.Join(RepoRoot(t), "nginx")
	}
	// A port found free may be taken before nginx binds it; try again.
	for attempt := 1; ; attempt++ {
		n, inUse := startNginx(t, bin, confDir, upstreams)
		if n != nil {
			return n
		}
		if !inUse || attempt == 3 {
			t.Fatal("nginx did not start")
		}
	}
}

func startNginx(t testing.TB, bin, confDir string, upstreams []string) (n *Nginx, addrInUse bool) {
	t.Helper()
	prefix := t.TempDir()
	if err := os.CopyFS(prefix, os.DirFS(confDir)); err != nil {
		t.Fatalf("copy %s: %v", confDir, err)
	}
	confs := confFiles(t, prefix)
	ports := map[int]int{}
	for _, f := range confs {
		for _, p := range listenPorts(readFile(t, f)) {
			if _, ok := ports[p]; !ok {
				ports[p] = FreePort(t)
			}
		}
	}
	sub := Substitution{Prefix: prefix, Ports: ports}
	if os.Geteuid() == 0 {
		sub.User = "root"
	}
	for _, f := range confs {
		text, moved, err := Substitute(readFile(t, f), sub)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, p := range moved {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		writeFile(t, f, text)
	}

	n = &Nginx{
		Port: ports[80], Ports: ports, Prefix: prefix, Binary: bin,
		UpstreamFile: filepath.Join(prefix, "upstream.conf"),
		AccessLog:    filepath.Join(prefix, "var/log/nginx/access.log"),
		ErrorLog:     filepath.Join(prefix, "var/log/nginx/error.log"),
		stderr:       &SyncBuffer{},
		exited:       make(chan struct{}),
	}
	if n.Port == 0 {
		t.Fatalf("%s does not listen on port 80", confDir)
	}
	n.URL = fmt.Sprintf("http://127.0.0.1:%d", n.Port)
	n.Flags = []string{"-p", prefix + "/", "-c", filepath.Join(prefix, "nginx.conf"), "-e", "stderr"}
	n.upstreamTemplate = readFile(t, n.UpstreamFile)
	n.WriteUpstream(t, upstreams)
	if out, err := n.Command("-t").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}

	cmd := n.Command("-g", "daemon off;")
	cmd.Stdout = n.stderr
	cmd.Stderr = n.stderr
	cmd.SysProcAttr = sysProcAttr(syscall.SIGTERM) // nginx's fast shutdown, workers included
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	n.Cmd = cmd
	go func() {
		n.err = cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Logf("nginx: %v", err)
		}
		if t.Failed() {
			t.Logf("nginx error log (last lines):\n%s", tail(n.stderr.String()+readFileQuiet(n.ErrorLog), 30))
		}
	})

	client := &http.Client{Timeout: 2 * time.Second}
	exitedEarly := false
	WaitFor(t, 15*time.Second, "nginx to answer /nginx-health on "+n.URL, func() bool {
		select {
		case <-n.exited:
			exitedEarly = true
			return true
		default:
		}
		resp, err := client.Get(n.URL + "/nginx-health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if exitedEarly {
		log := n.stderr.String() + readFileQuiet(n.ErrorLog)
		if strings.Contains(log, "Address already in use") {
			t.Logf("nginx lost a port race, retrying:\n%s", tail(log, 5))
			return nil, true
		}
		t.Fatalf("nginx exited at start: %v\n%s", n.err, tail(log, 30))
	}
	return n, false
}

// Command is an nginx command addressed to this instance's configuration,
// for example n.Command("-t") or n.Command("-s", "reload").
func (n *Nginx) Command(args ...string) *exec.Cmd {
	return exec.Command(n.Binary, append(append([]string(nil), n.Flags...), args...)...)
}

// WriteUpstream replaces upstream.conf (atomically, by rename) with the
// repository's upstream block listing servers (host:port each). It does not
// reload: call Reload.
func (n *Nginx) WriteUpstream(t testing.TB, servers []string) {
	t.Helper()
	text, err := SubstituteUpstream(n.upstreamTemplate, servers)
	if err != nil {
		t.Fatal(err)
	}
	tmp := n.UpstreamFile + ".tmp"
	writeFile(t, tmp, text)
	if err := os.Rename(tmp, n.UpstreamFile); err != nil {
		t.Fatal(err)
	}
}

// Reload checks the configuration with `nginx -t`, signals a reload with
// `nginx -s reload`, and returns once every worker process serving the old
// configuration has stopped accepting connections (it may still finish
// requests in flight): from then on, new connections get the new
// configuration. A configuration nginx rejects fails t.
func (n *Nginx) Reload(t testing.TB) {
	t.Helper()
	if out, err := n.Command("-t").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	old := n.workers()
	if out, err := n.Command("-s", "reload").CombinedOutput(); err != nil {
		t.Fatalf("nginx -s reload: %v\n%s", err, out)
	}
	WaitFor(t, 15*time.Second, "nginx to replace its worker processes after a reload", func() bool {
		cur := n.workers()
		for pid := range old {
			if cur[pid] {
				return false
			}
		}
		return len(cur) > 0
	})
}

// workers returns the pids of the worker processes that accept new
// connections (not those shutting down after a reload).
func (n *Nginx) workers() map[int]bool {
	out := map[int]bool{}
	for pid, cmdline := range children(n.Cmd.Process.Pid) {
		if cmdline == "nginx: worker process" {
			out[pid] = true
		}
	}
	return out
}

// Stop shuts nginx down (SIGTERM: connections are closed, long-lived streams
// included) and waits for it; safe to call more than once.
func (n *Nginx) Stop() error {
	n.stop.Do(func() {
		n.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			killGroup(n.Cmd.Process.Pid)
			<-n.exited
		}
	})
	<-n.exited
	return n.err
}

// confFiles lists the *.conf files under dir, which Substitute rewrites
// (conf.d/https.conf.disabled and other disabled files are left alone).
func confFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".conf") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// listenPorts returns the ports of the config's IPv4 listen directives.
func listenPorts(conf string) []int {
	var ports []int
	for _, line := range strings.Split(conf, "\n") {
		m := directive.FindStringSubmatch(line)
		if m == nil || m[2] != "listen" {
			continue
		}
		args := strings.Fields(m[3])
		if len(args) == 0 || strings.HasPrefix(args[0], "[") {
			continue
		}
		if p, err := listenPort(args[0]); err == nil {
			ports = append(ports, p)
		}
	}
	return ports
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func readFileQuiet(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// SyncBuffer is a bytes.Buffer safe for a process's output goroutines and
// the test's reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
