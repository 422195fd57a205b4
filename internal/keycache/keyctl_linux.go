//go:build linux

package keycache

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Key permissions: everything for a possessor, and view/read/search/write
// for the same user (processes of other users see nothing).
const perm = 0x3f000000 | 0x000f0000

type keyctl struct{}

// New returns the kernel user-keyring cache.
func New() (Cache, error) { return keyctl{}, nil }

func (keyctl) Describe() string { return "the kernel user keyring (keyctl)" }

func (keyctl) Get(name string) ([]byte, error) {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", prefix+name, 0)
	if err != nil {
		if errors.Is(err, unix.ENOKEY) || errors.Is(err, unix.EKEYEXPIRED) || errors.Is(err, unix.EKEYREVOKED) {
			return nil, ErrNotCached
		}
		return nil, fmt.Errorf("kernel keyring: %w", err)
	}
	buf := make([]byte, 256)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	if err != nil {
		return nil, fmt.Errorf("kernel keyring: read: %w", err)
	}
	if n > len(buf) {
		return nil, errors.New("kernel keyring: entry too large")
	}
	return buf[:n], nil
}

func (keyctl) Put(name string, secret []byte, ttl time.Duration) error {
	// Made in the session keyring, which this process possesses, so that
	// its permissions and timeout can be set even where the user keyring is
	// not linked to the session (systemd services, containers); then moved
	// to the user keyring, where every process of the user finds it.
	id, err := unix.AddKey("user", prefix+name, secret, unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return fmt.Errorf("kernel keyring: %w", err)
	}
	defer func() { _, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_SESSION_KEYRING, 0, 0) }()
	if _, err := unix.KeyctlInt(unix.KEYCTL_SETPERM, id, perm, 0, 0); err != nil {
		return fmt.Errorf("kernel keyring: set permissions: %w", err)
	}
	secs := int(ttl / time.Second)
	if secs < 1 {
		secs = 1
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, secs, 0, 0); err != nil {
		return fmt.Errorf("kernel keyring: set timeout: %w", err)
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_LINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0); err != nil {
		return fmt.Errorf("kernel keyring: link to the user keyring: %w", err)
	}
	return nil
}

func (keyctl) Delete(name string) error {
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", prefix+name, 0)
	if err != nil {
		if errors.Is(err, unix.ENOKEY) || errors.Is(err, unix.EKEYEXPIRED) || errors.Is(err, unix.EKEYREVOKED) {
			return nil
		}
		return err
	}
	// Invalidate, not just unlink: no other keyring keeps it alive.
	if _, err := unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0); err != nil {
		_, err = unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
		return err
	}
	return nil
}

// Harden keeps this process's memory out of core dumps and away from
// ptrace by other processes of the user, and a crash's traceback to the
// goroutine that crashed.
func Harden() {
	hardenTraceback()
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// Not dumpable already means no core file, unless the administrator set
	// suid_dumpable=2 or a core pipe; a zero limit covers those too, and
	// GOTRACEBACK=crash, which would abort with a core.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0})
}

// Lock keeps b out of swap where the system allows.
func Lock(b []byte) { _ = unix.Mlock(b) }
