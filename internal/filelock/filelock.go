// Package filelock takes an exclusive lock on a file, shared by every
// process of the user that opens the same path: the one lock writers of the
// vault and of the OS-store records take around a read-modify-write.
package filelock

import (
	"errors"
	"time"
)

// ErrTimeout is returned when another process held the lock for longer
// than the wait allowed.
var ErrTimeout = errors.New("the lock is held by another process")

// Lock takes an exclusive lock on path (created 0600 if missing), waiting up
// to timeout, and returns the function that releases it.
func Lock(path string, timeout time.Duration) (unlock func(), err error) {
	return lock(path, timeout)
}
