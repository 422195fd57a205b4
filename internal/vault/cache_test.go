package vault

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// memCache is a KeyCache in memory.
type memCache struct {
	mu   sync.Mutex
	keys map[string][]byte
	puts int
}

func (m *memCache) Get(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.keys[name]
	if !ok {
		return nil, errors.New("not cached")
	}
	return append([]byte(nil), b...), nil
}

func (m *memCache) Put(name string, secret []byte, _ time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[name] = append([]byte(nil), secret...)
	m.puts++
	return nil
}

func (m *memCache) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, name)
	return nil
}

func TestKeyCache(t *testing.T) {
	t.Parallel()
	cache := &memCache{keys: map[string][]byte{}}
	v := newVault(t, "right passphrase")
	mustSet(t, v, "k", "v")

	asked := 0
	noPass := func(bool) ([]byte, error) { asked++; return nil, errors.New("no passphrase here") }
	open := func() *Vault {
		return New(Options{Path: v.Path(), Params: fastParams, Cache: cache, Passphrase: noPass})
	}
	// Locked: the passphrase is needed.
	if _, err := open().Get("k"); err == nil {
		t.Fatal("a locked vault opened without a passphrase")
	}
	// Unlock puts the key in the cache; other instances use it without asking.
	u := New(Options{Path: v.Path(), Params: fastParams, Cache: cache, Passphrase: fixed("right passphrase")})
	if err := u.Unlock(time.Hour); err != nil {
		t.Fatal(err)
	}
	asked = 0
	if item, err := open().Get("k"); err != nil || string(item.Data) != "v" || asked != 0 {
		t.Fatalf("with the cache: %v %v, asked %d times", item, err, asked)
	}
	if err := open().Set(keyring.Item{Key: "k2", Data: []byte("v2")}); err != nil || asked != 0 {
		t.Fatalf("write with the cache: %v, asked %d", err, asked)
	}
	if !open().Unlocked() {
		t.Error("Unlocked() = false")
	}
	// Lock removes it.
	if err := open().Lock(); err != nil {
		t.Fatal(err)
	}
	if _, err := open().Get("k"); err == nil || open().Unlocked() {
		t.Error("opened after Lock")
	}

	// A wrong key in the cache (the vault was replaced) is dropped, and the
	// passphrase asked.
	if err := u.Unlock(time.Hour); err != nil {
		t.Fatal(err)
	}
	for name := range cache.keys {
		cache.keys[name][0] ^= 0xff
	}
	if _, err := open().Get("k"); err == nil {
		t.Error("opened with a damaged cached key")
	}
	if len(cache.keys) != 0 {
		t.Error("a damaged cached key was kept")
	}

	// CacheFor caches on first passphrase use.
	auto := New(Options{Path: v.Path(), Params: fastParams, Cache: cache, CacheFor: time.Minute, Passphrase: fixed("right passphrase")})
	if _, err := auto.Get("k"); err != nil {
		t.Fatal(err)
	}
	if _, err := open().Get("k"); err != nil {
		t.Errorf("after an automatic unlock: %v", err)
	}
}
