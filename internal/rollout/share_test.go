package rollout

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testenv"
)

// newSharingEngine is newEngine with a driver that shares sockets, and a
// log the test can read.
func newSharingEngine(t *testing.T, w *world, store *Store, out *testenv.SyncBuffer) *Engine {
	t.Helper()
	e := newEngine(t, w, store)
	e.Driver = sharingDriver{driver{w}}
	if out != nil {
		e.Out = out
	}
	return e
}

// TestDeployOnSharedSocketsNeverReloads: with a driver that shares sockets,
// a deploy and a rollback replace every instance without touching the
// upstream, and the invariants hold (never fewer than two ready instances
// behind each address nginx knows, never more than three alive).
func TestDeployOnSharedSocketsNeverReloads(t *testing.T) {
	w := newWorld(t)
	w.scripts["v2"] = behaviour{readyAfter: 2}
	store := newStore(t)
	if err := newSharingEngine(t, w, store, nil).Deploy(context.Background(), "deploy", Release{Version: "v1"}, 2); err != nil {
		t.Fatal(err)
	}
	first := slices.Clone(w.upstream)
	applies := len(w.applies)
	w.minServing, w.maxAlive = 2, 3

	out := &testenv.SyncBuffer{}
	if err := newSharingEngine(t, w, store, out).Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0); err != nil {
		t.Fatal(err)
	}
	if n := len(w.applies) - applies; n != 0 {
		t.Errorf("%d upstream changes during the deploy, want none:\n%s", n, out)
	}
	if !slices.Equal(w.upstream, first) {
		t.Errorf("upstream %v, want the addresses of the first deploy %v", w.upstream, first)
	}
	if got := joined(w.running()); got != "v2,v2" {
		t.Errorf("running %s", got)
	}
	if !strings.Contains(out.String(), "upstream unchanged, no reload") {
		t.Errorf("the log does not say the upstream was left alone:\n%s", out)
	}
	st := checkConsistent(t, w, store, 2)
	if !sameAddrSet(st.Addrs(), first) {
		t.Errorf("state addresses %v", st.Addrs())
	}

	// A bad release is rolled back the same way.
	w.scripts["v3"] = behaviour{failAfter: 1}
	e := newSharingEngine(t, w, store, nil)
	e.Opts.Verify = time.Second
	var f *Failure
	if err := e.Deploy(context.Background(), "deploy", Release{Version: "v3"}, 0); !errors.As(err, &f) || f.Outcome != RolledBack {
		t.Fatalf("deploy of v3: %v", err)
	}
	if n := len(w.applies) - applies; n != 0 {
		t.Errorf("%d upstream changes by the rollback, want none", n)
	}
	if got := joined(w.running()); got != "v2,v2" {
		t.Errorf("running %s after the rollback", got)
	}
}

// TestVerifyJudgesAgainstTheOldInstances: the new instance is judged
// against the old ones probed at the same moments.
func TestVerifyJudgesAgainstTheOldInstances(t *testing.T) {
	cases := []struct {
		name    string
		script  behaviour
		sick    func(n int) bool // the environment's trouble, by the probes of the new instance
		trouble time.Duration    // Options.TroubleTimeout
		outcome Outcome          // "" when the deploy must succeed
		cause   []string
		log     string
	}{
		{
			name: "5xx from the new instance alone", script: behaviour{errorsFrom: 1},
			outcome: RolledBack, cause: []string{"with a 5xx status", "while the old instances answered 0 of"},
		},
		{
			name: "readiness failing with the old ones passing", script: behaviour{failAfter: 1},
			outcome: RolledBack, cause: []string{"readiness failed 3 probes in a row", "2 of the 2 old instances passed theirs"},
		},
		{
			// Every instance fails its probes and answers 5xx for a while
			// (the database slowed down for everyone), then recovers.
			name: "everyone fails for a while", sick: func(n int) bool { return n > 4 && n <= 30 },
			log: "the machine or the database is in trouble",
		},
		{
			name: "everyone keeps failing", sick: func(n int) bool { return n > 4 }, trouble: 200 * time.Millisecond,
			outcome: Aborted, cause: []string{"the old instances failed at the same moments", "the release was not judged"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			store := newStore(t)
			mustDeploy(t, w, store, "v1", 2)
			w.mu.Lock()
			w.scripts["v2"] = c.script
			w.sick = c.sick
			w.mu.Unlock()
			out := &testenv.SyncBuffer{}
			e := newSharingEngine(t, w, store, out)
			e.Opts.Verify = 200 * time.Millisecond
			e.Opts.TroubleTimeout = c.trouble
			err := e.Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0)
			if c.outcome == "" {
				if err != nil {
					t.Fatalf("deploy: %v\n%s", err, out)
				}
				if !strings.Contains(out.String(), c.log) {
					t.Errorf("the log lacks %q:\n%s", c.log, out)
				}
				if got := joined(w.running()); got != "v2,v2" {
					t.Errorf("running %s", got)
				}
				return
			}
			var f *Failure
			if !errors.As(err, &f) || f.Outcome != c.outcome || f.Step != StepVerify {
				t.Fatalf("deploy returned %v, want a %s failure in the verification window\n%s", err, c.outcome, out)
			}
			for _, want := range c.cause {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the explanation lacks %q:\n%s", want, err)
				}
			}
			if got := joined(w.running()); got != "v1,v1" {
				t.Errorf("running %s after the rollback, want v1,v1", got)
			}
			h, _ := store.History()
			if last := h[len(h)-1]; last.Outcome != c.outcome {
				t.Errorf("history records %s, want %s", last.Outcome, c.outcome)
			}
		})
	}
}

// TestVerifyKeepsWatchingPlacedInstances: a new instance that passed its
// window and turns bad while the next one is verified undoes the deploy.
func TestVerifyKeepsWatchingPlacedInstances(t *testing.T) {
	w := newWorld(t)
	store := newStore(t)
	mustDeploy(t, w, store, "v1", 2)
	// The first v2 instance fails once the second has been probed: after
	// its own window, during the second's.
	e := newSharingEngine(t, w, store, nil)
	e.Opts.Verify = 200 * time.Millisecond
	e.Driver = breakFirst{sharingDriver{driver{w}}}
	err := e.Deploy(context.Background(), "deploy", Release{Version: "v2"}, 0)
	var f *Failure
	if !errors.As(err, &f) || f.Outcome != RolledBack || f.Instance.ID != "i3" {
		t.Fatalf("deploy returned %v, want i3 blamed and the deploy rolled back", err)
	}
	if !strings.Contains(err.Error(), "had passed its own and was still watched") {
		t.Errorf("the explanation does not say i3 had passed its own window:\n%s", err)
	}
	if got := joined(w.running()); got != "v1,v1" {
		t.Errorf("running %s after the rollback, want v1,v1", got)
	}
}

// breakFirst makes the first v2 instance (i3) answer every request with a
// 5xx once the second (i4) is being probed.
type breakFirst struct{ sharingDriver }

func (d breakFirst) Probe(ctx context.Context, in Instance) Probe {
	if in.ID == "i4" {
		d.w.mu.Lock()
		if fi := d.w.inst["i3"]; fi != nil {
			fi.failing = true
		}
		d.w.mu.Unlock()
	}
	return d.sharingDriver.Probe(ctx, in)
}

// TestProcessDriverHandsTheSocketOver runs real processes: the instance
// started beside another accepts on the same socket, and while the first
// stops, no connection to the address is refused. When the holder dies,
// the address is bound again for the next one.
func TestProcessDriverHandsTheSocketOver(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "standin")
	if b, err := exec.Command(goBin(), "build", "-o", bin, "./testdata/standin").CombinedOutput(); err != nil {
		t.Fatalf("build standin: %v\n%s", err, b)
	}
	d := &Process{Store: newStore(t), StopTimeout: 20 * time.Second}
	ctx := context.Background()
	rel := Release{Version: "v1", Binary: bin}
	ready := func(in Instance, err error) Instance {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { signalGroup(in.PID, syscall.SIGKILL) })
		waitFor(t, in.ID+" to be ready", func() bool { return d.Probe(ctx, in).Health == Ready })
		return in
	}
	a := ready(d.Start(ctx, rel, "a"))
	if a.SocketInode == 0 {
		t.Fatalf("a was started without a socket of the driver's: %+v", a)
	}
	b := ready(d.StartBeside(ctx, rel, "b", a))
	if b.Addr != a.Addr || b.SocketInode != a.SocketInode || b.OpsAddr == a.OpsAddr {
		t.Fatalf("b %+v does not share a's socket %+v, or shares its ops port", b, a)
	}
	if _, err := socketFD(b.PID, a.SocketInode); err != nil {
		t.Fatalf("b does not hold a's socket: %v", err)
	}

	// Dial the address without pause while a stops: not one refusal.
	stop := make(chan struct{})
	var dials, refused int
	var dialer sync.WaitGroup
	dialer.Add(1)
	go func() {
		defer dialer.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := net.DialTimeout("tcp", a.Addr, 2*time.Second)
			dials++
			if err != nil {
				refused++
				continue
			}
			c.Close()
		}
	}()
	if err := d.Stop(ctx, a); err != nil {
		t.Fatal(err)
	}
	close(stop)
	dialer.Wait()
	if dials == 0 || refused > 0 {
		t.Errorf("%d of %d connections to %s refused while a stopped", refused, dials, a.Addr)
	}
	resp, err := http.Get("http://" + a.Addr + "/actuator/health/readiness")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the address after a stopped: %v %v", resp, err)
	}
	resp.Body.Close()

	// The holder dies: the next instance binds the address again.
	signalGroup(b.PID, syscall.SIGKILL)
	waitFor(t, "b to die", func() bool { return d.Probe(ctx, b).Health == Exited })
	c := ready(d.StartBeside(ctx, rel, "c", b))
	if c.Addr != a.Addr {
		t.Errorf("c listens on %s, want the address %s again", c.Addr, a.Addr)
	}

	// An instance that bound its own port cannot share it.
	own := Instance{ID: "old", Addr: "127.0.0.1:" + strconv.Itoa(1), PID: os.Getpid()}
	if _, err := d.StartBeside(ctx, rel, "d", own); !errors.Is(err, ErrCannotShare) {
		t.Errorf("StartBeside an instance without a shared socket: %v, want ErrCannotShare", err)
	}
}
