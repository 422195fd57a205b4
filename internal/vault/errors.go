package vault

import (
	"errors"
	"fmt"
	"io/fs"
)

// ErrWrongPassphrase is returned when the passphrase does not open the vault.
var ErrWrongPassphrase = errors.New("wrong passphrase")

// ErrReadOnly is returned by every write to a vault opened ReadOnly.
var ErrReadOnly = errors.New("the vault is open read-only")

// ErrLocked is returned when another process holds the vault's write lock for
// longer than LockTimeout.
var ErrLocked = errors.New("the vault is being written by another process")

// CorruptError says that a vault file exists but cannot be used: truncated,
// damaged, modified, swapped for something else, or written by a newer
// version. Nothing is written over such a file.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("vault %s is not usable: %s", e.Path, e.Reason)
}

// PermissionError says that the vault or its directory is open to other users
// or owned by someone else.
type PermissionError struct {
	Path string
	Mode fs.FileMode // the mode found
	Want fs.FileMode // the mode to set
	// Owner is set when the file belongs to another user.
	Owner string
}

func (e *PermissionError) Error() string {
	if e.Owner != "" {
		return fmt.Sprintf("%s belongs to %s, not to the current user", e.Path, e.Owner)
	}
	return fmt.Sprintf("%s is accessible by other users (mode %04o); run: chmod %o %s", e.Path, e.Mode.Perm(), e.Want.Perm(), e.Path)
}

// RollbackError says that the vault opened with the right key but is not the
// one last written here: an older copy, or another vault sealed with the same
// passphrase. Nothing is written over such a file.
type RollbackError struct {
	Path   string
	State  string // the state file that remembers the vault last written
	Reason string
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("vault %s is not usable: %s", e.Path, e.Reason)
}
