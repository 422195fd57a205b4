package filelock

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockExcludes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description: a second open in
	// this process waits like another process would.
	if _, err := Lock(path, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second lock while held: %v, want ErrTimeout", err)
	}
	unlock()
	again, err := Lock(path, time.Second)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
