package testenv

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts a child in a process group of its own (so nginx's master
// and workers can be signalled together) and has the kernel send it sig if
// the test binary dies without cleaning up.
func sysProcAttr(sig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: sig}
}

// killGroup sends SIGKILL to the process group led by pid (one we started
// with sysProcAttr).
func killGroup(pid int) {
	syscall.Kill(-pid, syscall.SIGKILL)
}

func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// children returns the command lines (NUL separators as spaces, trimmed) of
// the processes whose parent is ppid, by pid.
func children(ppid int) map[int]string {
	out := map[int]string{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, stat := range stats {
		data, err := os.ReadFile(stat)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		dir := filepath.Dir(stat)
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// ProcessCPU is a process's user and system CPU seconds so far (0 once it
// is gone).
func ProcessCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// Fields after the command: state is [0], utime [11], stime [12].
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}

// TreeCPU is ProcessCPU of pid and of each process it started (nginx's
// workers, PostgreSQL's backends). A child that exited took its share with
// it: measure over windows in which the children stay.
func TreeCPU(pid int) float64 {
	total := ProcessCPU(pid)
	for child := range children(pid) {
		total += ProcessCPU(child)
	}
	return total
}
