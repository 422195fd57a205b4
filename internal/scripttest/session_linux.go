//go:build linux

package scripttest

import (
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

const envIsolated = "OAT_TEST_SESSION_KEYRING"

// isolateKeyrings gives the test process, and so every command it runs, a
// new anonymous session keyring: tests of the kernel keyring never see the
// user's entries or another run's. Credentials are per thread, so the
// thread that joins the new keyring re-executes the test binary, whose
// threads then all start with it.
func isolateKeyrings() {
	if os.Getenv(envIsolated) != "" {
		return
	}
	runtime.LockOSThread()
	// A NULL name makes an anonymous keyring (the empty string would join a
	// shared one named "").
	if _, err := unix.KeyctlInt(unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0); err != nil {
		runtime.UnlockOSThread()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		runtime.UnlockOSThread()
		return
	}
	_ = syscall.Exec(exe, os.Args, append(os.Environ(), envIsolated+"=1"))
	runtime.UnlockOSThread() // only reached if exec failed
}
