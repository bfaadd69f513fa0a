package deploy_test

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// TestKamalProxyComparison measures, in one run on one machine, the same
// app on the same database behind two deploy paths, one instance each,
// under the same load: nginx with mealsyncctl's process driver, and
// kamal-proxy (github.com/basecamp/kamal-proxy), which switches targets
// inside its own process. Each gets five deploys alternating two builds,
// then a release that is ready but answers 500 to every request, watched
// for the same 10 s: mealsyncctl rolls it back by itself; kamal-proxy keeps
// routing to it, so an operator's redeploy of the good build ends the
// window.
//
// It is a benchmark for docs/BENCHMARKS.md, not part of CI: it needs a
// kamal-proxy binary, which this repository does not vendor or build. Build
// one from its source in a directory of your own, with its listeners on
// loopback, and run:
//
//	MEALSYNC_KAMAL_PROXY=/path/to/kamal-proxy MEALSYNC_REQUIRE_SERVICES=1 \
//	    go test -v -run TestKamalProxyComparison -timeout 20m ./test/deploy
//
// With MEALSYNC_BASELINE_SRC set to a checkout of an older revision of this
// repository, its deploy path (mealsyncctl, app and nginx/ folder) is
// measured the same way, third.
//
// kamal-proxy has no flag for the address it binds (it listens on every
// interface); the benchmark sets KAMAL_PROXY_BIND=127.0.0.1, which a build
// with a one-line change to its run command reads (Config.Bind). Without
// that change it still runs, but listens on every interface.
func TestKamalProxyComparison(t *testing.T) {
	kamal := os.Getenv("MEALSYNC_KAMAL_PROXY")
	if kamal == "" {
		t.Skip("set MEALSYNC_KAMAL_PROXY to a kamal-proxy binary to compare the two deploy paths")
	}
	r := newRig(t)
	bins := map[string]string{"v1": buildRelease(t, "v1"), "v2": buildRelease(t, "v2")}
	env := r.envFile("good")
	forbidden := forbiddenRoleURL(t, r.dbURL)
	const badFor = 10 * time.Second

	// nginx + mealsyncctl, one instance.
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "1")...)
	ng := measurePath(t, "nginx + mealsyncctl", r.nginx.URL, func(i int, to string) {
		r.mustRun(r.deployArgs(bins[to], env)...)
	}, func() {
		bad := r.envFile("forbidden", "MEALSYNC_DATABASE_URL="+forbidden, forbiddenEnv)
		t0 := time.Now()
		res := r.run(r.deployArgs(bins["v2"], bad, "--verify", badFor.String(), "--version", "v2-forbidden")...)
		if res.code != 1 {
			t.Errorf("mealsyncctl did not roll the bad release back: exit %d\n%s", res.code, res.stderr)
		}
		waitOut(t, t0, badFor)
	})

	// kamal-proxy, one instance.
	kp := startKamal(t, kamal)
	appEnv := map[string]string{
		"MEALSYNC_JWT_SECRET":               "deploy-test-secret-shared-by-every-instance",
		"MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0",
		"MEALSYNC_TRUSTED_PROXIES":          "127.0.0.1/32",
		"MEALSYNC_DB_MAX_OPEN_CONNS":        "10",
		"MEALSYNC_DB_MAX_IDLE_CONNS":        "10",
		"MEALSYNC_SHUTDOWN_TIMEOUT":         "20s",
	}
	start := func(v, dbURL string) *testenv.Instance {
		env := maps.Clone(appEnv)
		if dbURL != r.dbURL { // the bad release
			k, v, _ := strings.Cut(forbiddenEnv, "=")
			env[k] = v
		}
		return testenv.StartMealsync(t, testenv.Options{Binary: bins[v], DatabaseURL: dbURL, Env: env})
	}
	cur := start("v1", r.dbURL)
	kp.deploy(t, cur.Addr)
	// The old instance is stopped once kamal-proxy has drained it, in the
	// background: kamal-proxy keeps its idle connections to it open (Go's
	// transport, 90 s), so the app waits out MEALSYNC_SHUTDOWN_TIMEOUT
	// before closing them, which delays nothing kamal-proxy does.
	var stopping sync.WaitGroup
	stop := func(in *testenv.Instance) {
		stopping.Add(1)
		go func() { defer stopping.Done(); in.Stop() }()
	}
	kk := measurePath(t, "kamal-proxy", kp.url, func(i int, to string) {
		next := start(to, r.dbURL)
		kp.deploy(t, next.Addr) // healthy, switched, old target drained
		stop(cur)
		cur = next
	}, func() {
		t0 := time.Now()
		bad := start("v2", forbidden)
		kp.deploy(t, bad.Addr) // its readiness passes: kamal-proxy switches to it
		waitOut(t, t0, badFor)
		kp.deploy(t, cur.Addr) // the operator's rollback
		stop(bad)
	})
	stopping.Wait()

	figures := []string{ng, kk}

	// The deploy path before this one, if a checkout of it is given: its
	// mealsyncctl, app and nginx configuration.
	if src := os.Getenv("MEALSYNC_BASELINE_SRC"); src != "" {
		figures = append(figures, measureBaseline(t, src, badFor))
	}
	t.Logf("FIGURE comparison, one instance each, 300 req/s, same machine and database server:\n%s", strings.Join(figures, "\n"))
}

// measureBaseline runs the same measurement with an older checkout's
// mealsyncctl, app and nginx/ folder. Its verification did not read the 5xx
// count, so its bad release goes into service like kamal-proxy's, and the
// operator's rollback after badFor ends the window.
func measureBaseline(t *testing.T, src string, badFor time.Duration) string {
	t.Helper()
	out := t.TempDir()
	build := func(pkg, name, version string) string {
		bin := filepath.Join(out, name)
		args := []string{"build", "-o", bin}
		if version != "" {
			args = append(args, "-ldflags", "-X github.com/mealsync/mealsync/internal/buildinfo.Version="+version)
		}
		cmd := exec.Command("go", append(args, pkg)...)
		cmd.Dir = src
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s from %s: %v\n%s", pkg, src, err, b)
		}
		return bin
	}
	bins := map[string]string{"v1": build("./cmd/mealsync", "mealsync-v1", "v1"), "v2": build("./cmd/mealsync", "mealsync-v2", "v2")}
	r := newRigWith(t, build("./cmd/mealsyncctl", "mealsyncctl", ""), filepath.Join(src, "nginx"))
	env := r.envFile("good")
	// This rig's database is its own: so is the bad release's role.
	forbidden := forbiddenRoleURL(t, r.dbURL)
	r.mustRun(r.deployArgs(bins["v1"], env, "--instances", "1")...)
	return measurePath(t, "nginx + mealsyncctl before (reloads at every deploy)", r.nginx.URL, func(i int, to string) {
		r.mustRun(r.deployArgs(bins[to], env)...)
	}, func() {
		bad := r.envFile("forbidden", "MEALSYNC_DATABASE_URL="+forbidden, forbiddenEnv)
		t0 := time.Now()
		r.run(r.deployArgs(bins["v2"], bad, "--verify", "3s", "--version", "v2-forbidden")...)
		waitOut(t, t0, badFor)
		r.mustRun(r.deployArgs(bins["v1"], env)...) // the operator's rollback
	})
}

// waitOut waits until d has passed since t0: the bad release's window has
// the same length on both paths.
func waitOut(t *testing.T, t0 time.Time, d time.Duration) {
	if left := time.Until(t0.Add(d)); left > 0 {
		wait := time.NewTimer(left) // the window's length is the measurement, not synchronisation
		<-wait.C
	}
}

// measurePath runs the load against base through five deploys (deploy(i,
// to)) and a bad release (bad), and returns one paragraph of figures.
func measurePath(t *testing.T, name, base string, deploy func(i int, to string), bad func()) string {
	t.Helper()
	l := newLoad(base, "cmp"+strconv.FormatInt(time.Now().UnixNano(), 36))
	l.start()
	warmUp(t, l, 3*time.Second)
	var deploys []window
	var took []string
	for i := 1; i <= 5; i++ {
		to := "v2"
		if i%2 == 0 {
			to = "v1"
		}
		t0 := time.Now()
		deploy(i, to)
		deploys = append(deploys, window{from: t0, to: time.Now()})
		took = append(took, fmt.Sprintf("%.1fs", time.Since(t0).Seconds()))
		warmUp(t, l, time.Second)
	}
	t0 := time.Now()
	bad()
	badWin := window{from: t0, to: time.Now()}
	warmUp(t, l, 2*time.Second)
	l.stop()

	samples := l.snapshot()
	in := func(ws ...window) func(sample) bool {
		return func(s sample) bool {
			for _, w := range ws {
				if w.holds(s) {
					return true
				}
			}
			return false
		}
	}
	d := summarise(samples, in(deploys...))
	b := summarise(samples, in(badWin))
	all := summarise(samples, func(sample) bool { return true })
	var idle, dials int64
	for _, c := range l.gets {
		idle += c.idleClosed.Load()
		dials += c.dials.Load()
	}
	return fmt.Sprintf("%s: 5 deploys (%s): %d requests, %d failed for a client that retries like Go %v, %d more lost by a client that never retries (stale keep-alive connections), %d bodies cut, p50 %s, p99 %s; "+
		"bad release (ready, 500 for everything), %.1fs: %d requests, %d GETs and %d writes failed; "+
		"whole run: %d requests, %d client connections opened, %d idle client connections closed by the proxy",
		name, strings.Join(took, ", "), d.sent, d.failed, d.byClass, d.stale, d.byClass[failTruncated], ms(d.p50), ms(d.p99),
		badWin.to.Sub(badWin.from).Seconds(), b.sent, b.failedByKind["get"], b.failed-b.failedByKind["get"],
		all.sent, dials, idle)
}

// kamalProxy is a kamal-proxy run on loopback with a state directory and
// control socket of its own.
type kamalProxy struct {
	bin string
	env []string
	url string
}

func startKamal(t *testing.T, bin string) *kamalProxy {
	t.Helper()
	dir := t.TempDir()
	port, tlsPort := testenv.FreePort(t), testenv.FreePort(t)
	k := &kamalProxy{bin: bin, url: fmt.Sprintf("http://127.0.0.1:%d", port), env: append(os.Environ(),
		"HOME="+dir, "XDG_RUNTIME_DIR="+dir, "KAMAL_PROXY_SOCKET="+filepath.Join(dir, "kamal-proxy.sock"),
		"KAMAL_PROXY_BIND=127.0.0.1")}
	cmd := exec.Command(bin, "run", "--http-port", strconv.Itoa(port), "--https-port", strconv.Itoa(tlsPort))
	cmd.Env = k.env
	log, err := os.Create(filepath.Join(dir, "kamal-proxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		log.Close()
	})
	testenv.WaitFor(t, 30*time.Second, "kamal-proxy to listen", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(k.url, "http://"), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return k
}

// deploy points the service at target: kamal-proxy health-checks it,
// switches new requests to it and drains the previous target before the
// command returns.
func (k *kamalProxy) deploy(t *testing.T, target string) {
	t.Helper()
	cmd := exec.Command(k.bin, "deploy", "mealsync", "--target", target,
		"--health-check-path", "/actuator/health/readiness")
	cmd.Env = k.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kamal-proxy deploy %s: %v\n%s", target, err, out)
	}
	resp, err := http.Get(k.url + "/actuator/health")
	if err == nil {
		resp.Body.Close()
	}
}
