//go:build pprof

package main

// Built with -tags pprof (benchmarks only: docs/BENCHMARKS.md), the server
// serves net/http/pprof on MEALSYNC_PPROF_ADDR, a loopback address of the
// operator's choosing. The shipped binary leaves it out: the image's size
// budget has no room for it, and no port of it should exist in production.

import (
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("MEALSYNC_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		slog.Error("MEALSYNC_PPROF_ADDR must be a loopback host:port", "addr", addr)
		os.Exit(2)
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "err", err)
		}
	}()
}
