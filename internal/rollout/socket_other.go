//go:build !linux

package rollout

import (
	"fmt"
	"net"
	"os"
	"runtime"
)

// listenSlot reserves nothing outside Linux: the instance binds its own
// port, as before socket sharing.
func listenSlot(addr string) (*os.File, string, uint64, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", 0, err
	}
	bound := l.Addr().String()
	l.Close()
	return nil, bound, 0, nil
}

// shareSocket needs pidfd_getfd(2), which only Linux has.
func shareSocket(pid int, startTicks uint64, inode uint64) (*os.File, error) {
	return nil, fmt.Errorf("%w on %s", ErrCannotShare, runtime.GOOS)
}
