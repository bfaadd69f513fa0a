package rollout

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func pidSelf() int { return os.Getpid() }

// procStat reads a process's state letter and start time (clock ticks since
// boot) from /proc/PID/stat. ok is false when there is no such process.
func procStat(pid int) (state byte, startTicks uint64, ok bool) {
	if pid <= 0 {
		return 0, 0, false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) may hold spaces and parentheses; the
	// fields after its closing parenthesis are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, 0, false
	}
	ticks, _ := strconv.ParseUint(f[19], 10, 64) // field 22, starttime
	return f[0][0], ticks, true
}

// processAlive reports whether pid is the process that was started at
// startTicks and has not exited. A zombie (exited, not yet reaped by its
// parent) counts as exited; a different start time means the pid was reused.
func processAlive(pid int, startTicks uint64) bool {
	return processGone(pid, startTicks) == ""
}

// processGone says why pid is not the live process started at startTicks,
// or "" when it is.
func processGone(pid int, startTicks uint64) string {
	state, ticks, ok := procStat(pid)
	switch {
	case pid <= 0:
		return "no process was recorded"
	case !ok:
		return "process " + strconv.Itoa(pid) + " is gone"
	case state == 'Z' || state == 'X':
		return "process " + strconv.Itoa(pid) + " has exited"
	case startTicks != 0 && ticks != startTicks:
		return "process " + strconv.Itoa(pid) + " is gone (the pid now belongs to another process, started at another time)"
	}
	return ""
}

// procCmdline is a process's command line, arguments joined by spaces
// (nginx rewrites its own into a title such as "nginx: worker process").
func procCmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// procParent is a process's parent pid.
func procParent(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// nginxMaster finds the master process of the nginx that runs conf: the
// one whose command line names it, or, when conf is empty or none does,
// the only nginx master on the machine. 0 when it cannot tell.
func nginxMaster(conf string) int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var all, named []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		cl := procCmdline(pid)
		if !strings.HasPrefix(cl, "nginx: master process") {
			continue
		}
		all = append(all, pid)
		if conf != "" && strings.Contains(cl, conf) {
			named = append(named, pid)
		}
	}
	switch {
	case len(named) == 1:
		return named[0]
	case len(named) == 0 && len(all) == 1:
		return all[0]
	}
	return 0
}

// nginxWorkers lists the master's workers that accept new connections
// (after a reload the old ones retitle themselves "… is shutting down").
func nginxWorkers(master int) map[int]bool {
	out := map[int]bool{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || procParent(pid) != master {
			continue
		}
		if procCmdline(pid) == "nginx: worker process" {
			out[pid] = true
		}
	}
	return out
}
