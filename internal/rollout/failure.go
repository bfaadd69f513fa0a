package rollout

import (
	"fmt"
	"strings"
)

// The steps of the gate every new instance goes through, as failures name them.
const (
	StepStart  = "start the new instance"
	StepReady  = "wait for readiness"
	StepAdd    = "add it to the upstream"
	StepVerify = "verification window"
	StepDrain  = "drain the old instance"
)

var stepNumber = map[string]int{StepStart: 1, StepReady: 2, StepAdd: 3, StepVerify: 4, StepDrain: 5}

// Failure is why an operation was rolled back. Its Error is the one
// paragraph an operator reads: which step, which instance, what happened,
// what the engine did about it, and the failed instance's last log lines.
type Failure struct {
	Op       string   // "deploy of v2"
	Step     string   // one of the Step constants
	Instance Instance // the instance that failed the step
	Cause    string   // what went wrong, in words
	Logs     []string // the instance's last log lines
	Outcome  Outcome  // RolledBack; Aborted when the old instances failed too; Failed when even the undo was incomplete
	Undo     string   // what the rollback did and what is serving now
}

func (f *Failure) Error() string {
	var b strings.Builder
	verb := "rolled back"
	switch f.Outcome {
	case Failed:
		verb = "failed and could not be fully rolled back"
	case Aborted:
		verb = "was aborted and rolled back"
	}
	fmt.Fprintf(&b, "%s %s at step %d of 5 (%s) on instance %s: %s.",
		f.Op, verb, stepNumber[f.Step], f.Step, f.Instance.Name(), strings.TrimSuffix(f.Cause, "."))
	if f.Undo != "" {
		b.WriteString(" " + strings.TrimSuffix(f.Undo, ".") + ".")
	}
	if len(f.Logs) > 0 {
		fmt.Fprintf(&b, " Last log lines of %s:", f.Instance.ID)
		for _, l := range f.Logs {
			b.WriteString("\n    " + clip(l, 400))
		}
	} else if f.Instance.ID != "" {
		fmt.Fprintf(&b, " %s wrote no log lines.", f.Instance.ID)
	}
	return b.String()
}

func clip(s string, n int) string {
	s = strings.TrimRight(s, "\r\n")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
