//go:build !unix

package metrics

import "errors"

// diskSpace cannot measure free space on this platform.
func diskSpace(string) (free, total uint64, err error) {
	return 0, 0, errors.New("disk space: not supported on this platform")
}
