package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A process-driver instance is known by what the state directory records of
// it: its pid together with the process's start time (clock ticks since boot,
// field 22 of /proc/PID/stat), which together name one process for as long
// as the machine runs — a pid reused by another process has another start
// time. Nothing else identifies an instance: not an environment variable or a
// command line, which a user's shell, a wrapper or a CI step may share with
// it, and which once made recovery stop the operator's own shell.
//
// state.json records every instance the engine knows. The window between
// starting a process and saving state.json is covered by pids/<id>, one small
// file per instance written before the process may run the app (see
// startRecorded), so a command killed at any moment leaves either no app
// process or one the state directory names.

// procIdentity is one pids/<id> file: "PID STARTTICKS".
type procIdentity struct {
	ID    string
	PID   int
	Ticks uint64
}

func (p procIdentity) alive() bool { return processAlive(p.PID, p.Ticks) }

// pidPath is where the state directory records instance id's process.
func (s *Store) pidPath(id string) string { return filepath.Join(s.Dir, pidsDir, id) }

// recordProcess writes id's pid and start time durably.
func (s *Store) recordProcess(id string, pid int, ticks uint64) error {
	if err := os.MkdirAll(filepath.Join(s.Dir, pidsDir), 0o750); err != nil {
		return err
	}
	return WriteFileAtomic(s.pidPath(id), []byte(fmt.Sprintf("%d %d\n", pid, ticks)), 0o640)
}

// forgetProcess removes id's record, once its process is gone.
func (s *Store) forgetProcess(id string) error {
	if err := os.Remove(s.pidPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// recordedProcess reads id's record; ok is false when there is none.
func (s *Store) recordedProcess(id string) (procIdentity, bool) {
	b, err := os.ReadFile(s.pidPath(id))
	if err != nil {
		return procIdentity{}, false
	}
	return parseIdentity(id, b)
}

func parseIdentity(id string, b []byte) (procIdentity, bool) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return procIdentity{}, false
	}
	pid, err1 := strconv.Atoi(f[0])
	ticks, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 || ticks == 0 {
		return procIdentity{}, false
	}
	return procIdentity{ID: id, PID: pid, Ticks: ticks}, true
}

// recordedProcesses lists every record, by instance id.
func (s *Store) recordedProcesses() ([]procIdentity, error) {
	ents, err := os.ReadDir(filepath.Join(s.Dir, pidsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []procIdentity
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue // WriteFileAtomic's temporary files
		}
		b, err := os.ReadFile(filepath.Join(s.Dir, pidsDir, e.Name()))
		if err != nil {
			continue // removed meanwhile
		}
		if p, ok := parseIdentity(e.Name(), b); ok {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// withRecordedProcess fills in the pid of an instance the state saved before
// its command learnt the pid (that command was killed just after starting
// it), from pids/<id>.
func (s *Store) withRecordedProcess(in Instance) Instance {
	if in.PID != 0 {
		return in
	}
	if p, ok := s.recordedProcess(in.ID); ok {
		in.PID, in.StartTicks = p.PID, p.Ticks
	}
	return in
}

// gateScript holds a new instance before it runs the app. It waits for one
// line on its stdin, a pipe from the CLI, and runs the app only if that line
// is "start", which the CLI writes once pids/<id> records the process. If
// the CLI dies first the pipe ends and the gate exits without running
// anything. exec keeps the pid and the start time, so what was recorded is
// the app's own identity.
const gateScript = `IFS= read -r go && [ "$go" = start ] && exec "$@" </dev/null; exit 125`

// startRecorded starts cmd behind gateScript, records its process in the
// state directory as instance id, and only then lets it run.
func startRecorded(cmd *exec.Cmd, s *Store, id string) (pid int, ticks uint64, err error) {
	if cmd.Err != nil {
		return 0, 0, cmd.Err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	defer w.Close()
	cmd.Args = append([]string{"/bin/sh", "-c", gateScript, "mealsyncctl-gate", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = "/bin/sh"
	cmd.Stdin = r
	err = cmd.Start()
	r.Close()
	if err != nil {
		return 0, 0, err
	}
	pid = cmd.Process.Pid
	abort := func(cause error) (int, uint64, error) {
		w.Close() // the gate reads end of file and exits
		cmd.Wait()
		return 0, 0, cause
	}
	_, ticks, ok := procStat(pid)
	if !ok {
		return abort(fmt.Errorf("process %d vanished as it started", pid))
	}
	if err := s.recordProcess(id, pid, ticks); err != nil {
		return abort(fmt.Errorf("recording process %d in the state directory: %w", pid, err))
	}
	if _, err := io.WriteString(w, "start\n"); err != nil {
		s.forgetProcess(id)
		return abort(fmt.Errorf("releasing process %d: %w", pid, err))
	}
	return pid, ticks, nil
}

// recordedStrays are the processes pids/ records for instances not among
// known: those still alive, and the records of those already gone.
func (d *Process) recordedStrays(known []Instance) (alive, gone []procIdentity, err error) {
	recs, err := d.Store.recordedProcesses()
	if err != nil {
		return nil, nil, err
	}
	keep := map[string]bool{}
	for _, in := range known {
		keep[in.ID] = true
	}
	for _, p := range recs {
		switch {
		case keep[p.ID]:
		case p.alive():
			alive = append(alive, p)
		default:
			gone = append(gone, p)
		}
	}
	return alive, gone, nil
}

// FindStrays lists, without stopping them, the processes Strays would stop.
func (d *Process) FindStrays(ctx context.Context, known []Instance) ([]string, error) {
	ps, _, err := d.recordedStrays(known)
	var out []string
	for _, p := range ps {
		out = append(out, p.name())
	}
	return out, err
}

func (p procIdentity) name() string { return fmt.Sprintf("%s (pid %d)", p.ID, p.PID) }
