package rollout

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Status is what `mealsyncctl status` reports; its JSON is `status --json`.
type Status struct {
	StateDir    string           `json:"state_dir"`
	Driver      string           `json:"driver"`
	Current     *Release         `json:"current,omitempty"`
	Previous    *Release         `json:"previous,omitempty"`
	Desired     int              `json:"desired"`
	Instances   []InstanceStatus `json:"instances"`
	Upstream    UpstreamStatus   `json:"upstream"`
	Interrupted *Operation       `json:"interrupted,omitempty"` // a killed command's operation
	InProgress  *Operation       `json:"in_progress,omitempty"` // a running command's operation
	LockHolder  string           `json:"lock_holder,omitempty"`
	LastDeploy  *Entry           `json:"last_deploy,omitempty"`
	Consistent  bool             `json:"consistent"` // no operation pending, upstream matches, every serving instance ready, as many as wanted, no stray
	Problems    []string         `json:"problems,omitempty"`
	Strays      []string         `json:"strays,omitempty"` // running instances this state directory started and does not record
	Remedy      string           `json:"remedy,omitempty"` // the command that fixes the problems
	// Deployed is false when the state directory holds no state.
	Deployed bool `json:"-"`
	// Warnings are what went wrong beside the report (metrics.prom could
	// not be written), for the command's error output.
	Warnings []string `json:"-"`
}

// InstanceStatus is a recorded instance and what a probe found now.
type InstanceStatus struct {
	Instance
	Health     string `json:"health"`
	Detail     string `json:"detail,omitempty"`
	InUpstream bool   `json:"in_upstream"`
}

// UpstreamStatus is what the upstream file names.
type UpstreamStatus struct {
	File    string   `json:"file"`
	Servers []string `json:"servers"`
	Error   string   `json:"error,omitempty"`
}

// Remedy is the command status names when the state is not consistent.
const Remedy = "mealsyncctl repair (repair --dry-run shows what it would do)"

// ReadStatus reports the state directory of s: the releases, every
// instance with a live probe, the upstream and whether it matches, the last
// deploy, a running or interrupted operation, and the problems that make
// the state inconsistent. It changes nothing but metrics.prom, which it
// rewrites when no command holds the lock (a failure to is a warning).
func ReadStatus(ctx context.Context, s Setup) (Status, error) {
	e, err := Look(s)
	if errors.Is(err, ErrNothingDeployed) {
		abs, _ := filepath.Abs(s.Dir)
		return Status{StateDir: abs, Consistent: true, Instances: []InstanceStatus{}}, nil
	}
	if err != nil {
		return Status{}, err
	}
	return e.status(ctx)
}

func (e *Engine) status(ctx context.Context) (Status, error) {
	st, store := e.State, e.Store
	r := Status{
		StateDir: store.Dir, Driver: st.Settings.Describe(), Deployed: true,
		Current: st.Current, Previous: st.Previous, Desired: st.Desired,
		Instances: []InstanceStatus{}, Upstream: UpstreamStatus{File: st.Settings.UpstreamFile},
	}
	held, holder := store.Held()
	if held {
		r.LockHolder = holder
	}
	if st.Op != nil {
		if held {
			r.InProgress = st.Op
		} else {
			r.Interrupted = st.Op
			r.Problems = append(r.Problems, "an interrupted "+st.Op.Kind+" is recorded")
		}
	}
	var err error
	if r.Upstream.Servers, err = e.Proxy.Servers(); err != nil {
		r.Upstream.Error = err.Error()
		r.Problems = append(r.Problems, "the upstream file cannot be read: "+err.Error())
	}
	d := e.Diagnose(ctx)
	for _, in := range st.Instances {
		p := d.Probes[in.ID]
		r.Instances = append(r.Instances, InstanceStatus{Instance: in, Health: p.Health.String(), Detail: p.Detail, InUpstream: slices.Contains(r.Upstream.Servers, in.Addr)})
		if in.Role == RoleServing && p.Health != Ready {
			r.Problems = append(r.Problems, fmt.Sprintf("serving instance %s is %s (%s)", in.Name(), p.Health, p.Detail))
		}
	}
	if r.InProgress == nil {
		r.Problems = append(r.Problems, e.disagreements(d, r.Upstream.Servers)...)
		r.Strays = d.Strays
		if len(r.Problems) > 0 {
			r.Remedy = Remedy
		}
	}
	if h, err := store.History(); err == nil {
		for i := len(h) - 1; i >= 0; i-- {
			if h[i].Kind == "deploy" || h[i].Kind == "rollback" {
				r.LastDeploy = &h[i]
				break
			}
		}
	}
	r.Consistent = len(r.Problems) == 0 && r.InProgress == nil
	if !held {
		if err := store.WriteMetrics(st); err != nil {
			r.Warnings = append(r.Warnings, "writing metrics.prom: "+err.Error())
		}
	}
	return r, nil
}

// disagreements are where the state, the instances and the upstream
// (servers, as read) disagree, while no command is changing them.
func (e *Engine) disagreements(d Diagnosis, servers []string) []string {
	st := e.State
	var out []string
	if !sameSet(servers, st.Addrs()) {
		out = append(out, fmt.Sprintf("the upstream names %s but the serving instances are %s", list(servers), list(st.Addrs())))
	}
	if d.Release != "" && d.Live < d.Desired {
		out = append(out, fmt.Sprintf("%d of %d wanted instance(s) serve", d.Live, d.Desired))
	}
	for _, s := range d.Strays {
		out = append(out, s+" runs but is not recorded")
	}
	for _, p := range d.Problems {
		if !strings.HasPrefix(p, "the upstream cannot be read") { // reported with the upstream
			out = append(out, p)
		}
	}
	return out
}
