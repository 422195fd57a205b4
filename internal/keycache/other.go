//go:build !linux

package keycache

// New reports that there is no cache here.
func New() (Cache, error) { return nil, ErrUnsupported }

// Harden limits a crash's traceback to the goroutine that crashed.
func Harden() { hardenTraceback() }

// Lock does nothing here.
func Lock([]byte) {}
