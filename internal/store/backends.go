package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/99designs/keyring"

	"github.com/oatkit/oat/internal/dbusgate"
	"github.com/oatkit/oat/internal/paths"
)

// Backend names (OAT_BACKEND).
const (
	BackendKeyctl        = "keyctl"
	BackendSecretService = "secret-service"
	BackendKWallet       = "kwallet"
	BackendPass          = "pass"
	BackendKeychain      = "keychain"
	BackendWinCred       = "wincred"
)

// EnvKeyctlScope chooses the kernel keyring the keyctl backend uses.
const EnvKeyctlScope = "OAT_KEYCTL_SCOPE"

// ServiceName names our items in the OS stores.
const ServiceName = "docker-credential-oat"

var osBackends = map[string]keyring.BackendType{
	BackendKeyctl:        keyring.KeyCtlBackend,
	BackendSecretService: keyring.SecretServiceBackend,
	BackendKWallet:       keyring.KWalletBackend,
	BackendPass:          keyring.PassBackend,
	BackendKeychain:      keyring.KeychainBackend,
	BackendWinCred:       keyring.WinCredBackend,
}

// Backends lists every backend name OAT_BACKEND accepts.
func Backends() []string {
	return []string{BackendFile, BackendKeyctl, BackendSecretService, BackendKWallet, BackendPass, BackendKeychain, BackendWinCred}
}

// autoOrder is the documented order of OS stores tried when OAT_BACKEND is
// unset, before the file vault.
func autoOrder(goos string, getenv func(string) string) []string {
	switch goos {
	case "darwin":
		return []string{BackendKeychain}
	case "windows":
		return []string{BackendWinCred}
	case "linux", "freebsd", "openbsd", "netbsd":
		if dbusgate.SessionAnnounced() {
			return []string{BackendSecretService, BackendKWallet}
		}
	}
	return nil
}

// probeTimeout bounds a backend's probe.
const probeTimeout = 2 * time.Second

// opTimeout bounds one operation on an OS store (a prompt nobody answers, a
// locked collection).
const opTimeout = 15 * time.Second

// openOS opens an OS store. With probe set (the automatic choice) it must
// also answer a listing within probeTimeout; an explicit choice is not
// probed on every call (its operations are bounded all the same).
func openOS(name string, getenv func(string) string, probe bool) (keyring.Keyring, error) {
	bt, ok := osBackends[name]
	if !ok {
		return nil, fmt.Errorf("unknown store backend %s=%q; supported: %s", EnvBackend, name, strings.Join(Backends(), ", "))
	}
	if !available(bt) {
		if name == BackendSecretService || name == BackendKWallet {
			if err := busError(); err != nil {
				return nil, explainBackend(name, fmt.Errorf("the D-Bus session bus: %w", err))
			}
			return nil, explainBackend(name, errors.New("the keyring library found no session bus when the program started"))
		}
		return nil, fmt.Errorf("the %s store is not built into this binary for %s", name, runtime.GOOS)
	}
	cfg := keyring.Config{
		ServiceName:              ServiceName,
		AllowedBackends:          []keyring.BackendType{bt},
		KeychainName:             "login",
		KeychainTrustApplication: true,
		KWalletAppID:             ServiceName,
		KWalletFolder:            ServiceName,
		LibSecretCollectionName:  "login",
		PassPrefix:               ServiceName,
		WinCredPrefix:            ServiceName,
	}
	if name == BackendKeyctl {
		scope := getenv(EnvKeyctlScope)
		if scope == "" {
			scope = "user"
		}
		if scope != "user" && scope != "session" {
			return nil, fmt.Errorf("%s=%q: give user or session", EnvKeyctlScope, scope)
		}
		cfg.KeyCtlScope = scope
		if scope == "user" {
			// Possessor and user: everything; nobody else. (Not for the
			// session scope: keyring v1.2.2 then links its named keyring to
			// the session keyring and unlinks it again, orphaning it. The
			// default permissions suit a session keyring, which every
			// process of the session possesses.)
			cfg.KeyCtlPerm = 0x3f3f0000
		}
	}
	if name == BackendPass {
		cfg.PassDir = getenv("PASSWORD_STORE_DIR")
	}
	kr, err := withDeadline(probeTimeout, func() (keyring.Keyring, error) { return openCapturing(cfg, name) })
	if err != nil {
		return nil, explainBackend(name, err)
	}
	if probe {
		if _, err := withDeadline(probeTimeout, kr.Keys); err != nil {
			return nil, explainBackend(name, err)
		}
	}
	return &deadlineKeyring{kr: kr, name: name, timeout: opTimeout}, nil
}

func available(bt keyring.BackendType) bool {
	for _, b := range keyring.AvailableBackends() {
		if b == bt {
			return true
		}
	}
	return false
}

var captureMu sync.Mutex

var failedRE = regexp.MustCompile(`Failed backend \S+: (.*)`)

// openCapturing opens the backend and, when the library answers only "no
// available implementation", recovers the backend's own error from the
// library's debug log.
func openCapturing(cfg keyring.Config, name string) (keyring.Keyring, error) {
	captureMu.Lock()
	defer captureMu.Unlock()
	var buf bytes.Buffer
	w, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(&buf)
	log.SetFlags(0)
	log.SetPrefix("")
	keyring.Debug = true
	kr, err := keyring.Open(cfg)
	keyring.Debug = false
	log.SetOutput(w)
	log.SetFlags(flags)
	log.SetPrefix(prefix)
	if err != nil {
		if m := failedRE.FindStringSubmatch(buf.String()); m != nil {
			return nil, errors.New(strings.TrimSpace(m[1]))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return kr, nil
}

// Probe writes, reads and removes a probe item: doctor's proof that a store
// works.
func Probe(kr keyring.Keyring) error {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	key, data := "probe/"+hex.EncodeToString(b), []byte("probe")
	if err := kr.Set(keyring.Item{Key: key, Data: data, Label: "docker-credential-oat probe"}); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	item, err := kr.Get(key)
	_ = kr.Remove(key)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if !bytes.Equal(item.Data, data) {
		return errors.New("read back something else than was written")
	}
	return nil
}

// explainBackend turns a backend's failure into a message with its cause.
func explainBackend(name string, err error) error {
	msg := err.Error()
	switch {
	case name == BackendKeyctl && (strings.Contains(msg, "permission denied") || strings.Contains(msg, "key has been revoked") || strings.Contains(msg, "required key not available")):
		return fmt.Errorf("the keyctl store: %v (a systemd service gets a session keyring not linked to the user keyring: set %s=session, or use the file vault)", err, EnvKeyctlScope)
	case name == BackendSecretService || name == BackendKWallet:
		return fmt.Errorf("the %s store: %v (is a D-Bus session bus and a keyring daemon running and unlocked?)", name, err)
	}
	return fmt.Errorf("the %s store: %w", name, err)
}

// withDeadline runs fn, giving up after d.
func withDeadline[T any](d time.Duration, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(d):
		var zero T
		return zero, fmt.Errorf("no answer within %v (a locked collection, or a prompt nobody answers?)", d)
	}
}

// deadlineKeyring bounds every operation of an OS store.
type deadlineKeyring struct {
	kr      keyring.Keyring
	name    string
	timeout time.Duration
}

func (d *deadlineKeyring) Get(key string) (keyring.Item, error) {
	return withDeadline(d.timeout, func() (keyring.Item, error) { return d.kr.Get(key) })
}

func (d *deadlineKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	return withDeadline(d.timeout, func() (keyring.Metadata, error) { return d.kr.GetMetadata(key) })
}

func (d *deadlineKeyring) Set(item keyring.Item) error {
	_, err := withDeadline(d.timeout, func() (struct{}, error) { return struct{}{}, d.kr.Set(item) })
	return err
}

func (d *deadlineKeyring) Remove(key string) error {
	_, err := withDeadline(d.timeout, func() (struct{}, error) { return struct{}{}, d.kr.Remove(key) })
	return err
}

func (d *deadlineKeyring) Keys() ([]string, error) {
	return withDeadline(d.timeout, d.kr.Keys)
}

// chooseAuto picks the store when OAT_BACKEND is unset: a file vault that
// already exists, else the first OS store of the documented order that
// answers a probe, else a new file vault. notes say why others were passed.
func chooseAuto(getenv func(string) string) (name string, kr keyring.Keyring, notes []string) {
	if dirs, err := paths.Resolve(getenv); err == nil {
		if _, err := os.Stat(filepath.Join(dirs.Data, VaultFile)); err == nil {
			return BackendFile, nil, []string{"a file vault exists: keeping it"}
		}
	}
	order := autoOrder(runtime.GOOS, getenv)
	if len(order) == 0 && runtime.GOOS == "linux" {
		notes = append(notes, "no D-Bus session bus announced (DBUS_SESSION_BUS_ADDRESS): Secret Service and KWallet not tried")
	}
	for _, n := range order {
		kr, err := openOS(n, getenv, true)
		if err == nil {
			return n, kr, notes
		}
		notes = append(notes, n+": "+err.Error())
	}
	return BackendFile, nil, notes
}
