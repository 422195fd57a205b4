package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// The state file, next to the vault and outside it, remembers which vault
// this is and the newest generation written. A vault's identity and
// generation are in its authenticated header, so an older copy of the vault
// (rolled back) or another vault sealed with the same passphrase (swapped)
// opens, authenticates, and is then refused because it does not match the
// state. Someone who can replace both files together is not detected: the
// state file is a tripwire, not a trust anchor.
const (
	stateSuffix  = ".state"
	idLen        = 16
	maxStateSize = 4096
)

type state struct {
	ID         []byte `json:"id"`
	Generation uint64 `json:"generation"`
}

func statePath(vaultPath string) string { return vaultPath + stateSuffix }

func newID() ([]byte, error) {
	id := make([]byte, idLen)
	_, err := rand.Read(id)
	return id, err
}

// readState returns the recorded state, or nil when there is none yet.
func readState(vaultPath string) (*state, error) {
	path := statePath(vaultPath)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkPrivateFile(f, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("read vault state: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st state
	if len(data) > maxStateSize || dec.Decode(&st) != nil || len(st.ID) != idLen || st.Generation < 1 {
		return nil, &RollbackError{Path: vaultPath, State: path, Reason: "its state file is damaged"}
	}
	return &st, nil
}

func writeState(vaultPath string, st state) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := writeAtomic(statePath(vaultPath), append(data, '\n')); err != nil {
		return fmt.Errorf("record vault state: %w", err)
	}
	return nil
}

// checkState compares an authenticated header with the recorded state.
func checkState(vaultPath string, h *header, st *state) error {
	if st == nil {
		return nil // first use, or a vault from before state files
	}
	switch {
	case len(h.ID) == 0:
		return &RollbackError{Path: vaultPath, State: statePath(vaultPath), Reason: "it is an older copy, written before this vault's current one (no identity)"}
	case !bytes.Equal(h.ID, st.ID):
		return &RollbackError{Path: vaultPath, State: statePath(vaultPath), Reason: "it is a different vault from the one this machine wrote (swapped)"}
	case h.Generation < st.Generation:
		return &RollbackError{Path: vaultPath, State: statePath(vaultPath),
			Reason: fmt.Sprintf("it is an older copy (generation %d; generation %d was written since): rolled back", h.Generation, st.Generation)}
	}
	return nil
}
