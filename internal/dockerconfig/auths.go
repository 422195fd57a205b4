package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/hub"
)

// PlainAuth is a credential config.json holds in plaintext.
type PlainAuth struct {
	Key      string // the auths key
	Username string
	Secret   string // the password or identity token
}

// Wiring is how config.json routes credentials.
type Wiring struct {
	CredsStore  string
	CredHelpers map[string]string
}

// HubHelper returns the helper Docker uses for Docker Hub: credHelpers for
// its index key first, then credsStore; "" is config.json itself.
func (w Wiring) HubHelper() string {
	if h, ok := w.CredHelpers[hub.IndexServer]; ok {
		return h
	}
	return w.CredsStore
}

type authEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
}

// Inspect reads the wiring and the plaintext Docker Hub credentials of a
// config.json (empty is fine).
func Inspect(config []byte) (Wiring, []PlainAuth, error) {
	if _, err := parseObject(config); err != nil {
		return Wiring{}, nil, err
	}
	var cfg struct {
		CredsStore  string               `json:"credsStore"`
		CredHelpers map[string]string    `json:"credHelpers"`
		Auths       map[string]authEntry `json:"auths"`
	}
	if len(strings.TrimSpace(string(config))) > 0 {
		if err := json.Unmarshal(config, &cfg); err != nil {
			return Wiring{}, nil, err
		}
	}
	var plain []PlainAuth
	for key, a := range cfg.Auths {
		if !hub.ParseServer(key).Hub {
			continue
		}
		p := PlainAuth{Key: key, Username: a.Username, Secret: a.Password}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return Wiring{}, nil, fmt.Errorf("auths[%q].auth is not base64", key)
			}
			p.Username, p.Secret, _ = strings.Cut(string(raw), ":")
		}
		if a.IdentityToken != "" {
			p.Secret = a.IdentityToken
		}
		if p.Secret != "" {
			plain = append(plain, p)
		}
	}
	slices.SortFunc(plain, func(a, b PlainAuth) int { return strings.Compare(a.Key, b.Key) })
	return Wiring{CredsStore: cfg.CredsStore, CredHelpers: cfg.CredHelpers}, plain, nil
}

// ClearAuths empties the auths entries under keys ({} is what docker
// writes when a helper holds the credential), keeping everything else.
func ClearAuths(config []byte, keys []string) ([]byte, error) {
	obj, err := parseObject(config)
	if err != nil {
		return nil, err
	}
	auths, err := obj.object("auths")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if _, ok := auths.get(k); ok {
			auths.set(k, json.RawMessage("{}"))
		}
	}
	obj.set("auths", auths.encode(1))
	return append(obj.encode(0), '\n'), nil
}
