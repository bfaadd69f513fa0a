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
	// Err is the error behind Cause, when there is one (a state write
	// that failed stops the step: see unsaved).
	Err error
	// Journal are the state writes that failed after the step did, while
	// the failure was handled: the state directory lags what was done, and
	// the next command reconciles from what it last recorded.
	Journal []error
}

// unsaved is the failure of a step whose journal entry could not be
// written: the step does not run, since a command killed after it would
// leave a state directory that does not say what was done.
func unsaved(step string, in Instance, err error) *Failure {
	return &Failure{Step: step, Instance: in, Cause: "could not save the state: " + err.Error(), Err: err}
}

// note keeps a state write's error (nil: it succeeded) for the report.
func (f *Failure) note(err error) {
	if err != nil {
		f.Journal = append(f.Journal, err)
	}
}

// Unwrap gives errors.Is and errors.As the errors behind the failure.
func (f *Failure) Unwrap() []error {
	var out []error
	if f.Err != nil {
		out = append(out, f.Err)
	}
	return append(out, f.Journal...)
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
	if n := len(f.Journal); n > 0 {
		fmt.Fprintf(&b, " %d state write(s) failed on the way (%v): the next command reconciles from what was last saved.", n, f.Journal[0])
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
