package rollout

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The compose driver needs a Docker engine, which these machines lack. Its
// tests run it against testdata/fakedocker, put on PATH as `docker`: a
// program that keeps containers in a JSON file, records every call, and
// answers ps, up --scale, inspect --format (real Go templates), exec,
// stop, rm and logs the way Docker does. What they prove is the driver's
// side of the conversation; that Docker answers the same way is proven
// only where Docker runs.

// fakeDocker builds fakedocker as `docker` into a directory put first on
// PATH, and points it at a fresh state directory, which it returns.
func fakeDocker(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	out := filepath.Join(bin, "docker")
	cmd := exec.Command(goBin(), "build", "-o", out, "./testdata/fakedocker")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fakedocker: %v\n%s", err, b)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	state := t.TempDir()
	t.Setenv("FAKE_DOCKER_DIR", state)
	return state
}

func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// dockerCalls returns the calls fakedocker recorded, one per line.
func dockerCalls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// composeRig is a compose deployment with two v1 containers started by
// `docker compose up` before mealsyncctl's first deploy.
type composeRig struct {
	docker   string // fakedocker's state directory
	compose  string // the compose file's path
	upstream string // the upstream file
	store    *Store
}

func newComposeRig(t *testing.T) *composeRig {
	t.Helper()
	r := &composeRig{docker: fakeDocker(t)}
	dir := t.TempDir()
	r.compose = filepath.Join(dir, "docker-compose.prod.yml")
	os.WriteFile(r.compose, []byte("services: {}\n"), 0o644) // fakedocker does not read it
	// The repository's upstream.conf, as the nginx container mounts it.
	src, err := os.ReadFile("../../nginx/upstream.conf")
	if err != nil {
		t.Fatal(err)
	}
	r.upstream = filepath.Join(dir, "upstream.conf")
	os.WriteFile(r.upstream, src, 0o644)
	r.store = newStore(t)
	up := exec.Command("docker", "compose", "-f", r.compose, "up", "-d", "--no-deps", "--no-recreate", "--scale", "app=2", "app")
	up.Env = append(os.Environ(), "MEALSYNC_TAG=v1")
	if b, err := up.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return r
}

func (r *composeRig) engine(t *testing.T) *Engine {
	t.Helper()
	st, err := r.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	out := os.Stderr
	if !testing.Verbose() {
		out, _ = os.Open(os.DevNull)
	}
	return &Engine{
		Store: r.store, State: st, Out: out,
		Driver: &Compose{Docker: "docker", ComposeFile: r.compose, Service: "app", AppPort: 8081, StopTimeout: 45 * time.Second},
		Proxy: &Upstream{File: r.upstream, Name: DefaultUpstreamName,
			Nginx: ComposeNginx{Docker: "docker", ComposeFile: r.compose, Service: "nginx"}},
		Opts: Options{ReadyTimeout: 2 * time.Second, Verify: 600 * time.Millisecond, Poll: 50 * time.Millisecond},
	}
}

func TestComposeDeploy(t *testing.T) {
	r := newComposeRig(t)
	e := r.engine(t)
	if err := e.Adopt(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(e.State.Instances) != 2 || e.State.Current == nil || e.State.Current.Version != "v1" {
		t.Fatalf("adopted %+v, current %v", e.State.Instances, e.State.Current)
	}
	checkOpsAddrs(t, e.State.Instances)
	old := []string{e.State.Instances[0].Container, e.State.Instances[1].Container}
	mark := len(dockerCalls(t, r.docker))

	if err := e.Deploy(context.Background(), "deploy", Release{Version: "v2", Tag: "v2"}, 0); err != nil {
		t.Fatal(err)
	}
	calls := dockerCalls(t, r.docker)[mark:]

	// Two containers of v2, at their IPs on the app's port, in the upstream,
	// which keeps the repository file's directives and server parameters.
	st, _ := r.store.Load()
	servers, _ := (&Upstream{File: r.upstream}).Servers()
	if len(st.Instances) != 2 || !sameAddrs(servers, st.Addrs()) {
		t.Fatalf("instances %+v, upstream %v", st.Instances, servers)
	}
	checkOpsAddrs(t, st.Instances)
	conf, _ := os.ReadFile(r.upstream)
	for _, want := range []string{"least_conn;", "keepalive 32;", st.Instances[0].Addr + " max_fails=1 fail_timeout=1s;", st.Instances[0].Addr + " backup max_fails=0;", ":8081 "} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("upstream.conf lacks %q:\n%s", want, conf)
		}
	}
	// The old model's commands, in a safe order.
	for i, want := range []string{
		"MEALSYNC_TAG=v2 compose -f " + r.compose + " up -d --no-deps --no-recreate --scale app=3 app",
		"stop -t 45 " + old[0],
		"rm " + old[0],
		"MEALSYNC_TAG=v2 compose -f " + r.compose + " up -d --no-deps --no-recreate --scale app=3 app",
		"stop -t 45 " + old[1],
		"rm " + old[1],
	} {
		if !slices.Contains(calls, want) {
			t.Errorf("call %d missing: %q", i, want)
		}
	}
	reloads := 0
	for i, c := range calls {
		if strings.HasSuffix(c, "exec -T nginx nginx -s reload") {
			reloads++
			if i == 0 || !strings.HasSuffix(calls[i-1], "exec -T nginx nginx -t -q") {
				t.Errorf("reload %d was not right after nginx -t: %q", reloads, calls[max(i-1, 0)])
			}
		}
		if strings.HasPrefix(c, "stop ") {
			// The reload that took it out of the upstream came first.
			if !slices.ContainsFunc(calls[:i], func(p string) bool { return strings.HasSuffix(p, "nginx -s reload") }) {
				t.Errorf("%q before any reload", c)
			}
		}
	}
	if reloads != 4 {
		t.Errorf("%d reloads, want 4 (add and remove, twice)", reloads)
	}
	if st.Current.Version != "v2" || st.Previous.Version != "v1" {
		t.Errorf("current %v previous %v", st.Current, st.Previous)
	}
}

func TestComposeRollsBack(t *testing.T) {
	cases := []struct {
		tag, step, log string
		reject         bool
	}{
		{"v2-never", StepReady, "database: connection refused", false},
		{"v2-crash", StepVerify, "database: connection refused", false},
		{"v2", StepAdd, `"image":"mealsync:v2"`, true},
	}
	for _, c := range cases {
		t.Run(c.tag+"/"+c.step, func(t *testing.T) {
			r := newComposeRig(t)
			e := r.engine(t)
			if err := e.Adopt(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := e.Deploy(context.Background(), "deploy", Release{Version: "v1b", Tag: "v1b"}, 0); err != nil {
				t.Fatal(err)
			}
			goodConf, _ := os.ReadFile(r.upstream)
			if c.reject {
				os.WriteFile(filepath.Join(r.docker, "nginx-reject"), nil, 0o644)
			}
			e = r.engine(t)
			err := e.Deploy(context.Background(), "deploy", Release{Version: c.tag, Tag: c.tag}, 0)
			var f *Failure
			if !errors.As(err, &f) || f.Step != c.step || f.Outcome != RolledBack {
				t.Fatalf("deploy %s: %v", c.tag, err)
			}
			if !strings.Contains(err.Error(), c.log) || !strings.Contains(err.Error(), "container ") {
				t.Errorf("explanation lacks the container or its log line %q:\n%s", c.log, err)
			}
			conf, _ := os.ReadFile(r.upstream)
			if string(conf) != string(goodConf) {
				t.Errorf("upstream.conf is not the last good one:\n%s\nwant:\n%s", conf, goodConf)
			}
			calls := dockerCalls(t, r.docker)
			failed := f.Instance.Container
			if !slices.Contains(calls, "stop -t 45 "+failed) || !slices.Contains(calls, "rm "+failed) {
				t.Errorf("the failed container %s was not stopped and removed", short(failed))
			}
			ps := exec.Command("docker", "compose", "-f", r.compose, "ps", "-q", "app")
			out, _ := ps.Output()
			st, _ := r.store.Load()
			running := strings.Fields(string(out))
			if len(running) != 2 || len(st.Instances) != 2 || st.Current.Version != "v1b" {
				t.Errorf("after the rollback: running %v, recorded %+v, current %v", running, st.Instances, st.Current)
			}
		})
	}
}

// checkOpsAddrs: every container's ops listener is recorded at its own
// address on the ops port (9081 unless told), for monitor and Prometheus.
func checkOpsAddrs(t *testing.T, ins []Instance) {
	t.Helper()
	for _, in := range ins {
		host, port, err := net.SplitHostPort(in.Addr)
		if err != nil || port != "8081" || in.OpsAddr != net.JoinHostPort(host, "9081") {
			t.Errorf("instance %s: addr %q, ops addr %q; want the container's IP on 8081 and 9081", in.ID, in.Addr, in.OpsAddr)
		}
	}
}

func sameAddrs(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
