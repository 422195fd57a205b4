//go:build !(linux || freebsd || openbsd || netbsd)

package store

import "errors"

func busError() error { return errors.New("no D-Bus on this system") }
