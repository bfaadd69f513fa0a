// Command exitafter is a bad release for the deploy tests: it runs the real
// mealsync binary named by $EXITAFTER_BINARY with its own arguments, and for
// `serve` it waits until the instance reports ready, waits
// $EXITAFTER_DELAY more (default 3s), then stops it with SIGTERM and exits 1
// once it has gone. So the release turns ready, joins the upstream, and quits
// during the verification window, the way a release that hits a fatal
// problem a few seconds in would. (SIGTERM, not SIGKILL: the app then keeps
// serving through its shutdown delay, as every exit this repository's server
// takes does; a crash that drops in-flight requests is not a deploy
// property.)
//
// The mealsync binary itself has no test hooks; this wrapper is the only
// difference. mealsync runs in a process group of its own, so a signal
// mealsyncctl sends the wrapper's group reaches it only through the wrapper,
// which passes on SIGTERM and SIGINT until it has stopped mealsync itself
// (a second SIGTERM would make mealsync quit at once, by design).
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	real := os.Getenv("EXITAFTER_BINARY")
	if real == "" {
		fmt.Fprintln(os.Stderr, "exitafter: EXITAFTER_BINARY is not set")
		os.Exit(2)
	}
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		if err := syscall.Exec(real, append([]string{real}, os.Args[1:]...), os.Environ()); err != nil {
			fmt.Fprintln(os.Stderr, "exitafter:", err)
			os.Exit(2)
		}
	}
	delay := 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("EXITAFTER_DELAY")); err == nil {
		delay = d
	}

	cmd := exec.Command(real, os.Args[1:]...)
	if os.Getenv("LISTEN_FDS") == "1" && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		// The socket mealsyncctl passed is for mealsync: hand it on as
		// file descriptor 3, with LISTEN_PID naming mealsync's own pid,
		// which only the child can know (so the shell sets it and execs).
		cmd = exec.Command("/bin/sh", append([]string{"-c", `export LISTEN_PID=$$; exec "$0" "$@"`, real}, os.Args[1:]...)...)
		cmd.ExtraFiles = []*os.File{os.NewFile(3, "listen-fd")}
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "exitafter:", err)
		os.Exit(2)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	url := "http://" + os.Getenv("MEALSYNC_OPS_ADDR") + "/actuator/health/readiness"
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var quit <-chan time.Time // armed once the instance is ready
	stopped := false          // mealsync got its one SIGTERM
	for {
		select {
		case err := <-done:
			fmt.Fprintf(os.Stderr, "exitafter: mealsync exited: %v\n", err)
			os.Exit(1)
		case s := <-sigs:
			if !stopped {
				cmd.Process.Signal(s)
				stopped = true
			}
		case <-tick.C:
			if quit != nil {
				continue
			}
			if resp, err := client.Get(url); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					fmt.Fprintf(os.Stderr, "{\"msg\":\"exitafter: ready; stopping mealsync in %s\"}\n", delay)
					quit = time.After(delay)
				}
			}
		case <-quit:
			fmt.Fprintln(os.Stderr, `{"msg":"exitafter: stopping mealsync now (SIGTERM)"}`)
			if !stopped {
				cmd.Process.Signal(syscall.SIGTERM)
				stopped = true
			}
			quit = nil
			tick.Stop()
		}
	}
}
