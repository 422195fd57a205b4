//go:build windows

package vault

import "os"

// syncDir is not needed on Windows: MoveFileEx with MOVEFILE_WRITE_THROUGH
// (used by os.Rename) is durable.
func syncDir(string) error { return nil }

// checkPrivate relies on the per-user profile ACLs on Windows, where POSIX
// modes say nothing.
func checkPrivate(string, bool) error { return nil }

func checkPrivateFile(*os.File, string) error { return nil }

func checkMountedFile(*os.File, string) error { return nil }
