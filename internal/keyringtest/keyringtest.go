// Package keyringtest sets up throwaway OS credential stores on a Linux
// machine — a D-Bus session bus with an unlocked gnome-keyring (Secret
// Service), and pass with a passphrase-less gpg key — for the end-to-end
// tests and the comparison benchmarks. Every process it starts is stopped
// by its PID; every file lives under one directory.
package keyringtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SecretService is a session bus with gnome-keyring's Secret Service.
type SecretService struct {
	Env  []string // DBUS_SESSION_BUS_ADDRESS and the XDG directories
	pids []int
}

// StartSecretService starts dbus-daemon and an unlocked gnome-keyring under
// dir.
func StartSecretService(dir string) (*SecretService, error) {
	for _, tool := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed", tool)
		}
	}
	runtime, data := filepath.Join(dir, "run"), filepath.Join(dir, "data")
	for _, d := range []string{runtime, data} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	s := &SecretService{}
	out, err := exec.Command("dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1").Output()
	if err != nil {
		return nil, fmt.Errorf("dbus-daemon: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return nil, fmt.Errorf("dbus-daemon printed %q", out)
	}
	pid, _ := strconv.Atoi(lines[1])
	s.pids = append(s.pids, pid)
	s.Env = []string{"DBUS_SESSION_BUS_ADDRESS=" + lines[0], "XDG_RUNTIME_DIR=" + runtime, "XDG_DATA_HOME=" + data}

	kr := exec.Command("gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground")
	kr.Env = append(os.Environ(), s.Env...)
	kr.Stdin = strings.NewReader("throwaway keyring password")
	kr.Stdout, kr.Stderr = io.Discard, io.Discard
	if err := kr.Start(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("gnome-keyring-daemon: %w", err)
	}
	s.pids = append(s.pids, kr.Process.Pid)
	go func() { _ = kr.Wait() }()
	// Wait for the service to own its name on the bus.
	deadline := time.Now().Add(10 * time.Second)
	for {
		probe := exec.Command("dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets")
		probe.Env = append(os.Environ(), s.Env...)
		if out, err := probe.Output(); err == nil && strings.Contains(string(out), "true") {
			return s, nil
		} else if errors.Is(err, exec.ErrNotFound) {
			time.Sleep(500 * time.Millisecond) // no dbus-send: give it a moment
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("gnome-keyring did not take org.freedesktop.secrets within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends the daemons by PID.
func (s *SecretService) Stop() {
	for i := len(s.pids) - 1; i >= 0; i-- {
		_ = syscall.Kill(s.pids[i], syscall.SIGTERM)
	}
	s.pids = nil
}

// Pass is a password store with its own gpg home and key.
type Pass struct {
	Env []string // GNUPGHOME and PASSWORD_STORE_DIR
}

// SetupPass makes a gpg key without a passphrase and a password store for
// it under dir.
func SetupPass(dir string) (*Pass, error) {
	for _, tool := range []string{"pass", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s is not installed", tool)
		}
	}
	gnupg, store := filepath.Join(dir, "gnupg"), filepath.Join(dir, "password-store")
	if err := os.MkdirAll(gnupg, 0o700); err != nil {
		return nil, err
	}
	p := &Pass{Env: []string{"GNUPGHOME=" + gnupg, "PASSWORD_STORE_DIR=" + store}}
	const id = "oat-bench@example.invalid"
	run := func(name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), p.Env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, firstLines(out))
		}
		return nil
	}
	if err := run("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", id, "default", "default", "never"); err != nil {
		return nil, err
	}
	if err := run("pass", "init", id); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// Stop ends the gpg-agent gpg started for this home.
func (p *Pass) Stop() {
	cmd := exec.Command("gpgconf", "--kill", "all")
	cmd.Env = append(os.Environ(), p.Env...)
	_ = cmd.Run()
}

func firstLines(b []byte) string {
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	var out []string
	for sc.Scan() && len(out) < 3 {
		out = append(out, sc.Text())
	}
	return strings.Join(out, " / ")
}
