package rollout

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Lock is an exclusive flock(2) on <state-dir>/lock, held while a command
// changes anything. The kernel drops it when the holder dies, even by
// SIGKILL, so a killed CLI never leaves a stale lock; the pid written into
// the file is only there to name the holder in messages. The file is opened
// close-on-exec, so instances the CLI starts do not inherit it.
type Lock struct {
	f *os.File
}

// Lock takes the state directory's lock without waiting; if another process
// holds it the error wraps ErrLocked and names that process.
func (s *Store) Lock(command string) (*Lock, error) {
	f, err := os.OpenFile(s.Path(lockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, s.lockHolder())
		}
		return nil, err
	}
	f.Truncate(0)
	fmt.Fprintf(f, "%d %s %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339), command)
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}

// Held reports whether some process holds the lock now, and who.
func (s *Store) Held() (bool, string) {
	f, err := os.Open(s.Path(lockFile))
	if err != nil {
		return false, ""
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true, s.lockHolder()
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, ""
}

// lockHolder describes the process named in the lock file.
func (s *Store) lockHolder() string {
	b, _ := os.ReadFile(s.Path(lockFile))
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return "holder unknown"
	}
	pid, _ := strconv.Atoi(fields[0])
	return fmt.Sprintf("pid %d (%s since %s)", pid, strings.Join(fields[2:], " "), fields[1])
}
