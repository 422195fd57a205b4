// Package store keeps registry credentials in a keyring backend: the
// encrypted file vault of package vault, or an OS keyring through
// github.com/99designs/keyring. Records are JSON in the items' data, under
// keys in a scheme of our own; a record read back must carry the key it was
// asked for.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/99designs/keyring"

	"github.com/oatkit/oat/internal/dbusgate"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/keycache"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/vault"
)

// The keyring package has connected (or not) to D-Bus by now; give the
// process its environment back.
func init() { dbusgate.Restore() }

// EnvBackend names the backend to use (defined where the D-Bus gate reads
// it first).
const EnvBackend = dbusgate.EnvBackend

// Backend names.
const (
	BackendFile = "file"
)

// VaultFile is the file vault's name in the data directory.
const VaultFile = "oat.vault"

// ErrNotFound is returned when there is no record for what was asked.
var ErrNotFound = errors.New("not found")

// Config says how to open the store.
type Config struct {
	// Getenv reads the environment (os.Getenv if nil).
	Getenv func(string) string
	// OpenTTY opens the terminal for a passphrase prompt (the controlling
	// terminal if nil).
	OpenTTY func() (passphrase.TTY, error)
	// VaultParams are the KDF parameters of a new file vault (the default
	// if zero).
	VaultParams vault.Params
	// Logger receives diagnostics (discarded if nil).
	Logger *slog.Logger
}

// Store is the credential store.
type Store struct {
	kr       keyring.Keyring
	backend  string
	location string
	notes    []string
	log      *slog.Logger
	// lockPath is the lock file around an OS store's read-modify-write of
	// records ("" for stores made with New: mu serves).
	lockPath string
	mu       sync.Mutex
}

// Notes say why the automatic choice passed over other stores.
func (s *Store) Notes() []string { return s.notes }

// Open opens the backend the environment chooses.
func Open(cfg Config) (*Store, error) {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := getenv(EnvBackend)
	var notes []string
	if b == "" {
		var kr keyring.Keyring
		b, kr, notes = chooseAuto(getenv)
		for _, n := range notes {
			log.Debug("store choice", "note", n)
		}
		if kr != nil {
			log.Debug("store opened", "backend", b)
			return osStore(kr, b, getenv, notes, log)
		}
	}
	switch b {
	case BackendFile:
		dirs, err := paths.Resolve(getenv)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dirs.Data, VaultFile)
		src := passphrase.Source{Getenv: getenv, OpenTTY: cfg.OpenTTY, Subject: "the credential vault " + path}
		attempts := 1
		if src.Interactive() {
			attempts = 3
		}
		cache, cacheFor, err := keyCache(getenv)
		if err != nil {
			return nil, err
		}
		v := vault.New(vault.Options{Path: path, Passphrase: src.Get, Attempts: attempts, Params: cfg.VaultParams, Cache: cache, CacheFor: cacheFor})
		log.Debug("store opened", "backend", BackendFile, "path", path)
		return &Store{kr: v, backend: BackendFile, location: path, notes: notes, log: log}, nil
	default:
		kr, err := openOS(b, getenv, false)
		if err != nil {
			return nil, err
		}
		log.Debug("store opened", "backend", b)
		return osStore(kr, b, getenv, nil, log)
	}
}

// RecordsLock is the lock file, in the data directory, that writers of an
// OS store's records take.
const RecordsLock = "records.lock"

func osStore(kr keyring.Keyring, backend string, getenv func(string) string, notes []string, log *slog.Logger) (*Store, error) {
	dirs, err := paths.Resolve(getenv)
	if err != nil {
		return nil, err
	}
	return &Store{kr: kr, backend: backend, location: "the " + backend + " store", notes: notes, log: log,
		lockPath: filepath.Join(dirs.Data, RecordsLock)}, nil
}

// EnvCache controls the unlock cache: CacheOff never uses it; a duration
// ("8h") also fills it on the first passphrase use; unset uses a key that
// 'unlock' put there.
const EnvCache = "OAT_CACHE"

// CacheOff is the EnvCache setting that turns the unlock cache off.
const CacheOff = "off"

// CacheDisabled reports whether the environment getenv reads turns the
// unlock cache off.
func CacheDisabled(getenv func(string) string) bool {
	return strings.TrimSpace(getenv(EnvCache)) == CacheOff
}

// keyCache returns the unlock cache the environment allows, and how long
// a passphrase use fills it for (0: only 'unlock' fills it).
func keyCache(getenv func(string) string) (vault.KeyCache, time.Duration, error) {
	if CacheDisabled(getenv) {
		return nil, 0, nil
	}
	setting := strings.TrimSpace(getenv(EnvCache))
	var cacheFor time.Duration
	if setting != "" {
		d, err := time.ParseDuration(setting)
		if err != nil || d < 0 {
			return nil, 0, fmt.Errorf("%s=%q: give %s or a duration such as 8h", EnvCache, setting, CacheOff)
		}
		cacheFor = d
	}
	c, err := keycache.New()
	if err != nil {
		return nil, 0, nil // no cache here: every call derives the key
	}
	return c, cacheFor, nil
}

// New returns a store over kr (an in-memory keyring in tests).
func New(kr keyring.Keyring, backend string) *Store {
	return &Store{kr: kr, backend: backend, log: slog.New(slog.DiscardHandler)}
}

// Backend names the backend in use.
func (s *Store) Backend() string { return s.backend }

// Location is where the backend keeps its data, when it is a file.
func (s *Store) Location() string { return s.location }

// Credential is a registry's username and secret, kept opaque.
type Credential struct {
	// Key identifies the record; set by the store.
	Key string `json:"key"`
	// Server is the server URL as the client gave it.
	Server   string    `json:"server"`
	Username string    `json:"username"`
	Secret   string    `json:"secret"`
	Updated  time.Time `json:"updated"`
}

const credentialPrefix = "registry/"

// CredentialKey is the key of server's credentials: every spelling of a
// registry has the same key.
func CredentialKey(server string) string {
	return credentialPrefix + hub.ParseServer(server).Key
}

// PutCredential stores c under its server's key, replacing what was there.
func (s *Store) PutCredential(c Credential) error {
	item, err := credentialItem(c)
	if err != nil {
		return err
	}
	err = s.kr.Set(item)
	s.log.Debug("stored credentials", "key", item.Key, "error", err)
	return err
}

// credentialItem is c as a keyring item under its server's key.
func credentialItem(c Credential) (keyring.Item, error) {
	c.Key = CredentialKey(c.Server)
	c.Updated = time.Now().UTC().Truncate(time.Second)
	data, err := json.Marshal(c)
	if err != nil {
		return keyring.Item{}, err
	}
	return keyring.Item{
		Key:         c.Key,
		Data:        data,
		Label:       "Docker credentials for " + c.Server,
		Description: "docker-credential-oat",
	}, nil
}

// Credential returns the credentials stored for server, or ErrNotFound.
func (s *Store) Credential(server string) (Credential, error) {
	key := CredentialKey(server)
	item, err := s.kr.Get(key)
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return Credential{}, ErrNotFound
	}
	if err != nil {
		return Credential{}, err
	}
	return decodeCredential(key, item)
}

// DeleteCredential removes server's credentials; there being none is not an
// error.
func (s *Store) DeleteCredential(server string) error {
	err := s.kr.Remove(CredentialKey(server))
	if errors.Is(err, keyring.ErrKeyNotFound) {
		return nil
	}
	return err
}

// Credentials returns every stored registry credential, sorted by key.
func (s *Store) Credentials() ([]Credential, error) {
	items, err := s.items(credentialPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Credential, 0, len(items))
	for _, item := range items {
		c, err := decodeCredential(item.Key, item)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// items returns the items under prefix, in one read where the backend can.
func (s *Store) items(prefix string) ([]keyring.Item, error) {
	if bulk, ok := s.kr.(interface {
		Items(prefix string) ([]keyring.Item, error)
	}); ok {
		return bulk.Items(prefix)
	}
	keys, err := s.kr.Keys()
	if err != nil {
		return nil, err
	}
	var items []keyring.Item
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		item, err := s.kr.Get(k)
		if errors.Is(err, keyring.ErrKeyNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

// decodeCredential parses an item and checks it is the record asked for: a
// backend that hands back another entry's data is caught here.
func decodeCredential(key string, item keyring.Item) (Credential, error) {
	var c Credential
	if err := json.Unmarshal(item.Data, &c); err != nil {
		return Credential{}, fmt.Errorf("store entry %q is damaged: %v", key, err)
	}
	if c.Key != key {
		return Credential{}, fmt.Errorf("store entry %q holds the record of %q; refusing to use it", key, c.Key)
	}
	return c, nil
}
