//go:build linux || freebsd || openbsd || netbsd

package store

import "github.com/godbus/dbus"

// busError is why the session bus cannot be reached, for a D-Bus store the
// keyring library left out at start-up.
func busError() error {
	conn, err := dbus.SessionBusPrivate()
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return err
	}
	return conn.Hello()
}
