//go:build linux

package rollout

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// listenSlot binds a new listening socket on addr (port 0: any free port)
// and returns it as a file to pass to an instance, with the address it is
// bound to and its inode (how a later command finds it in the instance).
// The caller closes f once the instance has it.
func listenSlot(addr string) (f *os.File, bound string, inode uint64, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", 0, err
	}
	defer l.Close() // f is a duplicate: the socket stays open
	f, err = l.(*net.TCPListener).File()
	if err != nil {
		return nil, "", 0, err
	}
	inode, err = fileInode(f)
	if err != nil {
		f.Close()
		return nil, "", 0, err
	}
	return f, l.Addr().String(), inode, nil
}

// shareSocket duplicates the listening socket with the given inode out of
// the running process pid (started at startTicks) into this one, with
// pidfd_getfd(2): it needs the rights to ptrace that process (the same user
// under kernel.yama.ptrace_scope 0, or root / CAP_SYS_PTRACE) and Linux 5.6.
func shareSocket(pid int, startTicks uint64, inode uint64) (*os.File, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: pidfd_open(%d): %v", ErrCannotShare, pid, err)
	}
	defer unix.Close(pidfd)
	// The pidfd pins the process: if it is still the one recorded now, the
	// descriptors below are its own, not those of a process that reused the pid.
	if !processAlive(pid, startTicks) {
		return nil, fmt.Errorf("%w: process %d has exited", ErrCannotShare, pid)
	}
	target, err := socketFD(pid, inode)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotShare, err)
	}
	fd, err := unix.PidfdGetfd(pidfd, target, 0)
	if err != nil {
		hint := ""
		if errors.Is(err, unix.EPERM) {
			hint = " (it needs root, or the same user with kernel.yama.ptrace_scope=0)"
		}
		return nil, fmt.Errorf("%w: pidfd_getfd(pid %d, fd %d): %v%s", ErrCannotShare, pid, target, err, hint)
	}
	f := os.NewFile(uintptr(fd), "slot-socket")
	if got, err := fileInode(f); err != nil || got != inode {
		f.Close()
		return nil, fmt.Errorf("%w: descriptor %d of pid %d changed under us", ErrCannotShare, target, pid)
	}
	return f, nil
}

// socketFD finds which of pid's descriptors is the socket with inode.
func socketFD(pid int, inode uint64) (int, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	links, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	want := "socket:[" + strconv.FormatUint(inode, 10) + "]"
	for _, l := range links {
		if dest, err := os.Readlink(filepath.Join(dir, l.Name())); err == nil && dest == want {
			return strconv.Atoi(l.Name())
		}
	}
	return 0, fmt.Errorf("process %d no longer holds socket %d", pid, inode)
}

func fileInode(f *os.File) (uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, errors.New("no inode")
	}
	return st.Ino, nil
}
