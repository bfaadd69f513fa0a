package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The state directory's files. Each is replaced atomically (WriteFileAtomic).
const (
	stateFile   = "state.json"   // the current release, the instances, the operation in progress
	historyFile = "history.json" // every deploy, rollback and scale, newest last
	metricsFile = "metrics.prom" // Prometheus textfile-collector metrics
	lockFile    = "lock"         // flock(2)ed while a mutating command runs
	logsDir     = "logs"         // process driver: one log file per instance
	pidsDir     = "pids"         // process driver: each instance's pid and start time (identity.go)
)

// State is everything mealsyncctl knows between commands.
type State struct {
	// Settings are the driver and nginx options of the first deploy, so
	// later commands need no flags to find them again.
	Settings Settings `json:"settings"`
	// Desired is how many instances should serve.
	Desired int `json:"desired"`
	// Current is the release the last successful deploy put into service;
	// Previous the good release before it (what `rollback` redeploys).
	Current  *Release `json:"current,omitempty"`
	Previous *Release `json:"previous,omitempty"`
	// Instances are every instance mealsyncctl started and has not yet
	// stopped, whatever their Role.
	Instances []Instance `json:"instances"`
	// Op is the operation in progress; non-nil after a command was killed.
	Op *Operation `json:"op,omitempty"`
	// Seq numbers instance ids.
	Seq int `json:"seq"`
	// Stats feed metrics.prom.
	Stats Stats `json:"stats"`
}

// Settings are the options a command was run with, remembered for the next.
type Settings struct {
	Driver       string `json:"driver,omitempty"`
	UpstreamFile string `json:"upstream_file,omitempty"`
	UpstreamName string `json:"upstream_name,omitempty"`
	NginxConf    string `json:"nginx_conf,omitempty"`
	NginxPrefix  string `json:"nginx_prefix,omitempty"`
	NginxBin     string `json:"nginx_bin,omitempty"`
	ComposeFile  string `json:"compose_file,omitempty"`
	Service      string `json:"service,omitempty"`
	NginxService string `json:"nginx_service,omitempty"`
	AppPort      int    `json:"app_port,omitempty"`
	OpsPort      int    `json:"ops_port,omitempty"`
	BindHost     string `json:"bind_host,omitempty"`
}

// Operation is the journal of a deploy, rollback or scale in progress.
type Operation struct {
	Kind    string    `json:"kind"` // deploy, rollback, scale
	Target  Release   `json:"target"`
	From    *Release  `json:"from,omitempty"`
	Desired int       `json:"desired"`
	Step    string    `json:"step"` // what it was doing, for people and for tests
	PID     int       `json:"pid"`  // the CLI's process
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// Stats are the counters and gauges of metrics.prom; counters live here,
// not in the (trimmed) history, so they never go down.
type Stats struct {
	Deploys      map[Outcome]int       `json:"deploys,omitempty"`
	LastByResult map[Outcome]time.Time `json:"last_by_outcome,omitempty"`
	LastDuration float64               `json:"last_duration_seconds,omitempty"`
}

// Serving returns the instances in the upstream (serving or verifying).
func (s *State) Serving() []Instance {
	var out []Instance
	for _, in := range s.Instances {
		if in.Role == RoleServing || in.Role == RoleVerifying {
			out = append(out, in)
		}
	}
	return out
}

// Addrs returns the upstream addresses of the serving instances, each once:
// an instance started on its predecessor's socket shares its address.
func (s *State) Addrs() []string {
	var out []string
	for _, in := range s.Serving() {
		if !slices.Contains(out, in.Addr) {
			out = append(out, in.Addr)
		}
	}
	return out
}

func (s *State) put(in Instance) {
	for i := range s.Instances {
		if s.Instances[i].ID == in.ID {
			s.Instances[i] = in
			return
		}
	}
	s.Instances = append(s.Instances, in)
}

func (s *State) setRole(id string, r Role) {
	for i := range s.Instances {
		if s.Instances[i].ID == id {
			s.Instances[i].Role = r
		}
	}
}

// setStopping records when a command asked the instance to stop (zero:
// not asked), keeping the first such time.
func (s *State) setStopping(id string, t time.Time) {
	for i := range s.Instances {
		if s.Instances[i].ID == id && (t.IsZero() || s.Instances[i].Stopping.IsZero()) {
			s.Instances[i].Stopping = t
		}
	}
}

// promote makes rel the current release, and the one it replaces, if
// another, the previous one (what rollback redeploys).
func (s *State) promote(rel Release) {
	if s.Current != nil && *s.Current != rel {
		prev := *s.Current
		s.Previous = &prev
	}
	s.Current = &rel
}

func (s *State) remove(id string) {
	out := s.Instances[:0]
	for _, in := range s.Instances {
		if in.ID != id {
			out = append(out, in)
		}
	}
	s.Instances = out
}

func (s *State) nextID() string {
	s.Seq++
	return fmt.Sprintf("i%d", s.Seq)
}

// Store is a state directory.
type Store struct {
	Dir string
}

// NewStore creates dir (and its logs folder) if needed.
func NewStore(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(abs, logsDir), 0o750); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	return &Store{Dir: abs}, nil
}

// Path returns a file's path in the state directory.
func (s *Store) Path(name string) string { return filepath.Join(s.Dir, name) }

// LogPath is where the process driver writes an instance's output.
func (s *Store) LogPath(id string) string { return filepath.Join(s.Dir, logsDir, id+".log") }

// Load reads the state; a missing file is an empty state.
func (s *Store) Load() (*State, error) {
	st := &State{}
	b, err := os.ReadFile(s.Path(stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path(stateFile), err)
	}
	return st, nil
}

// Save writes the state atomically.
func (s *Store) Save(st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.Path(stateFile), append(b, '\n'), 0o640)
}
