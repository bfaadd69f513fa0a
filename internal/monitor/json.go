package monitor

import (
	"encoding/json"
	"io"
	"time"
)

// The JSON form of a frame, one object per line per refresh. The field names
// are an interface for scripts: add fields, never rename or remove one. A
// figure that is not known is null, never 0.
type jsonFrame struct {
	Time            time.Time      `json:"time"`
	IntervalSeconds float64        `json:"interval_seconds"`
	Ready           int            `json:"ready"`
	Total           int            `json:"total"`
	LastDeploy      *jsonDeploy    `json:"last_deploy"`
	DeployError     string         `json:"last_deploy_error,omitempty"`
	TargetsError    string         `json:"targets_error,omitempty"`
	Instances       []jsonInstance `json:"instances"`
}

type jsonDeploy struct {
	Kind    string     `json:"kind"`
	Version string     `json:"version"`
	Outcome string     `json:"outcome"`
	Time    *time.Time `json:"time"`
	Detail  string     `json:"detail,omitempty"`
}

type jsonInstance struct {
	Name              string   `json:"name"`
	URL               string   `json:"url"`
	Version           string   `json:"version"`
	Commit            string   `json:"commit"`
	Ready             bool     `json:"ready"`
	Error             string   `json:"error"`
	UptimeSeconds     *float64 `json:"uptime_seconds"`
	RequestsPerSecond *float64 `json:"requests_per_second"`
	P95Seconds        *float64 `json:"p95_seconds"`
	ErrorRatio        *float64 `json:"error_ratio"`
	DBInUse           *int     `json:"db_in_use"`
	DBMax             *int     `json:"db_max"`
	Restarted         bool     `json:"restarted"`
	IntervalSeconds   float64  `json:"rate_interval_seconds"`
}

// WriteJSON writes a frame as one line of JSON.
func WriteJSON(w io.Writer, f Frame) error {
	out := jsonFrame{
		Time:            f.Time.UTC(),
		IntervalSeconds: f.Interval.Seconds(),
		Ready:           f.Ready(),
		Total:           len(f.Instances),
		DeployError:     f.DeployError,
		TargetsError:    f.TargetsError,
		Instances:       make([]jsonInstance, 0, len(f.Instances)),
	}
	if d := f.LastDeploy; d != nil {
		out.LastDeploy = &jsonDeploy{Kind: d.Kind, Version: d.Version, Outcome: d.Outcome, Detail: d.Detail}
		if !d.Time.IsZero() {
			t := d.Time.UTC()
			out.LastDeploy.Time = &t
		}
	}
	for _, s := range f.Instances {
		in := jsonInstance{
			Name: s.Name, URL: s.URL, Version: s.Version, Commit: s.Commit,
			Ready: s.Ready, Error: s.Error,
			RequestsPerSecond: s.RequestRate, P95Seconds: s.P95, ErrorRatio: s.ErrorRatio,
			DBInUse: s.DBInUse, DBMax: s.DBMax,
			Restarted: s.Restarted, IntervalSeconds: s.Interval.Seconds(),
		}
		if s.Uptime != nil {
			up := s.Uptime.Seconds()
			in.UptimeSeconds = &up
		}
		out.Instances = append(out.Instances, in)
	}
	return json.NewEncoder(w).Encode(out)
}
