//go:build unix

package vault

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/99designs/keyring"
	"github.com/google/go-cmp/cmp"
)

// mountLike lays out dir as kubelet mounts a Secret: a timestamped
// directory holding the file, a ..data symlink to it and name pointing
// through ..data; directories 0755, the file 0440.
func mountLike(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	ts := filepath.Join(dir, "..2026_12_02_10_00_00.000000001")
	if err := os.MkdirAll(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ts, name), data, 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(ts), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func TestReadOnlyMountedSecret(t *testing.T) {
	t.Parallel()
	src := newVault(t, "pass")
	mustSet(t, src, "token/acme/ci", "secret-ci")
	image, err := os.ReadFile(src.Path())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "secret")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mountLike(t, dir, "oat.vault", image)
	before := listDir(t, dir)

	ro := New(Options{Path: filepath.Join(dir, "oat.vault"), Passphrase: fixed("pass"), ReadOnly: true})
	item, err := ro.Get("token/acme/ci")
	if err != nil {
		t.Fatalf("Get on a mounted read-only vault: %v", err)
	}
	if string(item.Data) != "secret-ci" {
		t.Fatalf("Get: wrong data")
	}
	if _, err := ro.Items(""); err != nil {
		t.Fatal(err)
	}
	if err := ro.Set(keyring.Item{Key: "x", Data: []byte("y")}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Set on a read-only vault: %v, want ErrReadOnly", err)
	}
	if err := ro.Remove("token/acme/ci"); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Remove on a read-only vault: %v, want ErrReadOnly", err)
	}
	if _, err := ro.Reset(); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Reset on a read-only vault: %v, want ErrReadOnly", err)
	}
	if diff := cmp.Diff(before, listDir(t, dir)); diff != "" {
		t.Fatalf("reading a read-only vault changed its directory (-before +after):\n%s", diff)
	}

	// The same layout opened for writing is refused: its directory is
	// open to others.
	rw := New(Options{Path: filepath.Join(dir, "oat.vault"), Passphrase: fixed("pass")})
	var perm *PermissionError
	if _, err := rw.Get("token/acme/ci"); !errors.As(err, &perm) {
		t.Fatalf("Get through a writable vault in a shared directory: %v, want a PermissionError", err)
	}
}

func TestReadOnlyRefusesWorldReadable(t *testing.T) {
	t.Parallel()
	src := newVault(t, "pass")
	mustSet(t, src, "k", "v")
	if err := os.Chmod(src.Path(), 0o444); err != nil {
		t.Fatal(err)
	}
	ro := New(Options{Path: src.Path(), Passphrase: fixed("pass"), ReadOnly: true})
	var perm *PermissionError
	if _, err := ro.Get("k"); !errors.As(err, &perm) {
		t.Fatalf("Get on a world-readable read-only vault: %v, want a PermissionError", err)
	}
}
