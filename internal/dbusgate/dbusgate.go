// Package dbusgate keeps github.com/99designs/keyring from connecting to
// D-Bus, or running dbus-launch, when the chosen store does not need D-Bus.
//
// The keyring package's init functions open a session-bus connection (and,
// with no bus address set, run dbus-launch) in every process that links it.
// Go initialises packages in import-path order as soon as their imports are
// ready; this package imports only os, so its init runs before the D-Bus
// library's (which waits for net and os/exec). It points the session bus at
// an address no transport accepts, and Restore puts the environment back
// once the keyring package has been initialised.
package dbusgate

import "os"

// EnvBackend names the store to use (package store's EnvBackend): this
// package reads it before any other, so the name is defined here.
const EnvBackend = "OAT_BACKEND"

// Environment variables touched.
const (
	envAddress = "DBUS_SESSION_BUS_ADDRESS"
	envKWallet = "DISABLE_KWALLET"
	// disabled is a bus address with no transport: dialing it fails at once,
	// without a socket, a process, or dbus-launch.
	disabled = "disabled:"
)

type saved struct {
	value string
	set   bool
}

var (
	announced bool
	original  = map[string]saved{}
)

func init() {
	addr := os.Getenv(envAddress)
	announced = addr != "" && addr != disabled && addr != "autolaunch:"
	backend := os.Getenv(EnvBackend)
	if NeedsDBus(backend) || (backend == "" && announced) {
		return
	}
	for k, v := range map[string]string{envAddress: disabled, envKWallet: "1"} {
		old, set := os.LookupEnv(k)
		original[k] = saved{old, set}
		os.Setenv(k, v)
	}
}

// NeedsDBus reports whether the backend named by OAT_BACKEND talks to D-Bus.
// An explicit choice of a D-Bus store opens the gate; so does the automatic
// choice in a desktop session, which tries Secret Service first.
func NeedsDBus(backend string) bool {
	return backend == "secret-service" || backend == "kwallet"
}

// SessionAnnounced reports whether the process started with a session bus
// address (a desktop session): only then does the automatic choice of a
// store try the D-Bus stores.
func SessionAnnounced() bool { return announced }

// Restore puts back the environment the process started with. Call it from a
// package that imports the keyring package, after its init has run.
func Restore() {
	for k, v := range original {
		if v.set {
			os.Setenv(k, v.value)
		} else {
			os.Unsetenv(k)
		}
	}
	clear(original)
}
