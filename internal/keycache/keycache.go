// Package keycache holds a derived vault key for a while, so the KDF runs
// once per unlock rather than once per call. On Linux it is the kernel's
// user keyring: the key lives in kernel memory (never swapped, never in a
// core dump), readable by the user's own processes only, and expires on
// its own. Elsewhere there is no cache (New returns ErrUnsupported).
package keycache

import (
	"errors"
	"runtime/debug"
	"time"
)

// ErrUnsupported is returned where there is no cache.
var ErrUnsupported = errors.New("no key cache on this system")

// ErrNotCached is returned by Get when nothing is cached under the name.
var ErrNotCached = errors.New("not cached")

// prefix starts every cache entry's description.
const prefix = "docker-credential-oat:vault-key:"

// Cache is a place to keep a derived key.
type Cache interface {
	Get(name string) ([]byte, error)
	Put(name string, secret []byte, ttl time.Duration) error
	Delete(name string) error
	// Describe says where the cache is, for doctor.
	Describe() string
}

// hardenTraceback prints only the crashing goroutine's stack on a panic, not
// every goroutine's (whose frames may hold pointers into secrets). The
// runtime does not let a program go below a GOTRACEBACK set in its
// environment; on Linux, Harden's zero core limit still keeps
// GOTRACEBACK=crash from writing a core file.
func hardenTraceback() { debug.SetTraceback("single") }
