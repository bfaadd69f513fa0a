package rollout

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Outcome is how an operation ended.
type Outcome string

const (
	Succeeded   Outcome = "succeeded"
	RolledBack  Outcome = "rolled_back"
	Interrupted Outcome = "interrupted" // the CLI was killed; a later command reconciled it
	Failed      Outcome = "failed"      // could not finish nor undo cleanly; see Detail
	// Aborted: verification saw the old instances fail as well (the machine
	// or the database), so the release was not judged and was undone.
	Aborted Outcome = "aborted"
)

// Label is the outcome as `history` prints it.
func (o Outcome) Label() string {
	switch o {
	case RolledBack:
		return "rolled back"
	case Aborted:
		return "aborted (not judged)"
	}
	return string(o)
}

// Entry is one line of the history.
type Entry struct {
	Kind     string    `json:"kind"` // deploy, rollback, scale
	Version  string    `json:"version"`
	From     string    `json:"from,omitempty"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_seconds"`
	Outcome  Outcome   `json:"outcome"`
	Detail   string    `json:"detail,omitempty"`
}

// historyMax bounds the file; the metrics' counters live in State.
const historyMax = 500

// History reads every entry, oldest first.
func (s *Store) History() ([]Entry, error) {
	b, err := os.ReadFile(s.Path(historyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h []Entry
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path(historyFile), err)
	}
	return h, nil
}

// Record appends e to the history and, for deploys and rollbacks, counts it
// in st's stats (the caller saves st).
func (s *Store) Record(st *State, e Entry) error {
	h, err := s.History()
	if err != nil {
		return err
	}
	h = append(h, e)
	if len(h) > historyMax {
		h = h[len(h)-historyMax:]
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	if e.Kind == "deploy" || e.Kind == "rollback" {
		if st.Stats.Deploys == nil {
			st.Stats.Deploys = map[Outcome]int{}
			st.Stats.LastByResult = map[Outcome]time.Time{}
		}
		st.Stats.Deploys[e.Outcome]++
		st.Stats.LastByResult[e.Outcome] = e.Started.Add(time.Duration(e.Duration * float64(time.Second)))
		st.Stats.LastDuration = e.Duration
	}
	return WriteFileAtomic(s.Path(historyFile), append(b, '\n'), 0o640)
}
