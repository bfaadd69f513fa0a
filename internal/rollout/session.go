package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Setup is how a command reaches a state directory and the instances: what
// it was run with.
type Setup struct {
	Dir string // the state directory
	// Settings turns the settings the state directory recorded into the
	// ones this command uses (its command line's over the recorded ones);
	// nil keeps the recorded ones. Its error is returned as it is.
	Settings    func(recorded Settings) (Settings, error)
	StopTimeout time.Duration // how long a stopping instance may take before it is killed
	BaseEnv     []string      // process driver: what instances inherit from the command (PassEnv)
	Gate        Options       // the gate of every new instance
	Out         io.Writer     // progress, one line per step
}

// ErrNothingDeployed: the state directory holds no state.
var ErrNothingDeployed = errors.New("nothing deployed yet")

// Look opens the state directory to read it, as status and repair
// --dry-run do: no lock, nothing created. Its error wraps
// ErrNothingDeployed when the directory holds no state.
func Look(s Setup) (*Engine, error) {
	abs, err := filepath.Abs(s.Dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, stateFile)); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no state in %s", ErrNothingDeployed, abs)
	}
	return s.engine(&Store{Dir: abs})
}

// engine loads the store's state, settles its settings and builds the
// engine they describe.
func (s Setup) engine(store *Store) (*Engine, error) {
	st, err := store.Load()
	if err != nil {
		return nil, err
	}
	if s.Settings != nil {
		if st.Settings, err = s.Settings(st.Settings); err != nil {
			return nil, err
		}
	}
	driver, proxy := s.build(store, st.Settings)
	return &Engine{Store: store, State: st, Driver: driver, Proxy: proxy, Opts: s.Gate, Out: s.Out}, nil
}

// build returns the driver and the proxy the settings describe.
func (s Setup) build(store *Store, set Settings) (Driver, Proxy) {
	up := &Upstream{File: set.UpstreamFile, Name: set.UpstreamName}
	if set.Driver == "compose" {
		up.Nginx = ComposeNginx{Docker: "docker", ComposeFile: set.ComposeFile, Service: set.NginxService}
		return &Compose{
			Docker: "docker", ComposeFile: set.ComposeFile, Service: set.Service,
			AppPort: set.AppPort, OpsPort: set.OpsPort, StopTimeout: s.StopTimeout,
		}, up
	}
	up.Nginx = LocalNginx{Bin: set.NginxBin, Conf: set.NginxConf, Prefix: set.NginxPrefix}
	return &Process{Store: store, BindHost: set.BindHost, StopTimeout: s.StopTimeout, BaseEnv: s.BaseEnv}, up
}

// Describe names the driver and where it runs, for people.
func (s Settings) Describe() string {
	if s.Driver == "compose" {
		return fmt.Sprintf("compose (%s, service %s, nginx service %s)", s.ComposeFile, s.Service, s.NginxService)
	}
	conf := s.NginxConf
	if conf == "" {
		conf = "nginx's default config"
	}
	return fmt.Sprintf("process (instances on %s, nginx %s)", s.BindHost, conf)
}

// Session is a command that changes something, from taking the state
// directory's lock (Open) to letting go of it (Close). Between the two it
// runs Reconcile, then the engine's work.
type Session struct {
	Engine *Engine
	lock   *Lock
}

// Open creates the state directory if needed, takes its lock for command
// (the error wraps ErrLocked while another command holds it), loads the
// state and builds the engine the settings describe. The settings go into
// the state, saved with its next change.
func Open(s Setup, command string) (*Session, error) {
	store, err := NewStore(s.Dir)
	if err != nil {
		return nil, err
	}
	lock, err := store.Lock(command)
	if err != nil {
		return nil, err
	}
	eng, err := s.engine(store)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	return &Session{Engine: eng, lock: lock}, nil
}

// Reconcile readies the state directory for the command's own work: it
// reconciles whatever an interrupted command left (Recover) and adopts
// instances started outside this tool (Adopt).
func (s *Session) Reconcile(ctx context.Context) error {
	if err := s.Engine.Recover(ctx); err != nil {
		return err
	}
	return s.Engine.Adopt(ctx)
}

// Close writes metrics.prom from the state as the command leaves it,
// whatever the outcome, and releases the lock. The error is metrics.prom's.
func (s *Session) Close() error {
	err := s.Engine.Store.WriteMetrics(s.Engine.State)
	s.lock.Unlock()
	if err != nil {
		return fmt.Errorf("writing metrics.prom: %w", err)
	}
	return nil
}
