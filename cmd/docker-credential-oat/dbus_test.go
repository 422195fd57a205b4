//go:build linux

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oatkit/oat/internal/store"
)

// busWatch listens where a D-Bus client would look for the session bus and
// counts the connections made to it; a fake dbus-launch on PATH records
// being run.
type busWatch struct {
	env      []string
	launched string
	conns    atomic.Int32
}

func watchBus(t *testing.T, withAddress bool) *busWatch {
	t.Helper()
	dir := t.TempDir()
	w := &busWatch{launched: filepath.Join(dir, "dbus-launch.ran")}
	fake := filepath.Join(dir, "fakebin")
	if err := os.Mkdir(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"$@\" >> '" + w.launched + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(fake, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	runtimeDir := filepath.Join(dir, "run")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(runtimeDir, "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			w.conns.Add(1)
			c.Close()
		}
	}()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") && !strings.HasPrefix(kv, "PATH=") &&
			!strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") && !strings.HasPrefix(kv, "OAT_") {
			w.env = append(w.env, kv)
		}
	}
	w.env = append(w.env, "PATH="+fake+string(os.PathListSeparator)+os.Getenv("PATH"), "XDG_RUNTIME_DIR="+runtimeDir)
	if withAddress {
		w.env = append(w.env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)
	}
	return w
}

func (w *busWatch) run(t *testing.T, extraEnv []string, stdin string, args ...string) {
	t.Helper()
	cmd := exec.Command("docker-credential-oat", args...)
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "not found") {
		t.Logf("%s: %v: %s", args, err, firstLine(out))
	}
}

func (w *busWatch) touched() (conns int32, launched bool) {
	_, err := os.Stat(w.launched)
	return w.conns.Load(), err == nil
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// TestNoDBusForTheFileVault: the keyring library's init connects to the
// session bus, or runs dbus-launch; with the file vault or keyctl neither
// happens, nor with the automatic choice outside a desktop session.
func TestNoDBusForTheFileVault(t *testing.T) {
	home := filepath.Join(t.TempDir(), "oat")
	const pw = "correct horse battery"
	if err := makeVault(filepath.Join(home, store.VaultFile), pw); err != nil {
		t.Fatal(err)
	}
	vaultEnv := []string{"OAT_HOME=" + home, "OAT_PASSPHRASE=" + pw}
	hub := `{"ServerURL":"docker.io","Username":"dbus-test","Secret":"dckr_oat_x"}` // an org of its own: keyctl runs share a keyring

	for _, withAddress := range []bool{false, true} {
		w := watchBus(t, withAddress)
		backends := []string{"file", "keyctl"}
		if !withAddress {
			// The automatic choice tries D-Bus stores only in a desktop
			// session, one that announces its bus.
			backends = append(backends, "")
		}
		for _, backend := range backends {
			env := append([]string{"OAT_BACKEND=" + backend, "OAT_KEYCTL_SCOPE=session"}, vaultEnv...)
			w.run(t, env, hub, "store")
			w.run(t, env, "docker.io\n", "get")
			w.run(t, env, "", "list")
			w.run(t, env, "docker.io\n", "erase")
			w.run(t, env, "", "version")
		}
		if conns, launched := w.touched(); conns != 0 || launched {
			t.Errorf("bus address set=%v: %d connections to the session bus, dbus-launch run=%v; want none", withAddress, conns, launched)
		}
	}

	// The same watch sees a process that does open the bus: asking for a
	// D-Bus store lets the library's init connect.
	w := watchBus(t, true)
	w.run(t, []string{"OAT_BACKEND=secret-service"}, "", "version")
	if conns, _ := w.touched(); conns == 0 {
		t.Errorf("OAT_BACKEND=secret-service: no connection seen; the watch would miss one")
	}
}
