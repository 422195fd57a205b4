// Package helper is docker-credential-oat: the credential-helper protocol
// Docker speaks (store, get, erase, list, version, exactly as
// github.com/docker/docker-credential-helpers/credentials defines it) and the
// commands people run.
package helper

import (
	"errors"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/store"
)

// Helper implements credentials.Helper over the store.
type Helper struct {
	store *store.Store
}

var _ credentials.Helper = (*Helper)(nil)

// New returns a Helper over s.
func New(s *store.Store) *Helper { return &Helper{store: s} }

// Add stores credentials. Every registry is kept, Docker Hub under one entry
// whatever its spelling.
func (h *Helper) Add(c *credentials.Credentials) error {
	server := c.ServerURL
	if hub.ParseServer(server).Hub {
		server = hub.IndexServer
	}
	return h.store.PutCredential(store.Credential{Server: server, Username: c.Username, Secret: c.Secret})
}

// Get returns the username and secret stored for serverURL.
func (h *Helper) Get(serverURL string) (string, string, error) {
	c, err := h.store.Credential(serverURL)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Secret, nil
}

// Delete removes serverURL's credentials; there being none is fine.
func (h *Helper) Delete(serverURL string) error {
	return h.store.DeleteCredential(serverURL)
}

// List maps every stored server URL to its username. No secrets.
func (h *Helper) List() (map[string]string, error) {
	creds, err := h.store.Credentials()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(creds))
	for _, c := range creds {
		out[c.Server] = c.Username
	}
	return out, nil
}
