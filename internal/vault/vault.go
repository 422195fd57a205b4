// Package vault is an encrypted file of keyring items: the store for machines
// with no usable OS keyring (headless Linux, CI runners). It implements
// keyring.Keyring from github.com/99designs/keyring.
//
// Everything but the key-derivation parameters is encrypted: key names,
// labels, usernames, server URLs and secrets. The key comes from a passphrase
// through argon2id; the contents are sealed with XChaCha20-Poly1305. Writers
// hold an exclusive lock and replace the file atomically, so readers, which
// take no lock, always see a whole vault.
package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/keyring"

	"github.com/oatkit/oat/internal/keycache"
)

// PassphraseFunc returns the vault's passphrase. create is true when a new
// vault is about to be made with it (a prompt should ask twice).
type PassphraseFunc func(create bool) ([]byte, error)

// Options configure a Vault.
type Options struct {
	// Path is the vault file. Its directory is created (0700) on first write.
	Path string
	// Passphrase is asked only when the vault must be opened or created.
	Passphrase PassphraseFunc
	// Attempts is how many times to ask after a wrong passphrase (1 unless the
	// passphrase comes from a prompt).
	Attempts int
	// Params are the KDF parameters of a new vault (DefaultParams if zero).
	// An existing vault keeps the parameters stored in it.
	Params Params
	// LockTimeout bounds the wait for another writer (30s if zero).
	LockTimeout time.Duration
	// Cache, if set, holds derived keys between processes: a key found
	// there is used without asking for the passphrase.
	Cache KeyCache
	// CacheFor, if positive, puts a key derived from the passphrase into
	// Cache for that long (automatic unlock on first use).
	CacheFor time.Duration
	// ReadOnly opens the vault for reading only: every write fails with
	// ErrReadOnly, no lock file or directory is made, and the file may be
	// a Secret that kubelet mounted read-only: owned by root or the
	// current user, readable by its group (fsGroup) but not by others, in
	// directories that are not checked (kubelet owns them, and the mount
	// cannot be written).
	ReadOnly bool
}

// KeyCache keeps derived keys (see package keycache).
type KeyCache interface {
	Get(name string) ([]byte, error)
	Put(name string, secret []byte, ttl time.Duration) error
	Delete(name string) error
}

// Vault is an encrypted file vault. Its methods are safe for concurrent use,
// within a process and across processes.
type Vault struct {
	opts Options

	mu  sync.Mutex
	key *key // the key derived last, reused while the salt is the same
}

var _ keyring.Keyring = (*Vault)(nil)

// New returns the vault at opts.Path. Nothing is read until it is used.
func New(opts Options) *Vault {
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	if opts.Attempts < 1 {
		opts.Attempts = 1
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 30 * time.Second
	}
	return &Vault{opts: opts}
}

// Path returns the vault file's path.
func (v *Vault) Path() string { return v.opts.Path }

// contents is the plaintext of a vault.
type contents struct {
	Items map[string]entry `json:"items"`
}

type entry struct {
	Label       string    `json:"label,omitempty"`
	Description string    `json:"description,omitempty"`
	Data        []byte    `json:"data"`
	Modified    time.Time `json:"modified"`
}

// Exists reports whether the vault file exists (it is made by the first write).
func (v *Vault) Exists() (bool, error) {
	_, err := os.Stat(v.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Get returns the item stored under key, or keyring.ErrKeyNotFound.
func (v *Vault) Get(key string) (keyring.Item, error) {
	c, err := v.load()
	if err != nil {
		return keyring.Item{}, err
	}
	e, ok := c.Items[key]
	if !ok {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	return keyring.Item{Key: key, Label: e.Label, Description: e.Description, Data: e.Data}, nil
}

// GetMetadata returns an item without its data. Key names are encrypted, so
// this needs the passphrase like everything else.
func (v *Vault) GetMetadata(key string) (keyring.Metadata, error) {
	c, err := v.load()
	if err != nil {
		return keyring.Metadata{}, err
	}
	e, ok := c.Items[key]
	if !ok {
		return keyring.Metadata{}, keyring.ErrKeyNotFound
	}
	return keyring.Metadata{
		Item:             &keyring.Item{Key: key, Label: e.Label, Description: e.Description},
		ModificationTime: e.Modified,
	}, nil
}

// Keys returns the keys of all items, sorted.
func (v *Vault) Keys() ([]string, error) {
	c, err := v.load()
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(c.Items))
	for k := range c.Items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// Set stores item, creating the vault if there is none.
func (v *Vault) Set(item keyring.Item) error {
	if item.Key == "" {
		return errors.New("vault: empty key")
	}
	now := time.Now().UTC()
	return v.update(func(items map[string]entry) error {
		items[item.Key] = entry{Label: item.Label, Description: item.Description, Data: item.Data, Modified: now}
		return nil
	})
}

// Remove deletes the item stored under key, or returns keyring.ErrKeyNotFound.
func (v *Vault) Remove(key string) error {
	return v.update(func(items map[string]entry) error {
		if _, ok := items[key]; !ok {
			return keyring.ErrKeyNotFound
		}
		delete(items, key)
		return nil
	})
}

// Batch applies fn to the items under one lock and one write: fn's error
// aborts the change and the vault is left as it was.
func (v *Vault) Batch(fn func(tx *Tx) error) error {
	now := time.Now().UTC()
	return v.update(func(items map[string]entry) error {
		return fn(&Tx{items: items, now: now})
	})
}

// Tx is the view of the items inside Batch.
type Tx struct {
	items map[string]entry
	now   time.Time
}

// Get returns the item under key, and whether there is one.
func (tx *Tx) Get(key string) (keyring.Item, bool) {
	e, ok := tx.items[key]
	return keyring.Item{Key: key, Label: e.Label, Description: e.Description, Data: e.Data}, ok
}

// Keys returns the keys of all items, sorted.
func (tx *Tx) Keys() []string {
	keys := make([]string, 0, len(tx.items))
	for k := range tx.items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Set stores item.
func (tx *Tx) Set(item keyring.Item) {
	tx.items[item.Key] = entry{Label: item.Label, Description: item.Description, Data: item.Data, Modified: tx.now}
}

// Remove deletes the item under key, if any.
func (tx *Tx) Remove(key string) { delete(tx.items, key) }

// load reads and decrypts the vault. A vault that does not exist yet is empty.
func (v *Vault) load() (*contents, error) {
	c, _, err := v.read()
	if isNoVault(err) {
		return &contents{Items: map[string]entry{}}, nil
	}
	return c, err
}

// noVaultError is read's answer when there is no vault file (yet): the open
// error, told apart from other fs.ErrNotExist (a missing passphrase file).
type noVaultError struct{ err error }

func (e *noVaultError) Error() string { return e.err.Error() }
func (e *noVaultError) Unwrap() error { return e.err }

func isNoVault(err error) bool {
	var nv *noVaultError
	return errors.As(err, &nv)
}

// read reads, decrypts and checks the vault against its state file. The state
// is read first: writers record it after the vault, so a vault read after its
// state is never older than it, even while another process writes.
func (v *Vault) read() (*contents, *envelope, error) {
	var st *state
	if !v.opts.ReadOnly { // a mounted copy has no state file beside it
		var err error
		if st, err = readState(v.opts.Path); err != nil {
			return nil, nil, err
		}
	}
	data, err := v.readFile()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &noVaultError{err}
	}
	if err != nil {
		return nil, nil, err
	}
	env, err := parse(v.opts.Path, data)
	if err != nil {
		return nil, nil, err
	}
	c, err := v.decrypt(env)
	if err != nil {
		return nil, nil, err
	}
	if !v.opts.ReadOnly {
		if err := checkState(v.opts.Path, &env.header, st); err != nil {
			return nil, nil, err
		}
	}
	return c, env, nil
}

func (v *Vault) decrypt(env *envelope) (*contents, error) {
	plain, err := v.openWithKey(env)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	var c contents
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, &CorruptError{Path: v.opts.Path, Reason: "the decrypted contents are not valid"}
	}
	if c.Items == nil {
		c.Items = map[string]entry{}
	}
	return &c, nil
}

// openWithKey decrypts env, deriving the key unless the one derived last has
// the same salt and parameters, and asking again after a wrong passphrase if
// the passphrase comes from a prompt.
func (v *Vault) openWithKey(env *envelope) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.key != nil && v.key.id == kdfID(env.KDF) {
		return open(v.opts.Path, env, v.key)
	}
	if k := v.cached(env.KDF); k != nil {
		plain, err := open(v.opts.Path, env, k)
		if err == nil {
			v.key = k
			return plain, nil
		}
		_ = v.opts.Cache.Delete(v.cacheName(env.KDF)) // stale: the vault changed
	}
	var err error
	for range v.opts.Attempts {
		var k *key
		k, err = v.derive(env.KDF, false)
		if err != nil {
			return nil, err
		}
		var plain []byte
		plain, err = open(v.opts.Path, env, k)
		if err == nil {
			v.key = k
			if v.opts.CacheFor > 0 {
				_ = v.cache(k, env.KDF, v.opts.CacheFor)
			}
			return plain, nil
		}
		if !errors.Is(err, ErrWrongPassphrase) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: %w", v.opts.Path, err)
}

// cacheName names a key in the cache: the vault's path and its KDF salt
// and parameters, so a new vault or passphrase never meets an old key.
func (v *Vault) cacheName(kdf kdfHeader) string {
	sum := sha256.Sum256([]byte(v.opts.Path + "\x00" + kdfID(kdf)))
	return hex.EncodeToString(sum[:16])
}

// cached returns the key the cache holds for kdf, or nil.
func (v *Vault) cached(kdf kdfHeader) *key {
	if v.opts.Cache == nil {
		return nil
	}
	b, err := v.opts.Cache.Get(v.cacheName(kdf))
	if err != nil || len(b) != 2*keyLen {
		return nil
	}
	k := &key{id: kdfID(kdf), enc: b[:keyLen:keyLen], check: b[keyLen:]}
	keycache.Lock(b)
	return k
}

func (v *Vault) cache(k *key, kdf kdfHeader, ttl time.Duration) error {
	if v.opts.Cache == nil {
		return errors.New("no key cache")
	}
	b := append(append(make([]byte, 0, 2*keyLen), k.enc...), k.check...)
	defer clear(b)
	return v.opts.Cache.Put(v.cacheName(kdf), b, ttl)
}

// envelope reads and parses the vault file (its header holds the KDF
// parameters the cache is keyed by).
func (v *Vault) envelope() (*envelope, error) {
	data, err := v.readFile()
	if err != nil {
		return nil, err
	}
	return parse(v.opts.Path, data)
}

// Unlock opens the vault (asking for the passphrase unless the key is known
// already) and keeps its key in the cache for ttl.
func (v *Vault) Unlock(ttl time.Duration) error {
	_, env, err := v.read()
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cache(v.key, env.KDF, ttl)
}

// Lock removes the vault's key from the cache.
func (v *Vault) Lock() error {
	if v.opts.Cache == nil {
		return nil
	}
	env, err := v.envelope()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return v.opts.Cache.Delete(v.cacheName(env.KDF))
}

// Unlocked reports whether the cache holds the vault's current key.
func (v *Vault) Unlocked() bool {
	env, err := v.envelope()
	if err != nil {
		return false
	}
	k := v.cached(env.KDF)
	if k == nil {
		return false
	}
	plain, err := open(v.opts.Path, env, k)
	clear(plain)
	return err == nil
}

func (v *Vault) derive(kdf kdfHeader, create bool) (*key, error) {
	if v.opts.Passphrase == nil {
		return nil, errors.New("vault: no passphrase source")
	}
	pass, err := v.opts.Passphrase(create)
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	return deriveKey(pass, kdf), nil
}

// update applies fn to the items under the write lock and replaces the file
// atomically. The vault is created if there is none; fn's error aborts.
func (v *Vault) update(fn func(items map[string]entry) error) error {
	if v.opts.ReadOnly {
		return fmt.Errorf("%s: %w", v.opts.Path, ErrReadOnly)
	}
	dir := filepath.Dir(v.opts.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create vault directory: %w", err)
	}
	if err := checkPrivate(dir, true); err != nil {
		return err
	}

	// Ask for the passphrase and derive the key before taking the lock, so
	// that other writers wait neither for a person at a prompt nor for our
	// KDF.
	var (
		fresh    *key // the key of a new vault
		freshKDF kdfHeader
	)
	_, _, err := v.read()
	switch {
	case isNoVault(err):
		if freshKDF, fresh, err = v.create(); err != nil {
			return err
		}
	case err != nil:
		return err
	}

	unlock, err := lockFile(v.opts.Path+".lock", v.opts.LockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	removeStaleTemps(v.opts.Path)

	var (
		c   *contents
		kdf kdfHeader
		st  state
	)
	c, env, err := v.read()
	switch {
	case isNoVault(err):
		if fresh == nil { // reset by another process since: rare, ask now
			if freshKDF, fresh, err = v.create(); err != nil {
				return err
			}
		}
		kdf = freshKDF
		v.mu.Lock()
		v.key = fresh
		v.mu.Unlock()
		if v.opts.CacheFor > 0 {
			_ = v.cache(fresh, kdf, v.opts.CacheFor)
		}
		c = &contents{Items: map[string]entry{}}
	case err != nil:
		return err
	default:
		kdf, st = env.KDF, state{ID: env.ID, Generation: env.Generation}
	}
	if st.ID == nil { // a new vault, or one from before identities
		if st.ID, err = newID(); err != nil {
			return err
		}
	}
	st.Generation++

	if err := fn(c.Items); err != nil {
		return err
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return err
	}
	v.mu.Lock()
	image, err := seal(kdf, st, v.key, plain)
	v.mu.Unlock()
	clear(plain)
	if err != nil {
		return err
	}
	if err := writeAtomic(v.opts.Path, image); err != nil {
		return err
	}
	return writeState(v.opts.Path, st)
}

// create makes the KDF header and key of a new vault, asking for its
// passphrase (twice, on a prompt).
func (v *Vault) create() (kdfHeader, *key, error) {
	kdf, err := newKDF(v.opts.Params)
	if err != nil {
		return kdfHeader{}, nil, err
	}
	k, err := v.derive(kdf, true)
	if err != nil {
		return kdfHeader{}, nil, err
	}
	return kdf, k, nil
}

// Reset moves an unusable vault aside (never deleting it) so that the next
// write starts a new one. It returns where the old file went.
func (v *Vault) Reset() (string, error) {
	if v.opts.ReadOnly {
		return "", fmt.Errorf("%s: %w", v.opts.Path, ErrReadOnly)
	}
	unlock, err := lockFile(v.opts.Path+".lock", v.opts.LockTimeout)
	if err != nil {
		return "", err
	}
	defer unlock()
	aside := v.opts.Path + ".broken-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(v.opts.Path, aside); err != nil {
		return "", fmt.Errorf("move vault aside: %w", err)
	}
	// The next vault is a new one: forget the old one's identity.
	if err := os.Remove(statePath(v.opts.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("remove vault state: %w", err)
	}
	v.mu.Lock()
	v.key = nil
	v.mu.Unlock()
	return aside, syncDir(filepath.Dir(v.opts.Path))
}

// Describe reports what can be known of the vault without its passphrase.
type Description struct {
	Path   string
	Exists bool
	KDF    Params
}

// Describe reads the vault's public header.
func (v *Vault) Describe() (Description, error) {
	d := Description{Path: v.opts.Path}
	data, err := v.readFile()
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	env, err := parse(v.opts.Path, data)
	if err != nil {
		return d, err
	}
	d.Exists, d.KDF = true, env.KDF.Params
	return d, nil
}

// readFile reads the vault file, read-only or not.
func (v *Vault) readFile() ([]byte, error) {
	if v.opts.ReadOnly {
		return readVaultMounted(v.opts.Path)
	}
	return readVault(v.opts.Path)
}

// readVault reads the vault file after checking who may read it.
func readVault(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkPrivateFile(f, path); err != nil {
		return nil, err
	}
	if err := checkPrivate(filepath.Dir(path), true); err != nil {
		return nil, err
	}
	return readAll(f, path)
}

// readVaultMounted reads a read-only vault (ReadOnly): the file, symlinks
// followed, must belong to root or the current user and be closed to
// others; its directories are not checked.
func readVaultMounted(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkMountedFile(f, path); err != nil {
		return nil, err
	}
	return readAll(f, path)
}

func readAll(f *os.File, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read vault: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, &CorruptError{Path: path, Reason: fmt.Sprintf("larger than %d MiB, not a vault", maxFileSize>>20)}
	}
	return data, nil
}

// Items returns every item whose key starts with prefix, sorted by key, with
// one decryption.
func (v *Vault) Items(prefix string) ([]keyring.Item, error) {
	c, err := v.load()
	if err != nil {
		return nil, err
	}
	var items []keyring.Item
	for k, e := range c.Items {
		if strings.HasPrefix(k, prefix) {
			items = append(items, keyring.Item{Key: k, Label: e.Label, Description: e.Description, Data: e.Data})
		}
	}
	slices.SortFunc(items, func(a, b keyring.Item) int { return strings.Compare(a.Key, b.Key) })
	return items, nil
}
