package rollout

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// behaviour scripts a fake instance by its release's version.
type behaviour struct {
	readyAfter int  // NotReady probes before the first Ready
	never      bool // never ready
	exitEarly  bool // exits before it is ready
	failAfter  int  // after this many Ready probes, NotReady for good (0: never)
	exitAfter  int  // after this many Ready probes, exits (0: never)
	startFails bool // Start returns an error
	fromNth    int  // the script applies from the n-th instance of the version on (0, 1: all)
	errorsFrom int  // after this many Ready probes, every request it answers is a 5xx (0: never)
}

// Every probe of a live instance finds it answered this many more
// requests since the last one (its counters, as the process driver reads
// them from /actuator/prometheus).
const requestsPerProbe = 10

type fakeInstance struct {
	in               Instance
	nth              int // 1 for the version's first instance
	probes           int
	ready            int // Ready answers given
	exited           bool
	stopped          bool
	signals          int     // Stop calls that would send SIGTERM
	answered, failed float64 // its request counters
	failing          bool    // set by a test: every request it answers is a 5xx
}

// world is the fake machine: instances started by any engine, and an nginx
// whose config the fake proxy writes. It checks the rollout's invariants as
// they happen and reports violations through t.
type world struct {
	t          *testing.T
	mu         sync.Mutex
	scripts    map[string]behaviour
	inst       map[string]*fakeInstance
	port       int
	upstream   []string   // what nginx serves now
	applies    [][]string // every upstream applied
	reject     func(addrs []string) bool
	calls      int
	killAt     int           // block the calling goroutine for good at this call (0: never)
	killed     chan struct{} // closed when it happens
	minServing int           // the invariant: every applied upstream has at least this many
	maxAlive   int           // and never more than this many instances alive
	// sick says whether the environment is in trouble (the database slow
	// for everyone) once the first new instance, i3, has been probed n
	// times: then every instance answers NotReady, and 5xx for its requests.
	sick func(n int) bool
	// onCall is called at every counted call, with its number.
	onCall func(n int)
	// unsaved: the state directory cannot be written (a test broke it).
	// Nothing may then be started or stopped: the journal could not say so.
	unsaved bool
}

func newWorld(t *testing.T) *world {
	return &world{t: t, scripts: map[string]behaviour{}, inst: map[string]*fakeInstance{}, port: 40000, killed: make(chan struct{})}
}

// call counts a driver or proxy call that changes something and, at killAt, stops the calling
// goroutine where it stands, as SIGKILL would stop the CLI.
func (w *world) call() {
	w.calls++
	if w.onCall != nil {
		w.onCall(w.calls)
	}
	if w.killAt != 0 && w.calls == w.killAt {
		close(w.killed)
		runtime.Goexit() // the caller's deferred Unlock still runs

	}
}

func (w *world) alive() int {
	n := 0
	for _, fi := range w.inst {
		if !fi.exited && !fi.stopped {
			n++
		}
	}
	return n
}

func (w *world) byAddr(addr string) *fakeInstance {
	for _, fi := range w.inst {
		if fi.in.Addr == addr && !fi.exited && !fi.stopped {
			return fi
		}
	}
	for _, fi := range w.inst {
		if fi.in.Addr == addr {
			return fi
		}
	}
	return nil
}

// readyAt: a live instance that has answered ready listens on addr.
func (w *world) readyAt(addr string) bool {
	for _, fi := range w.inst {
		if fi.in.Addr == addr && !fi.exited && !fi.stopped && fi.ready > 0 {
			return true
		}
	}
	return false
}

// heldByAnother: another live, ready instance shares in's socket, so
// stopping in takes nothing from nginx.
func (w *world) heldByAnother(in Instance) bool {
	for id, fi := range w.inst {
		if id != in.ID && fi.in.Addr == in.Addr && !fi.exited && !fi.stopped && fi.ready > 0 {
			return true
		}
	}
	return false
}

// driver is the fake Driver over w.
type driver struct{ w *world }

func (d driver) Start(ctx context.Context, rel Release, id string) (Instance, error) {
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unsaved {
		w.t.Errorf("%s started while the state directory could not record it", id)
	}
	w.call() // killed before the process exists
	b := w.scripts[rel.Version]
	if b.startFails {
		return Instance{ID: id}, errors.New("exec: no such file")
	}
	w.port++
	in := Instance{ID: id, Version: rel.Version, Addr: fmt.Sprintf("127.0.0.1:%d", w.port), PID: w.port}
	nth := 1
	for _, fi := range w.inst {
		if fi.in.Version == rel.Version {
			nth++
		}
	}
	w.inst[id] = &fakeInstance{in: in, nth: nth}
	if w.maxAlive > 0 && w.alive() > w.maxAlive {
		w.t.Errorf("max surge broken: %d instances alive, at most %d allowed", w.alive(), w.maxAlive)
	}
	w.call() // killed after it exists, before the CLI recorded it
	return in, nil
}

func (d driver) Probe(ctx context.Context, in Instance) Probe {
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	// Not a kill point: how many probes a window makes depends on timing,
	// and a kill while probing equals one just before the next Apply.
	fi := w.inst[in.ID]
	if fi == nil || fi.exited || fi.stopped {
		return Probe{Health: Exited, Detail: "exit status 1"}
	}
	b := w.scripts[in.Version]
	if fi.nth < b.fromNth {
		b = behaviour{}
	}
	fi.probes++
	if i3 := w.inst["i3"]; w.sick != nil && i3 != nil && w.sick(i3.probes) {
		fi.answered += requestsPerProbe
		fi.failed += requestsPerProbe
		return Probe{Health: NotReady, Detail: "readiness answered 503 Service Unavailable", Counted: true, Answered: fi.answered, Failed: fi.failed}
	}
	fi.answered += requestsPerProbe
	if b.errorsFrom > 0 && fi.ready >= b.errorsFrom || fi.failing {
		fi.failed += requestsPerProbe
	}
	counted := func(p Probe) Probe {
		p.Counted, p.Answered, p.Failed = true, fi.answered, fi.failed
		return p
	}
	switch {
	case b.exitEarly:
		fi.exited = true
		return Probe{Health: Exited, Detail: "exit status 1"}
	case b.never || fi.probes <= b.readyAfter:
		return counted(Probe{Health: NotReady, Detail: "readiness answered 503 Service Unavailable"})
	case b.exitAfter > 0 && fi.ready >= b.exitAfter:
		fi.exited = true
		return Probe{Health: Exited, Detail: "exit status 2"}
	case b.failAfter > 0 && fi.ready >= b.failAfter:
		return counted(Probe{Health: NotReady, Detail: "readiness answered 503 Service Unavailable"})
	}
	fi.ready++
	return counted(Probe{Health: Ready})
}

func (d driver) Stop(ctx context.Context, in Instance) error {
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.unsaved {
		w.t.Errorf("%s stopped while the state directory could not record it", in.ID)
	}
	w.call()
	fi := w.inst[in.ID]
	if fi == nil {
		return nil
	}
	if in.Stopping.IsZero() {
		fi.signals++
		if fi.signals > 1 {
			w.t.Errorf("%s was asked to stop twice: the app takes a second SIGTERM as \"quit now\"", in.ID)
		}
	}
	if !fi.exited && slices.Contains(w.upstream, in.Addr) && !w.heldByAnother(in) {
		w.t.Errorf("%s stopped while nginx still sends it traffic (upstream %v)", in.ID, w.upstream)
	}
	fi.stopped = true
	return nil
}

func (d driver) Logs(ctx context.Context, in Instance, n int) []string {
	return []string{fmt.Sprintf(`{"msg":"starting","instance":%q}`, in.ID), fmt.Sprintf(`{"msg":"last words of %s"}`, in.ID)}
}

func (d driver) Strays(ctx context.Context, known []Instance) ([]string, error) {
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for id, fi := range w.inst {
		if fi.exited || fi.stopped || slices.ContainsFunc(known, func(k Instance) bool { return k.ID == id }) {
			continue
		}
		if slices.Contains(w.upstream, fi.in.Addr) {
			w.t.Errorf("stray %s stopped while in the upstream", id)
		}
		fi.stopped = true
		out = append(out, id)
	}
	return out, nil
}

// sharingDriver is driver plus socket sharing, as the process driver
// does: StartBeside gives the new instance old's address.
type sharingDriver struct{ driver }

var _ SocketSharer = sharingDriver{}

func (d sharingDriver) StartBeside(ctx context.Context, rel Release, id string, old Instance) (Instance, error) {
	in, err := d.Start(ctx, rel, id)
	if err != nil {
		return in, err
	}
	w := d.w
	w.mu.Lock()
	defer w.mu.Unlock()
	in.Addr = old.Addr
	w.inst[id].in.Addr = old.Addr
	return in, nil
}

// proxy is the fake Proxy over w.
type proxy struct{ w *world }

func (p proxy) Apply(ctx context.Context, addrs []string) error {
	w := p.w
	w.mu.Lock()
	defer w.mu.Unlock()
	w.call()
	if w.reject != nil && w.reject(addrs) {
		return &ConfigRejectedError{Output: `nginx: [emerg] invalid port in upstream`}
	}
	for _, a := range addrs {
		if !w.readyAt(a) {
			w.t.Errorf("upstream %v names %s, where no live instance ever answered ready", addrs, a)
		}
	}
	if len(addrs) < w.minServing {
		w.t.Errorf("upstream %v has fewer than %d instances", addrs, w.minServing)
	}
	w.upstream = slices.Clone(addrs)
	w.applies = append(w.applies, w.upstream)
	w.call() // killed after nginx reloaded, before the CLI saved that
	return nil
}

func (p proxy) Servers() ([]string, error) {
	p.w.mu.Lock()
	defer p.w.mu.Unlock()
	return slices.Clone(p.w.upstream), nil
}

// running returns the versions of the instances alive, sorted.
func (w *world) running() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, fi := range w.inst {
		if !fi.exited && !fi.stopped {
			out = append(out, fi.in.Version)
		}
	}
	slices.Sort(out)
	return out
}

func (w *world) servingVersions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, a := range w.upstream {
		if fi := w.byAddr(a); fi != nil {
			out = append(out, fi.in.Version)
		}
	}
	slices.Sort(out)
	return out
}

func joined(ss []string) string { return strings.Join(ss, ",") }
