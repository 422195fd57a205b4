package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/99designs/keyring"

	"github.com/oatkit/oat/internal/filelock"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/vault"
)

// Records is one transaction's view of the store: the token records and
// credentials as they are under the store's lock, and the changes to write
// when the transaction's function returns.
type Records struct {
	// Tokens are every token record, sorted by organization and label.
	Tokens []oat.Token

	get    func(key string) (keyring.Item, bool, error)
	writes []write
}

type write struct {
	key    string
	item   *keyring.Item // nil: remove key
	remove bool
}

// Credential returns the credentials stored for server as they are in this
// transaction.
func (r *Records) Credential(server string) (Credential, error) {
	key := CredentialKey(server)
	for i := len(r.writes) - 1; i >= 0; i-- {
		if w := r.writes[i]; w.key == key {
			if w.remove {
				return Credential{}, ErrNotFound
			}
			return decodeCredential(key, *w.item)
		}
	}
	item, ok, err := r.get(key)
	switch {
	case err != nil:
		return Credential{}, err
	case !ok:
		return Credential{}, ErrNotFound
	}
	return decodeCredential(key, item)
}

// PutToken writes t's record, replacing the one with its organization and
// label.
func (r *Records) PutToken(t oat.Token) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	key := TokenKey(t.Org, t.Label)
	r.writes = append(r.writes, write{key: key, item: &keyring.Item{
		Key: key, Data: data,
		Label: "Docker Hub token " + t.Org + "/" + t.Label, Description: "docker-credential-oat",
	}})
	r.setToken(t)
	return nil
}

// RemoveToken removes the record of t's organization and label.
func (r *Records) RemoveToken(t oat.Token) {
	r.writes = append(r.writes, write{key: TokenKey(t.Org, t.Label), remove: true})
	r.Tokens = deleteToken(r.Tokens, t)
}

// PutCredential stores c under its server's key.
func (r *Records) PutCredential(c Credential) error {
	item, err := credentialItem(c)
	if err != nil {
		return err
	}
	r.writes = append(r.writes, write{key: item.Key, item: &item})
	return nil
}

// setToken keeps Tokens what the transaction would read after its writes.
func (r *Records) setToken(t oat.Token) {
	r.Tokens = deleteToken(r.Tokens, t)
	r.Tokens = append(r.Tokens, t)
	sortTokens(r.Tokens)
}

func deleteToken(all []oat.Token, t oat.Token) []oat.Token {
	out := all[:0:0]
	for _, x := range all {
		if x.Org != t.Org || x.Label != t.Label {
			out = append(out, x)
		}
	}
	return out
}

// recordsLockWait bounds the wait for another writer of an OS store's
// records.
const recordsLockWait = 30 * time.Second

// Update runs fn on the records as they are and writes its changes, as one
// transaction: no other writer of the store (in this or another process)
// changes a record between the read and the write. Secrets to be stored
// should be read before, not inside fn, which must not wait on a person.
// fn's error aborts the transaction and writes nothing.
func (s *Store) Update(fn func(r *Records) error) error {
	if v, ok := s.kr.(*vault.Vault); ok {
		return v.Batch(func(tx *vault.Tx) error {
			return transact(kv{
				keys: tx.Keys(),
				get: func(key string) (keyring.Item, bool, error) {
					item, ok := tx.Get(key)
					return item, ok, nil
				},
				set:    func(item keyring.Item) error { tx.Set(item); return nil },
				remove: func(key string) error { tx.Remove(key); return nil },
			}, fn)
		})
	}
	unlock, err := s.lockRecords()
	if err != nil {
		return err
	}
	defer unlock()
	keys, err := s.kr.Keys()
	if err != nil {
		return err
	}
	return transact(kv{
		keys: keys,
		get: func(key string) (keyring.Item, bool, error) {
			item, err := s.kr.Get(key)
			if errors.Is(err, keyring.ErrKeyNotFound) {
				return keyring.Item{}, false, nil
			}
			return item, err == nil, err
		},
		set: s.kr.Set,
		remove: func(key string) error {
			if err := s.kr.Remove(key); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
				return err
			}
			return nil
		},
	}, fn)
}

// kv is what a transaction reads and writes through: the vault's batch, or
// an OS store under our lock.
type kv struct {
	keys   []string
	get    func(key string) (keyring.Item, bool, error)
	set    func(keyring.Item) error
	remove func(key string) error
}

// transact reads the records, runs fn and writes its changes in order.
func transact(k kv, fn func(r *Records) error) error {
	r, err := readRecords(k.get, k.keys)
	if err != nil {
		return err
	}
	if err := fn(r); err != nil {
		return err
	}
	for _, w := range r.writes {
		if w.remove {
			err = k.remove(w.key)
		} else {
			err = k.set(*w.item)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readRecords reads the token records among keys.
func readRecords(get func(string) (keyring.Item, bool, error), keys []string) (*Records, error) {
	var items []keyring.Item
	for _, k := range keys {
		if !strings.HasPrefix(k, tokenPrefix) {
			continue
		}
		item, ok, err := get(k)
		if err != nil {
			return nil, err
		}
		if ok {
			items = append(items, item)
		}
	}
	tokens, err := decodeTokens(items)
	if err != nil {
		return nil, err
	}
	return &Records{Tokens: tokens, get: get}, nil
}

// lockRecords takes the lock around an OS store's read-modify-write: a
// lock file of ours, since the OS stores have no transactions.
func (s *Store) lockRecords() (func(), error) {
	if s.lockPath == "" {
		s.mu.Lock()
		return s.mu.Unlock, nil
	}
	if err := os.MkdirAll(filepath.Dir(s.lockPath), 0o700); err != nil {
		return nil, err
	}
	unlock, err := filelock.Lock(s.lockPath, recordsLockWait)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, fmt.Errorf("another docker-credential-oat is changing the records of the %s store: %w", s.backend, err)
	}
	return unlock, err
}

// ApplyTokens writes token records and removes others (by organization and
// label) in one transaction.
func (s *Store) ApplyTokens(put []oat.Token, remove ...oat.Token) error {
	return s.Update(func(r *Records) error {
		for _, t := range remove {
			r.RemoveToken(t)
		}
		for _, t := range put {
			if err := r.PutToken(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForOrg returns org's token records.
func (r *Records) ForOrg(org string) []oat.Token { return oat.ForOrg(r.Tokens, org) }

// SetDefault writes t as its organization's default, and takes the default
// from the organization's other records: the most recent explicit act picks
// what get hands out.
func (r *Records) SetDefault(t oat.Token) error {
	for _, other := range r.ForOrg(t.Org) {
		if other.Default && other.Label != t.Label {
			other.Default = false
			if err := r.PutToken(other); err != nil {
				return err
			}
		}
	}
	t.Default = true
	return r.PutToken(t)
}

// LoginAs points docker's Docker Hub login at org, so that docker gets
// org's default token. It returns the user docker was logged in as before,
// when that was another organization.
func (r *Records) LoginAs(org string) (string, error) {
	cur, err := r.Credential(hub.IndexServer)
	switch {
	case err == nil && strings.EqualFold(cur.Username, org) && (cur.Secret == "" || strings.HasPrefix(cur.Secret, oat.OATPrefix)):
		return "", nil // already org, by its tokens
	case err != nil && !errors.Is(err, ErrNotFound):
		return "", err
	}
	var was string
	if err == nil && !strings.EqualFold(cur.Username, org) {
		was = cur.Username
	}
	// The login's secret is never handed out while org has tokens.
	return was, r.PutCredential(Credential{Server: hub.IndexServer, Username: org})
}
