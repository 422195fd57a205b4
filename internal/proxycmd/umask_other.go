//go:build !unix

package proxycmd

// privateUmask does nothing where there is no umask.
func privateUmask() (restore func()) { return func() {} }
