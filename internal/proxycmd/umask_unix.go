//go:build unix

package proxycmd

import "syscall"

// privateUmask makes new files private to the user until restore is
// called: a Unix socket is never reachable by others, not even between
// its creation and its chmod.
func privateUmask() (restore func()) {
	old := syscall.Umask(0o177)
	return func() { syscall.Umask(old) }
}
