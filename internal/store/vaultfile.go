package store

import (
	"log/slog"

	"github.com/oatkit/oat/internal/vault"
)

// VaultConfig names one file vault directly, whatever the environment
// chooses: a vault mounted from a Kubernetes Secret, or one being exported.
type VaultConfig struct {
	// Path is the vault file.
	Path string
	// Passphrase reads its passphrase.
	Passphrase vault.PassphraseFunc
	// ReadOnly opens it for reading only (see vault.Options.ReadOnly).
	ReadOnly bool
	// Params are the KDF parameters of a new vault (the default if zero).
	Params vault.Params
	// Logger receives diagnostics (discarded if nil).
	Logger *slog.Logger
}

// OpenVault returns the store over the file vault cfg names. Nothing is
// read until it is used.
func OpenVault(cfg VaultConfig) *Store {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := vault.New(vault.Options{Path: cfg.Path, Passphrase: cfg.Passphrase, Params: cfg.Params, ReadOnly: cfg.ReadOnly})
	return &Store{kr: v, backend: BackendFile, location: cfg.Path, log: log}
}
