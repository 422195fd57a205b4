package proxy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CA's private key is written 0600, and a key others can read is refused
// with the chmod to run, never used.
func TestCAKeyPermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	if _, created, err := LoadOrCreateCA(dir); err != nil || !created {
		t.Fatalf("LoadOrCreateCA: created=%v, %v", created, err)
	}
	keyPath := filepath.Join(dir, CAKeyFile)
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("CA key mode %04o, want 0600", perm)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("CA directory: %v, %v; want no group or world access", fi, err)
	}
	before, _ := os.ReadFile(keyPath)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(keyPath, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadOrCreateCA(dir)
		if err == nil || !strings.Contains(err.Error(), "run: chmod 600 "+keyPath) {
			t.Errorf("mode %04o: LoadOrCreateCA error = %v, want a refusal with the chmod", mode, err)
		}
	}
	if after, _ := os.ReadFile(keyPath); string(after) != string(before) {
		t.Error("a refused CA key was replaced")
	}
	if err := os.Chmod(keyPath, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, created, err := LoadOrCreateCA(dir); err != nil || created {
		t.Fatalf("LoadOrCreateCA after chmod 600: created=%v, %v", created, err)
	}
}
