package proxy

import (
	"bytes"
	"crypto/sha256"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
)

// TokenSource gives the proxy the token records, read again when Changed
// says the store changed.
type TokenSource interface {
	Tokens() ([]oat.Token, error)
}

// ChangeDetector is implemented by sources that can tell cheaply whether
// the records changed since the last read (a file's modification time).
type ChangeDetector interface {
	Changed() bool
}

// identity names a token record: its organization, label and the hash of
// its secret. A bearer or refresh token refers to the record by identity,
// and the current record is read at each use: an edit applies at once, a
// removal (or a new secret) leaves the token tied to nothing.
type identity struct {
	org, label string
	secret     [32]byte
}

func identityOf(t oat.Token) identity { return identityAt(t, hashOf(t.Secret)) }

// identityAt is t's identity, its secret's hash k already known.
func identityAt(t oat.Token, k [32]byte) identity {
	return identity{org: t.Org, label: t.Label, secret: k}
}

// holder is who a bearer or refresh token the proxy saw issued was issued
// to: a token we hold, someone else's credentials, or nobody (anonymous).
type holder struct {
	ours bool
	id   identity
	anon bool
	// limit is what a bearer token was issued for, when that is less than
	// the token's scopes allow (nil: as the Hub granted what was asked).
	limit *policy.Limit
}

// index finds tokens by the secret a client sent, and remembers who
// obtained which bearer and refresh tokens.
type index struct {
	src TokenSource

	reloadMu sync.Mutex // one reload at a time
	mu       sync.Mutex
	loaded   bool
	begun    int // reads of the records begun
	bySecret map[[32]byte]oat.Token
	issued   map[[32]byte]issued
}

type issued struct {
	holder  holder
	expires time.Time
}

func newIndex(src TokenSource) *index {
	return &index{src: src, issued: map[[32]byte]issued{}}
}

// reload reads the records again; under reloadMu.
func (ix *index) reload() error {
	ix.mu.Lock()
	ix.begun++
	ix.mu.Unlock()
	all, err := ix.src.Tokens()
	if err != nil {
		return err
	}
	by := make(map[[32]byte]oat.Token, len(all))
	for _, t := range all {
		if t.Secret != "" {
			by[hashOf(t.Secret)] = t
		}
	}
	ix.mu.Lock()
	ix.bySecret, ix.loaded = by, true
	ix.mu.Unlock()
	return nil
}

// ensure reads the records when they were never read or the store
// changed.
func (ix *index) ensure() {
	ix.mu.Lock()
	loaded := ix.loaded
	ix.mu.Unlock()
	if loaded {
		// The check runs outside reloadMu: requests at once do not queue
		// behind each other's stat of the store.
		if cd, ok := ix.src.(ChangeDetector); !ok || !cd.Changed() {
			return
		}
	}
	ix.mu.Lock()
	begun := ix.begun // after the check: a read begun later sees the change
	ix.mu.Unlock()
	ix.reloadMu.Lock()
	defer ix.reloadMu.Unlock()
	ix.mu.Lock()
	again := ix.loaded && ix.begun != begun // read since the check, by another request
	ix.mu.Unlock()
	if !again {
		_ = ix.reload() // on error the last good records stay
	}
}

// records are the token records by the hash of their secret, as one
// reading found them: never changed, a reading replaces them whole.
type records map[[32]byte]oat.Token

// records returns the records as they are now: a request is resolved
// against one reading, the store checked once for it.
func (ix *index) records() records {
	ix.ensure()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.bySecret
}

// hashOf is the hash a secret, or a bearer or refresh token, is held by: a
// request's credential is hashed once, for both lookups.
func hashOf(value string) [32]byte { return sha256.Sum256([]byte(value)) }

// lookup returns the token whose secret this is.
func (r records) lookup(secret string) (oat.Token, bool) {
	if secret == "" {
		return oat.Token{}, false
	}
	return r.lookupKey(hashOf(secret))
}

// lookupKey returns the token whose secret's key k is.
func (r records) lookupKey(k [32]byte) (oat.Token, bool) {
	t, ok := r[k]
	return t, ok
}

// current returns the record id names.
func (r records) current(id identity) (oat.Token, bool) {
	t, ok := r[id.secret]
	if !ok || t.Org != id.org || t.Label != id.label {
		return oat.Token{}, false
	}
	return t, true
}

// secretIn returns a token whose secret body holds, as sent.
func (r records) secretIn(body []byte) (oat.Token, bool) {
	for _, t := range r {
		if bytes.Contains(body, []byte(t.Secret)) {
			return t, true
		}
	}
	return oat.Token{}, false
}

// remember ties a bearer or refresh token to who obtained it.
func (ix *index) remember(value string, h holder, ttl time.Duration) {
	if value == "" {
		return
	}
	now := time.Now()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.issued[hashOf(value)] = issued{holder: h, expires: now.Add(ttl)}
	if len(ix.issued) > 10000 {
		for k, v := range ix.issued {
			if now.After(v.expires) {
				delete(ix.issued, k)
			}
		}
	}
}

// issuedTo returns who a bearer or refresh token the proxy saw issued was
// issued to.
func (ix *index) issuedTo(value string) (holder, bool) {
	if value == "" {
		return holder{}, false
	}
	return ix.issuedToKey(hashOf(value))
}

// issuedToKey returns who the bearer or refresh token of key k was issued
// to.
func (ix *index) issuedToKey(k [32]byte) (holder, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	v, ok := ix.issued[k]
	if !ok || time.Now().After(v.expires) {
		return holder{}, false
	}
	return v.holder, true
}

// all returns every record held, as it is now.
func (ix *index) all() []oat.Token {
	return slices.Collect(maps.Values(ix.records()))
}
