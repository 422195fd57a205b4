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

// Environment variables touched.
const (
	envBackend = "OAT_BACKEND"
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
	closed   bool
	original = map[string]saved{}
)

func init() {
	if NeedsDBus(os.Getenv(envBackend)) {
		return
	}
	closed = true
	for k, v := range map[string]string{envAddress: disabled, envKWallet: "1"} {
		old, set := os.LookupEnv(k)
		original[k] = saved{old, set}
		os.Setenv(k, v)
	}
}

// NeedsDBus reports whether the backend named by OAT_BACKEND talks to D-Bus.
// Only an explicit choice of a D-Bus store opens the gate.
func NeedsDBus(backend string) bool {
	return backend == "secret-service" || backend == "kwallet"
}

// Closed reports whether D-Bus was kept closed for this process.
func Closed() bool { return closed }

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
