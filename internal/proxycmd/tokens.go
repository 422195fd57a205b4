package proxycmd

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
)

// tokenSource reads the token records from the store, again when the vault
// file or the passphrase file changes (a new file behind the same path, as
// when kubelet swaps a mounted Secret's ..data symlink, counts) or on
// SIGHUP. A read that fails after a good one keeps the good records, and
// says so in the log.
type tokenSource struct {
	store  *store.Store
	paths  []string // the vault file, and the passphrase file if any
	log    *slog.Logger
	forced chan struct{}
	reads  atomic.Uint64 // good reads so far; written under mu

	mu     sync.Mutex
	seen   []os.FileInfo // of paths, at the last read
	good   []oat.Token
	loaded bool
	stale  bool // the last read failed
	hup    bool // a SIGHUP that no read has followed yet
}

func openTokens(getenv func(string) string, log *slog.Logger) (*tokenSource, error) {
	s, err := store.Open(store.Config{Getenv: getenv, Logger: log})
	if err != nil {
		return nil, err
	}
	vault := s.Location()
	if s.Backend() != store.BackendFile {
		// An OS keyring has no file to stat: its records are read again on
		// SIGHUP alone.
		vault = ""
	}
	return newTokenSource(s, []string{vault, getenv(passphrase.EnvFile)}, log)
}

// openVaultTokens reads the records from the vault file at path, read-only
// (a Secret mounted by kubelet), its passphrase from $OAT_PASSPHRASE_FILE
// (read again when it changes) or $OAT_PASSPHRASE.
func openVaultTokens(path string, getenv func(string) string, log *slog.Logger) (*tokenSource, error) {
	// A Secret mounted for the pod's fsGroup is 0440: its group may read
	// the passphrase file, others never.
	src := passphrase.Source{Getenv: getenv, Subject: "the vault " + path, GroupReadable: true}
	if src.Interactive() {
		return nil, fmt.Errorf("--vault %s: set %s to a file holding its passphrase (or %s)", path, passphrase.EnvFile, passphrase.EnvValue)
	}
	s := store.OpenVault(store.VaultConfig{Path: path, Passphrase: src.Get, ReadOnly: true, Logger: log})
	return newTokenSource(s, []string{path, getenv(passphrase.EnvFile)}, log)
}

func newTokenSource(s *store.Store, paths []string, log *slog.Logger) (*tokenSource, error) {
	ts := &tokenSource{store: s, log: log, forced: make(chan struct{}, 1)}
	for _, p := range paths {
		if p != "" {
			ts.paths = append(ts.paths, p)
		}
	}
	all, err := ts.Tokens()
	if err != nil {
		return nil, fmt.Errorf("read the token records: %w", err)
	}
	log.Info("token records read", "tokens", len(all), "store", s.Location())
	return ts, nil
}

// Tokens reads the records. After a good read, a failing one returns the
// last good records and logs why.
func (t *tokenSource) Tokens() ([]oat.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hup = false
	t.seen = t.stat()
	all, err := t.store.Tokens()
	if err != nil {
		if !t.loaded {
			return nil, err
		}
		t.stale = true
		t.log.Warn("the token records could not be read again; keeping the last good ones",
			"store", t.store.Location(), "tokens", len(t.good), "err", err)
		return t.good, nil
	}
	if t.loaded {
		t.log.Info("token records read again", "tokens", len(all), "store", t.store.Location())
	}
	t.good, t.loaded, t.stale = all, true, false
	t.reads.Add(1)
	return all, nil
}

// Stale reports whether the last read failed (the last good records serve).
func (t *tokenSource) Stale() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stale
}

// Current returns the records, read again first if they changed.
func (t *tokenSource) Current() []oat.Token {
	all, _ := t.current()
	return all
}

// current returns the records, read again first if they changed, and the
// good reads so far, the one they come from included.
func (t *tokenSource) current() ([]oat.Token, uint64) {
	if t.changed() {
		_, _ = t.Tokens() // on error the last good records stay
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.good, t.reads.Load()
}

// Loaded reports whether the records have been read once.
func (t *tokenSource) Loaded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.loaded
}

// changed reports a changed vault or passphrase file, or a SIGHUP, since
// the last read. It asks again until a read has followed: whoever checks
// next sees what another check found.
func (t *tokenSource) changed() bool {
	hup := false
	select {
	case <-t.forced:
		hup = true
	default:
	}
	now := t.stat()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hup = t.hup || hup
	if t.hup {
		return true
	}
	for i, fi := range now {
		if !sameFile(fi, t.seen[i]) {
			return true
		}
	}
	return false
}

// stat stats every path, following symlinks; nil where it fails.
func (t *tokenSource) stat() []os.FileInfo {
	out := make([]os.FileInfo, len(t.paths))
	for i, p := range t.paths {
		if fi, err := os.Stat(p); err == nil {
			out[i] = fi
		}
	}
	return out
}

// sameFile reports whether a and b are the same file, unchanged.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// proxyRecords are the proxy's way to the records. The proxy keeps a copy
// of its own (by secret), so it hears of every read since its last, a read
// for /metrics or /readyz included, and then takes the records that read
// found.
type proxyRecords struct {
	src  *tokenSource
	read atomic.Uint64 // src's good reads as of the copy the proxy holds
}

func (t *tokenSource) forProxy() *proxyRecords { return &proxyRecords{src: t} }

// Tokens returns the records, read again first if they changed.
func (p *proxyRecords) Tokens() ([]oat.Token, error) {
	all, n := p.src.current()
	p.read.Store(n)
	return all, nil
}

// Changed reports records the proxy has not taken yet, or a change of the
// store since the last read.
func (p *proxyRecords) Changed() bool {
	return p.src.reads.Load() != p.read.Load() || p.src.changed()
}

func (t *tokenSource) force() {
	select {
	case t.forced <- struct{}{}:
	default:
	}
}
