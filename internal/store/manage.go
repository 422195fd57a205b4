package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/oatkit/oat/internal/vault"
)

// ErrNoVault is returned by the operations that only the file vault has
// (unlock, lock, reset) on another backend.
var ErrNoVault = errors.New("not a file vault")

// Description says what the store is, for doctor.
type Description struct {
	// Where names the store: "file vault PATH" or "the keyctl store".
	Where string
	// Vault is true for the file vault; Exists, KDF and Unlocked then say
	// whether its file exists, how its key is derived, and whether the
	// derived key is in the unlock cache.
	Vault    bool
	Exists   bool
	KDF      string
	Unlocked bool
}

// Describe says what the store is, without unlocking it.
func (s *Store) Describe() Description {
	v, ok := s.kr.(*vault.Vault)
	if !ok {
		return Description{Where: "the " + s.backend + " store"}
	}
	d := Description{Where: "file vault " + v.Path(), Vault: true}
	d.Exists, _ = v.Exists()
	if vd, err := v.Describe(); err == nil && vd.Exists {
		d.KDF = vd.KDF.String()
	}
	d.Unlocked = d.Exists && v.Unlocked()
	return d
}

// Verify proves the store works: it unlocks the file vault, or makes a test
// write, read and removal in an OS store.
func (s *Store) Verify() error {
	if _, err := s.kr.Keys(); err != nil {
		return err
	}
	if _, ok := s.kr.(*vault.Vault); ok {
		return nil
	}
	return Probe(s.kr)
}

func (s *Store) vault() (*vault.Vault, error) {
	v, ok := s.kr.(*vault.Vault)
	if !ok {
		return nil, fmt.Errorf("the %s store has no passphrase or vault file: %w", s.backend, ErrNoVault)
	}
	return v, nil
}

// Unlock derives the file vault's key (asking for the passphrase) and keeps
// it in the unlock cache for ttl.
func (s *Store) Unlock(ttl time.Duration) error {
	v, err := s.vault()
	if err != nil {
		return err
	}
	return v.Unlock(ttl)
}

// Lock forgets the file vault's cached key.
func (s *Store) Lock() error {
	v, err := s.vault()
	if err != nil {
		return err
	}
	return v.Lock()
}

// Reset moves the file vault aside, never deleting it, and returns where it
// went; "" when there was no vault.
func (s *Store) Reset() (string, error) {
	v, err := s.vault()
	if err != nil {
		return "", err
	}
	if exists, err := v.Exists(); err != nil || !exists {
		return "", err
	}
	return v.Reset()
}
