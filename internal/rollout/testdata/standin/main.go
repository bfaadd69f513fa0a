// Command standin behaves like `mealsync serve` as far as the process
// driver can tell, for its unit tests: it takes the socket passed by socket
// activation (LISTEN_FDS, as mealsync does) or else listens on
// $MEALSYNC_ADDR, and on $MEALSYNC_OPS_ADDR too, and answers
// /actuator/health/readiness 200 until the first SIGTERM, then 503
// for $STANDIN_DELAY (default 1s) before it exits 0, logging "stopped
// gracefully". A second SIGTERM makes it exit 2 at once, logging "second
// signal", as mealsync does.
//
// With STANDIN_WATCH_PID set it exits as soon as that process is gone: a test
// names itself there, so the instances it had the CLI start (detached, in
// sessions of their own) die with it even when it times out.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	delay := time.Second
	if d, err := time.ParseDuration(os.Getenv("STANDIN_DELAY")); err == nil {
		delay = d
	}
	if pid, err := strconv.Atoi(os.Getenv("STANDIN_WATCH_PID")); err == nil {
		go func() {
			for syscall.Kill(pid, 0) == nil {
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Println("the watched process is gone")
			os.Exit(3)
		}()
	}
	var ln net.Listener
	var err error
	if os.Getenv("LISTEN_FDS") == "1" && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		ln, err = net.FileListener(os.NewFile(3, "listen-fd"))
	} else {
		ln, err = net.Listen("tcp", os.Getenv("MEALSYNC_ADDR"))
	}
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	var stopping atomic.Bool
	ready := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stopping.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	go http.Serve(ln, ready)
	if addr := os.Getenv("MEALSYNC_OPS_ADDR"); addr != "" {
		ops, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("listen ops:", err)
			os.Exit(1)
		}
		go http.Serve(ops, ready)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM)
	fmt.Println("listening")
	<-sigs
	stopping.Store(true)
	fmt.Println("shutting down")
	select {
	case <-sigs:
		fmt.Println("second signal")
		os.Exit(2)
	case <-time.After(delay):
	}
	fmt.Println("stopped gracefully")
}
