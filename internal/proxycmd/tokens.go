package proxycmd

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

// tokenSource reads the token records from the store, again when the vault
// file changes or on SIGHUP.
type tokenSource struct {
	store   *store.Store
	path    string
	modTime time.Time
	forced  chan struct{}
}

func openTokens(getenv func(string) string, log *slog.Logger) (*tokenSource, error) {
	s, err := store.Open(store.Config{Getenv: getenv, Logger: log})
	if err != nil {
		return nil, err
	}
	ts := &tokenSource{store: s, path: s.Location(), forced: make(chan struct{}, 1)}
	all, err := ts.Tokens()
	if err != nil {
		return nil, fmt.Errorf("read the token records: %w", err)
	}
	log.Info("token records read", "tokens", len(all), "store", s.Location())
	return ts, nil
}

// Tokens reads the records.
func (t *tokenSource) Tokens() ([]oat.Token, error) {
	if fi, err := os.Stat(t.path); err == nil {
		t.modTime = fi.ModTime()
	}
	return t.store.Tokens()
}

// Changed reports a changed vault file, or a SIGHUP.
func (t *tokenSource) Changed() bool {
	select {
	case <-t.forced:
		return true
	default:
	}
	fi, err := os.Stat(t.path)
	return err == nil && !fi.ModTime().Equal(t.modTime)
}

func (t *tokenSource) force() {
	select {
	case t.forced <- struct{}{}:
	default:
	}
}
