package main

import (
	"errors"
	"log/slog"
	"math"
	"os"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memoryLimitRatio is the share of the container's memory limit given to the
// Go runtime as its soft limit. The rest is headroom for what the cgroup
// charges but the runtime does not count: the kernel's page cache of the
// SQLite file, socket buffers, the binary's own pages.
const memoryLimitRatio = 0.9

// setMemoryLimit sets the Go runtime's soft memory limit to 90% of the
// cgroup's memory limit (v2 memory.max, v1 memory.limit_in_bytes), so that
// inside a container the garbage collector works harder as the limit nears
// instead of the process being OOM-killed. GOMEMLIMIT, when set, wins
// (AUTOMEMLIMIT=off or a ratio are honoured too); without a cgroup limit —
// outside a container, or a container without one — nothing changes.
// GOMAXPROCS needs no such help: since Go 1.25 the runtime follows the CPU
// quota itself. The outcome is logged once.
func setMemoryLimit(log *slog.Logger) {
	var cgroupLimit uint64
	cgroup := func() (uint64, error) {
		limit, err := memlimit.FromCgroup()
		if errors.Is(err, memlimit.ErrNoCgroup) || errors.Is(err, memlimit.ErrCgroupsNotSupported) {
			return 0, memlimit.ErrNoLimit // not in a container: nothing to follow
		}
		if err == nil {
			cgroupLimit = limit
		}
		return limit, err
	}
	limit, err := memlimit.Set(memlimit.WithProvider(cgroup), memlimit.WithRatio(memoryLimitRatio))
	_, fromEnv := os.LookupEnv("GOMEMLIMIT")
	switch {
	case err != nil:
		log.Warn("memory limit", "source", "unknown", "err", err) // the runtime keeps its own
	case fromEnv:
		log.Info("memory limit", "source", "GOMEMLIMIT", "gomemlimit_bytes", limit)
	case cgroupLimit > 0:
		log.Info("memory limit", "source", "cgroup", "gomemlimit_bytes", limit, "cgroup_limit_bytes", cgroupLimit)
	case limit == math.MaxInt64:
		log.Info("memory limit", "source", "none")
	default: // AUTOMEMLIMIT=off and a limit set some other way
		log.Info("memory limit", "source", "runtime", "gomemlimit_bytes", limit)
	}
}
