//go:build unix

package proxycmd

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// readMounted reads a file of a mounted Secret: owned by root or the
// current user, and closed to others.
func readMounted(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%s belongs to uid %d, not to root or the current user", path, st.Uid)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("%s is accessible by other users (mode %04o); mount it with defaultMode 0440", path, fi.Mode().Perm())
	}
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
