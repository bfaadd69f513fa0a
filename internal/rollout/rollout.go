// Package rollout replaces the running MealSync instances behind nginx with a
// new release without losing a request, and undoes the change when the new
// release misbehaves.
//
// One Engine drives every deploy, rollback and scale, whatever runs the
// instances: a Driver starts, probes and stops them (plain processes on a VPS,
// or Docker Compose containers), and a Proxy puts them into and out of the
// nginx upstream. For each instance in turn the engine starts a new one,
// waits until its readiness endpoint says UP, puts it in service, verifies it
// against the old instances for a window (verify.go), then stops the old one,
// which finishes what it holds. A driver that can share sockets (the process
// driver, SocketSharer) starts the new instance on the old one's listening
// socket, so both serve one address and the upstream, and nginx, are left
// alone; otherwise the new address is added to the upstream and the old one
// removed, each with a reload. There are never fewer than N ready instances
// in service and never more than N+1 started (max unavailable 0, max surge 1).
//
// Everything the engine does is written ahead to a state directory (Store),
// so a CLI killed mid-deploy leaves enough behind for the next command to
// reconcile: see Recover. A write that fails stops the step it was to
// record; one that fails while a failure is undone is reported with it.
//
// Around the engine it holds what a deploy command needs besides flags:
// turning what the operator names into a Release (release.go), opening a
// state directory for a command (session.go) and the status report
// (status.go), so that cmd/mealsyncctl only reads flags and prints.
//
// This package must not import the server's packages (api, sqldb, config):
// it talks to instances only over HTTP and through their process or
// container, like an operator would.
package rollout

import (
	"context"
	"errors"
	"time"
)

// Release is what a deploy puts into service: a binary and its environment
// file for the process driver, an image tag for the compose driver.
type Release struct {
	Version string `json:"version"`            // what `mealsync version` or the tag says
	Binary  string `json:"binary,omitempty"`   // process driver: absolute path of the mealsync binary
	EnvFile string `json:"env_file,omitempty"` // process driver: KEY=VALUE lines for the instances
	Dir     string `json:"dir,omitempty"`      // process driver: the instances' working directory
	Tag     string `json:"tag,omitempty"`      // compose driver: the image tag (MEALSYNC_TAG)
}

// String names the release for people.
func (r Release) String() string {
	if r.Version == "" {
		return "(none)"
	}
	return r.Version
}

// Role is where an instance stands in the rollout; it is saved before every
// step that changes it, so recovery knows what the killed CLI was doing.
type Role string

const (
	RoleStarting  Role = "starting"  // started, not yet in the upstream
	RoleVerifying Role = "verifying" // in the upstream, verification window not over
	RoleServing   Role = "serving"   // in the upstream, verified
	RoleDraining  Role = "draining"  // out of the upstream, being stopped
)

// Instance is one running copy of a release.
type Instance struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Role    Role   `json:"role"`
	Addr    string `json:"addr,omitempty"` // host:port as written into the upstream
	// OpsAddr is the instance's ops listener (MEALSYNC_OPS_ADDR): metrics
	// and build info. Monitoring reads it; nginx never sees it. Empty for an
	// instance recorded before there was one.
	OpsAddr string `json:"ops_addr,omitempty"`
	// SocketInode identifies the listening socket the process driver
	// created for Addr and passed to the instance (socket activation): a
	// later deploy hands the same socket to the instance that replaces
	// this one, so Addr, and the upstream, never change. 0: the instance
	// bound its own port (older state, or the compose driver).
	SocketInode uint64    `json:"socket_inode,omitempty"`
	PID         int       `json:"pid,omitempty"`         // process driver
	StartTicks  uint64    `json:"start_ticks,omitempty"` // process driver: /proc start time, guards against PID reuse
	Container   string    `json:"container,omitempty"`   // compose driver
	Log         string    `json:"log,omitempty"`         // process driver: the instance's stdout and stderr
	Started     time.Time `json:"started"`
	// Stopping is when a command first asked the instance to stop. A later
	// Stop (recovery after that command was killed) must not signal it
	// again: the app takes a second SIGTERM as "quit now", which would cut
	// off the requests it is finishing.
	Stopping time.Time `json:"stopping,omitzero"`
}

// Name is how messages refer to the instance: its id and where it runs.
func (in Instance) Name() string {
	s := in.ID
	switch {
	case in.PID != 0:
		s += " (pid " + itoa(in.PID)
	case in.Container != "":
		s += " (container " + short(in.Container)
	default:
		return s
	}
	if in.Addr != "" {
		s += ", " + in.Addr
	}
	return s + ")"
}

// Health is what one probe of an instance found.
type Health int

const (
	NotReady Health = iota // alive, readiness not UP (yet)
	Ready                  // readiness UP
	Exited                 // the process or container is gone: the instance is dead
)

func (h Health) String() string {
	switch h {
	case Ready:
		return "ready"
	case Exited:
		return "dead"
	}
	return "not ready"
}

// Probe is one readiness check's result; Detail says why it is not Ready.
type Probe struct {
	Health Health
	Detail string
	// Counted says the driver also read the instance's own request
	// counters at that moment: Answered requests so far, Failed of them
	// with a 5xx status (the probes themselves left out). Verification
	// compares their increase with the other instances'.
	Counted          bool
	Answered, Failed float64
}

// SocketSharer is a Driver that can start an instance on the listening
// socket of one that runs (socket activation, as systemd passes sockets):
// both accept on it until the old one stops, the address never changes,
// and nginx needs no reload. StartBeside returns an error wrapping
// ErrCannotShare when it cannot reach that socket; the engine then starts
// the instance on an address of its own, as drivers without sharing do.
type SocketSharer interface {
	StartBeside(ctx context.Context, rel Release, id string, old Instance) (Instance, error)
}

// ErrCannotShare: the old instance's socket cannot be handed over.
var ErrCannotShare = errors.New("cannot share the listening socket")

// Driver runs instances. Every method must be safe to call on an instance a
// previous, killed CLI started: everything it needs is in the Instance.
type Driver interface {
	// Start starts a new instance of rel, labelled id, and returns it with
	// its address filled in. It does not wait for readiness.
	Start(ctx context.Context, rel Release, id string) (Instance, error)
	// Probe checks once whether the instance is alive and ready.
	Probe(ctx context.Context, in Instance) Probe
	// Stop asks the instance to shut down gracefully, waits until it has
	// exited (killing it after the driver's stop timeout) and removes it.
	// When in.Stopping is set an earlier command already asked: Stop only
	// waits for what is left of the timeout, then kills.
	Stop(ctx context.Context, in Instance) error
	// Logs returns up to n of the instance's last log lines.
	Logs(ctx context.Context, in Instance, n int) []string
	// Strays stops instances this state directory started but no longer
	// records (a CLI killed between starting one and saving it), keeping
	// those in known; it returns what it stopped.
	Strays(ctx context.Context, known []Instance) ([]string, error)
}

// Adopter is a Driver that can find instances it did not start, such as
// containers `docker compose up` created before the first deploy, and the
// release they run when it can tell.
type Adopter interface {
	Adopt(ctx context.Context) ([]Instance, *Release, error)
}

// Proxy is the load balancer in front of the instances.
type Proxy interface {
	// Apply makes the proxy send traffic to exactly addrs: write the config
	// atomically, test it, reload. If the test fails the previous config is
	// restored and the error is a *ConfigRejectedError.
	Apply(ctx context.Context, addrs []string) error
	// Servers reads the addresses the config currently names.
	Servers() ([]string, error)
}

// ConfigRejectedError is nginx refusing a config: the previous file is back.
type ConfigRejectedError struct {
	Output string // what `nginx -t` said
}

func (e *ConfigRejectedError) Error() string {
	return "nginx rejected the new upstream (previous config restored): " + e.Output
}

// ErrLocked is returned when another mealsyncctl holds the state directory.
var ErrLocked = errors.New("another mealsyncctl is running on this state directory")
