//go:build unix

package vault

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync vault directory: %w", err)
	}
	return nil
}

// checkPrivate refuses a directory (or file) that other users can reach or
// that belongs to someone else.
func checkPrivate(path string, isDir bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return checkMode(path, fi, isDir)
}

func checkPrivateFile(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return checkMode(path, fi, false)
}

func checkMode(path string, fi fs.FileInfo, isDir bool) error {
	want := fs.FileMode(0o600)
	if isDir {
		want = 0o700
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return &PermissionError{Path: path, Mode: fi.Mode(), Want: want, Owner: fmt.Sprintf("uid %d", st.Uid)}
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return &PermissionError{Path: path, Mode: fi.Mode(), Want: want}
	}
	return nil
}

// checkMountedFile refuses a read-only vault that others can read or that
// belongs to a user other than root and the current one.
func checkMountedFile(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return &PermissionError{Path: path, Mode: fi.Mode(), Want: 0o440, Owner: fmt.Sprintf("uid %d", st.Uid)}
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return &PermissionError{Path: path, Mode: fi.Mode(), Want: 0o440}
	}
	return nil
}
