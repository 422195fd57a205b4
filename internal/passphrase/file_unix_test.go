//go:build unix

package passphrase

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A passphrase file must be a regular file only its owner can read; anything
// else is refused at once, never waited on.
func TestFileRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	if err := os.WriteFile(shared, []byte("file passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o640); err != nil {
		t.Fatal(err)
	}
	world := filepath.Join(dir, "world")
	if err := os.WriteFile(world, []byte("file passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(world, 0o604); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"group readable", shared, "can be read by others (mode 0640); run: chmod 600 " + shared},
		{"world readable", world, "run: chmod 600 " + world},
		{"fifo with no writer", fifo, "is not a regular file"},
		{"directory", dir, "is not a regular file"},
		{"device", "/dev/zero", "is not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			done := make(chan error, 1)
			go func() {
				_, err := Source{Getenv: env(map[string]string{EnvFile: tt.path}), OpenTTY: noTTY}.Get(false)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Get() error = %v, want it to contain %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "file passphrase") {
					t.Fatalf("error carries the passphrase: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Get() hangs on the file")
			}
		})
	}
}

// GroupReadable (a Secret mounted for a pod's fsGroup, 0440) accepts a
// file its group may read, and still refuses one others may read.
func TestGroupReadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("mounted passphrase\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	group, world := write("group", 0o440), write("world", 0o444)
	src := func(path string) Source {
		return Source{Getenv: env(map[string]string{EnvFile: path}), OpenTTY: noTTY, GroupReadable: true}
	}
	if got, err := src(group).Get(false); err != nil || string(got) != "mounted passphrase" {
		t.Errorf("0440 with GroupReadable: %q %v", got, err)
	}
	if _, err := src(world).Get(false); err == nil || !strings.Contains(err.Error(), "run: chmod 600") {
		t.Errorf("0444 with GroupReadable: %v, want a refusal", err)
	}
	if _, err := (Source{Getenv: env(map[string]string{EnvFile: group}), OpenTTY: noTTY}).Get(false); err == nil {
		t.Error("0440 without GroupReadable was accepted")
	}
}
