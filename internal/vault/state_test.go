package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantRefused checks that v refuses to read or write the file at its path
// with a RollbackError saying reason, and leaves the file as it is.
func wantRefused(t *testing.T, v *Vault, reason string) {
	t.Helper()
	before := mustRead(t, v.Path())
	_, err := v.Get("a")
	var re *RollbackError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), reason) || !strings.Contains(err.Error(), v.Path()) {
		t.Fatalf("Get: %v, want a RollbackError naming the vault and saying %q", err, reason)
	}
	if re.State != statePath(v.Path()) {
		t.Errorf("RollbackError.State = %q, want %q", re.State, statePath(v.Path()))
	}
	if err := v.Set(keyring.Item{Key: "a", Data: []byte("new")}); !errors.As(err, &re) {
		t.Errorf("Set over a refused vault: %v, want a RollbackError", err)
	}
	if err := v.Unlock(time.Minute); !errors.As(err, &re) {
		t.Errorf("Unlock of a refused vault: %v, want a RollbackError", err)
	}
	if !bytes.Equal(mustRead(t, v.Path()), before) {
		t.Error("refused vault was overwritten")
	}
}

func TestRollbackDetected(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "a", "1")
	old := mustRead(t, v.Path())
	mustSet(t, v, "a", "2")
	if err := os.WriteFile(v.Path(), old, 0o600); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, reopen(v, "pw-123456"), "generation 1; generation 2 was written since): rolled back")

	// Removing the state file is how a person accepts a restored copy.
	if err := os.Remove(statePath(v.Path())); err != nil {
		t.Fatal(err)
	}
	if it, err := reopen(v, "pw-123456").Get("a"); err != nil || string(it.Data) != "1" {
		t.Fatalf("Get after removing the state: %q, %v", it.Data, err)
	}
}

func TestSwapSamePassphraseDetected(t *testing.T) {
	t.Parallel()
	v := newVault(t, "shared passphrase")
	mustSet(t, v, "a", "mine")
	other := newVault(t, "shared passphrase")
	mustSet(t, other, "a", "theirs")
	mustSet(t, other, "b", "theirs") // a higher generation than ours
	if err := os.WriteFile(v.Path(), mustRead(t, other.Path()), 0o600); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, reopen(v, "shared passphrase"), "a different vault from the one this machine wrote (swapped)")
}

func TestLegacyVaultUpgraded(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	if err := os.MkdirAll(filepath.Dir(v.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	kdf, err := newKDF(fastParams)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.Marshal(contents{Items: map[string]entry{"a": {Data: []byte("legacy")}}})
	image, err := seal(kdf, state{}, deriveKey([]byte("pw-123456"), kdf), plain)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v.Path(), image, 0o600); err != nil {
		t.Fatal(err)
	}
	if it, err := v.Get("a"); err != nil || string(it.Data) != "legacy" {
		t.Fatalf("Get from a format 1 vault: %q, %v", it.Data, err)
	}
	mustSet(t, v, "b", "new")
	env, err := parse(v.Path(), mustRead(t, v.Path()))
	if err != nil || env.Version != formatVersion || len(env.ID) != idLen || env.Generation != 1 {
		t.Fatalf("after a write: %+v, %v; want format %d with an identity, generation 1", env, err, formatVersion)
	}
	fi, err := os.Stat(statePath(v.Path()))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v; want mode 0600", fi, err)
	}
	// The format 1 copy is now an older one.
	if err := os.WriteFile(v.Path(), image, 0o600); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, reopen(v, "pw-123456"), "older copy")
}

func TestStateFileChecked(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "a", "1")
	sp := statePath(v.Path())
	if err := os.Chmod(sp, 0o644); err != nil {
		t.Fatal(err)
	}
	var pe *PermissionError
	if _, err := reopen(v, "pw-123456").Get("a"); !errors.As(err, &pe) || !strings.Contains(err.Error(), "chmod 600 "+sp) {
		t.Fatalf("Get with a world-readable state file: %v", err)
	}
	if err := os.Remove(sp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp, []byte(`{"id":"AAAA","generation":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reopen(v, "pw-123456").Get("a"); err == nil || !strings.Contains(err.Error(), "state file is damaged") {
		t.Fatalf("Get with a damaged state file: %v", err)
	}
}

func TestResetForgetsIdentity(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "a", "1")
	mustSet(t, v, "a", "2")
	if _, err := v.Reset(); err != nil {
		t.Fatal(err)
	}
	w := reopen(v, "pw-123456")
	mustSet(t, w, "a", "fresh")
	if it, err := reopen(v, "pw-123456").Get("a"); err != nil || string(it.Data) != "fresh" {
		t.Fatalf("Get after reset: %q, %v", it.Data, err)
	}
}

// A new vault's passphrase is asked before the write lock is taken: a person
// slow at the prompt does not make other writers wait.
func TestNewVaultAsksBeforeLocking(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "store")
	path := filepath.Join(dir, "oat.vault")
	asking, answer := make(chan struct{}), make(chan struct{})
	var prompts atomic.Int32
	slow := New(Options{Path: path, Params: fastParams, Passphrase: func(create bool) ([]byte, error) {
		if prompts.Add(1) == 1 {
			close(asking)
			<-answer // a person typing
		}
		return []byte("pw-123456"), nil
	}})
	done := make(chan error, 1)
	go func() { done <- slow.Set(keyring.Item{Key: "slow", Data: []byte("1")}) }()
	<-asking

	quick := New(Options{Path: path, Params: fastParams, Passphrase: fixed("pw-123456"), LockTimeout: 2 * time.Second})
	if err := quick.Set(keyring.Item{Key: "quick", Data: []byte("2")}); err != nil {
		t.Fatalf("a writer waited for another's prompt: %v", err)
	}
	close(answer)
	if err := <-done; err != nil {
		t.Fatalf("the slow writer, after the vault appeared: %v", err)
	}
	keys, err := reopen(quick, "pw-123456").Keys()
	if err != nil || strings.Join(keys, ",") != "quick,slow" {
		t.Fatalf("Keys = %v, %v; want both writers' items", keys, err)
	}
}
