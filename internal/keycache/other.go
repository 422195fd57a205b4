//go:build !linux

package keycache

// New reports that there is no cache here.
func New() (Cache, error) { return nil, ErrUnsupported }

// Harden does nothing here.
func Harden() {}

// Lock does nothing here.
func Lock([]byte) {}
