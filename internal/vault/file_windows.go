//go:build windows

package vault

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// syncDir is not needed on Windows: MoveFileEx with MOVEFILE_WRITE_THROUGH
// (used by os.Rename) is durable.
func syncDir(string) error { return nil }

// lockFile takes an exclusive LockFileEx lock on path, waiting up to timeout.
func lockFile(path string, timeout time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open vault lock: %w", err)
	}
	h := windows.Handle(f.Fd())
	deadline := time.Now().Add(timeout)
	for {
		ol := new(windows.Overlapped)
		err = windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
		if err == nil {
			return func() {
				_ = windows.UnlockFileEx(h, 0, 1, 0, new(windows.Overlapped))
				f.Close()
			}, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w (waited %s for %s)", ErrLocked, timeout, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkPrivate relies on the per-user profile ACLs on Windows, where POSIX
// modes say nothing.
func checkPrivate(string, bool) error { return nil }

func checkPrivateFile(*os.File, string) error { return nil }
