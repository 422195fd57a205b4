package vault

import (
	"errors"
	"time"

	"github.com/oatkit/oat/internal/filelock"

	"fmt"
	"os"
	"path/filepath"
)

const tempPattern = ".oat-vault-*.tmp"

// writeAtomic replaces path with data: a private temporary file in the same
// directory, written and synced, renamed over path, and the directory synced,
// so that a crash leaves either the old or the new file, never a mix.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern) // mode 0600
	if err != nil {
		return fmt.Errorf("write vault: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write vault: %w", err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write vault: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write vault: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write vault: %w", err)
	}
	return syncDir(dir)
}

// removeStaleTemps deletes temporary files left by writers that died. It is
// called with the write lock held, so no live writer owns one.
func removeStaleTemps(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern))
	for _, m := range matches {
		_ = os.Remove(m)
	}
}

// lockFile takes the vault's write lock, waiting up to timeout.
func lockFile(path string, timeout time.Duration) (func(), error) {
	unlock, err := filelock.Lock(path, timeout)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, fmt.Errorf("%w (waited %s for %s)", ErrLocked, timeout, path)
	}
	return unlock, err
}
