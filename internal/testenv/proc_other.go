//go:build !linux

package testenv

import (
	"os"
	"syscall"
)

// The harness needs Linux (/proc, parent-death signals); elsewhere these
// stand-ins keep the package compiling, and StartNginx's Reload cannot tell
// worker generations apart.

func sysProcAttr(syscall.Signal) *syscall.SysProcAttr { return nil }

func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

func processExists(int) bool { return true }

func children(int) map[int]string { return nil }

func ProcessCPU(int) float64 { return 0 }

func TreeCPU(int) float64 { return 0 }
