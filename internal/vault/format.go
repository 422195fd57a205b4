package vault

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// The on-disk format is a JSON envelope. Everything but the ciphertext is
// public and authenticated as associated data; the key names, usernames,
// server URLs and secrets are all inside the ciphertext.
const (
	formatName    = "docker-credential-oat vault"
	formatVersion = 2
	// formatLegacy is read (no identity, no generation) and rewritten as
	// formatVersion on the next write.
	formatLegacy = 1
	kdfArgon2id  = "argon2id"
	cipherName   = "xchacha20-poly1305"

	saltLen  = 16
	checkLen = 32
	keyLen   = chacha20poly1305.KeySize

	// padTo is the granularity the plaintext is padded to, so that the file
	// size says little about how many entries it holds.
	padTo = 512
	// maxFileSize bounds what is read from disk.
	maxFileSize = 16 << 20
)

// Params are the argon2id parameters of a vault.
type Params struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// DefaultParams are RFC 9106's second recommended option for argon2id
// (t=3, m=64 MiB, p=4), for machines that cannot spend 2 GiB on a KDF.
var DefaultParams = Params{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// Bounds on parameters read from a file: a vault cannot make us spend more
// than 1 GiB or a minute.
const (
	minMemoryKiB = 8 * 1024
	maxMemoryKiB = 1024 * 1024
	maxTime      = 16
	maxThreads   = 16
)

func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id time %d out of range 1..%d", p.Time, maxTime)
	case p.MemoryKiB < minMemoryKiB || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB out of range %d..%d", p.MemoryKiB, minMemoryKiB, maxMemoryKiB)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("argon2id threads %d out of range 1..%d", p.Threads, maxThreads)
	}
	return nil
}

func (p Params) String() string {
	return fmt.Sprintf("argon2id t=%d m=%dMiB p=%d", p.Time, p.MemoryKiB/1024, p.Threads)
}

type kdfHeader struct {
	Name string `json:"name"`
	Params
	Salt []byte `json:"salt"`
}

// header is the authenticated, unencrypted part of the file.
type header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	KDF     kdfHeader `json:"kdf"`
	// Check is a hash of the second half of the KDF output: it tells a wrong
	// passphrase from a damaged file without weakening the key.
	Check  []byte `json:"check"`
	Cipher string `json:"cipher"`
	Nonce  []byte `json:"nonce"`
	// ID names this vault (random, made with it) and Generation counts its
	// writes; both are authenticated, and compared with the state file kept
	// next to the vault to detect a swapped or rolled-back file. Absent in
	// format 1.
	ID         []byte `json:"id,omitempty"`
	Generation uint64 `json:"generation,omitempty"`
}

type envelope struct {
	header
	Ciphertext []byte `json:"ciphertext"`
}

// key is the result of the KDF for one salt and parameter set.
type key struct {
	id    string // identifies salt+params: a key is reused only for the same id
	enc   []byte
	check []byte
}

func kdfID(k kdfHeader) string {
	return fmt.Sprintf("%s/%d/%d/%d/%x", k.Name, k.Time, k.MemoryKiB, k.Threads, k.Salt)
}

func deriveKey(passphrase []byte, k kdfHeader) *key {
	out := argon2.IDKey(passphrase, k.Salt, k.Time, k.MemoryKiB, k.Threads, 2*keyLen)
	sum := sha256.Sum256(out[keyLen:])
	clear(out[keyLen:])
	return &key{id: kdfID(k), enc: out[:keyLen:keyLen], check: sum[:]}
}

func newKDF(p Params) (kdfHeader, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return kdfHeader{}, err
	}
	return kdfHeader{Name: kdfArgon2id, Params: p, Salt: salt}, nil
}

// parse reads the envelope and checks everything that can be checked without
// the key. It never allocates more than the bounds allow.
func parse(path string, data []byte) (*envelope, error) {
	corrupt := func(format string, args ...any) error {
		return &CorruptError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, corrupt("the file is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var env envelope
	if err := dec.Decode(&env); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, corrupt("the file is truncated")
		}
		return nil, corrupt("not a vault file (%v)", err)
	}
	if dec.More() {
		return nil, corrupt("unexpected data after the vault")
	}
	switch {
	case env.Format != formatName:
		return nil, corrupt("not a vault file (format %q)", env.Format)
	case env.Version > formatVersion:
		return nil, corrupt("written by a newer version (format version %d); upgrade docker-credential-oat", env.Version)
	case env.Version != formatVersion && env.Version != formatLegacy:
		return nil, corrupt("unknown format version %d", env.Version)
	case env.Version == formatVersion && (len(env.ID) != idLen || env.Generation < 1):
		return nil, corrupt("bad vault identity")
	case env.Version == formatLegacy && (env.ID != nil || env.Generation != 0):
		return nil, corrupt("format version 1 with an identity")
	case env.KDF.Name != kdfArgon2id:
		return nil, corrupt("unknown key derivation %q", env.KDF.Name)
	case env.Cipher != cipherName:
		return nil, corrupt("unknown cipher %q", env.Cipher)
	case len(env.KDF.Salt) < saltLen || len(env.KDF.Salt) > 64:
		return nil, corrupt("bad salt length %d", len(env.KDF.Salt))
	case len(env.Check) != checkLen:
		return nil, corrupt("bad key check length %d", len(env.Check))
	case len(env.Nonce) != chacha20poly1305.NonceSizeX:
		return nil, corrupt("bad nonce length %d", len(env.Nonce))
	case len(env.Ciphertext) < chacha20poly1305.Overhead:
		return nil, corrupt("the contents are truncated")
	}
	if err := env.KDF.Params.validate(); err != nil {
		return nil, corrupt("%v", err)
	}
	return &env, nil
}

func (h *header) aad() []byte {
	b, err := json.Marshal(h)
	if err != nil {
		panic("vault: marshal header: " + err.Error()) // plain struct, cannot fail
	}
	return b
}

// open decrypts env with k, telling a wrong passphrase from damage.
func open(path string, env *envelope, k *key) ([]byte, error) {
	if subtle.ConstantTimeCompare(k.check, env.Check) != 1 {
		return nil, ErrWrongPassphrase
	}
	aead, err := chacha20poly1305.NewX(k.enc)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, env.Nonce, env.Ciphertext, env.header.aad())
	if err != nil {
		return nil, &CorruptError{Path: path, Reason: "its contents fail authentication: the file was modified or damaged"}
	}
	return plain, nil
}

// seal encrypts plain under k into a complete file image of vault st.
func seal(kdf kdfHeader, st state, k *key, plain []byte) ([]byte, error) {
	padded := make([]byte, (len(plain)/padTo+1)*padTo)
	n := copy(padded, plain)
	for i := n; i < len(padded); i++ {
		padded[i] = ' ' // JSON ignores trailing white space
	}
	version := formatVersion
	if st.ID == nil {
		version = formatLegacy // a vault with no identity is format 1
	}
	env := envelope{header: header{
		Format:  formatName,
		Version: version,
		KDF:     kdf,
		Check:   k.check,
		Cipher:  cipherName,
		Nonce:   make([]byte, chacha20poly1305.NonceSizeX),

		ID:         st.ID,
		Generation: st.Generation,
	}}
	if _, err := rand.Read(env.Nonce); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(k.enc)
	if err != nil {
		return nil, err
	}
	env.Ciphertext = aead.Seal(nil, env.Nonce, padded, env.header.aad())
	clear(padded)
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
