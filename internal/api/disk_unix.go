//go:build unix

package api

import (
	"path/filepath"
	"syscall"
)

// diskHealth reports free space where the data lives (Spring's diskSpace).
func diskHealth(dir string) component {
	abs, _ := filepath.Abs(dir)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return component{Status: "DOWN", Details: map[string]any{"path": abs, "exists": false}}
	}
	free := st.Bavail * uint64(st.Bsize)
	return component{Status: status(free >= diskThreshold), Details: map[string]any{
		"total": st.Blocks * uint64(st.Bsize), "free": free, "threshold": diskThreshold,
		"path": abs, "exists": true,
	}}
}
