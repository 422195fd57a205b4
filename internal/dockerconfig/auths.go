package dockerconfig

import (
	"encoding/json"

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
