package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// The socket-activation protocol of sd_listen_fds(3): a supervisor (systemd,
// or mealsyncctl handing a running instance's socket to its successor)
// passes listening sockets from file descriptor 3 on, says how many in
// LISTEN_FDS, and names the process they are for in LISTEN_PID, so a child
// that inherits the variables by mistake does not take them.
const (
	listenFDsStart = 3
	envListenPID   = "LISTEN_PID"
	envListenFDs   = "LISTEN_FDS"
	envListenNames = "LISTEN_FDNAMES"
)

// listenAPI returns the API's listener: the socket a supervisor passed, or
// a new one on addr. inherited tells which. An inherited socket outlives
// this process — systemd, or the instance that replaces this one, holds it
// too — so connections that arrive while this process stops are queued by
// the kernel for the other holder, never refused.
func listenAPI(addr string, getenv func(string) string) (ln net.Listener, inherited bool, err error) {
	ln, err = inheritedListener(getenv)
	if err != nil || ln != nil {
		return ln, ln != nil, err
	}
	ln, err = net.Listen("tcp", addr)
	return ln, false, err
}

// inheritedListener takes the one socket passed by socket activation, or
// returns nil when none was passed to this process. The variables are
// removed from the environment afterwards, as sd_listen_fds(1) does.
func inheritedListener(getenv func(string) string) (net.Listener, error) {
	pid, fds := getenv(envListenPID), getenv(envListenFDs)
	if pid == "" || fds == "" {
		return nil, nil
	}
	if pid != strconv.Itoa(os.Getpid()) {
		return nil, nil // meant for another process
	}
	for _, k := range []string{envListenPID, envListenFDs, envListenNames} {
		os.Unsetenv(k)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n != 1 {
		return nil, fmt.Errorf("%s=%q: mealsync takes exactly one listening socket (the API's)", envListenFDs, fds)
	}
	fd := listenFDsStart
	if v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN); err != nil || v != 1 {
		if err == nil {
			err = errors.New("it is not listening")
		}
		return nil, fmt.Errorf("file descriptor %d from socket activation is not a listening socket: %w", fd, err)
	}
	f := os.NewFile(uintptr(fd), "listen-fd-3")
	defer f.Close() // FileListener holds a duplicate, close-on-exec
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	return ln, nil
}
