package hubtest

import (
	"context"
	"fmt"
	"github.com/oatkit/oat/internal/hub"
	"io"
	"os"
	"path/filepath"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"

	// The registry's token auth and storage drivers register themselves.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// newRegistry makes the distribution registry app, behind token auth that
// trusts the hub's signing key, redirecting blob GETs to the hub's CDN
// unless DirectBlobs is set. The hub serves it; it has no server of its
// own.
func (h *Hub) newRegistry(ctx context.Context) (app *handlers.App, err error) {
	bundle, err := h.writeSignerBundle()
	if err != nil {
		return nil, err
	}
	cfg := &configuration.Configuration{Storage: h.storage()}
	cfg.Auth = configuration.Auth{"token": configuration.Parameters{
		"realm": hub.Realm, "service": hub.Service, "issuer": issuer, "rootcertbundle": bundle,
	}}
	// Upload state is signed with this; empty, the registry would make a
	// random one itself and complain.
	cfg.HTTP.Secret = randomString(32)
	if h.cdn != nil {
		cfg.Middleware = map[string][]configuration.Middleware{"storage": {{
			Name: cdnMiddleware, Options: configuration.Parameters{"cdn": h.cdn},
		}}}
	}
	// Neither HTTP.Host nor RelativeURLs: Location headers are absolute
	// URLs on the host (and scheme) of the request, so a client that came
	// by registry-1.docker.io is sent back to registry-1.docker.io.
	setLogging(h.opts.Debug)

	// NewApp reports configuration errors by panicking.
	defer func() {
		if r := recover(); r != nil {
			app, err = nil, fmt.Errorf("stand-in registry: %v", r)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// writeSignerBundle writes the token signing certificate, the registry's
// rootcertbundle, to the hub's temporary directory.
func (h *Hub) writeSignerBundle() (string, error) {
	certPEM, err := signerCertificate(h.signer)
	if err != nil {
		return "", err
	}
	bundle := filepath.Join(h.tmp, "token-signer.pem")
	if err := os.WriteFile(bundle, certPEM, 0o600); err != nil {
		return "", err
	}
	return bundle, nil
}

// storage is the registry's storage configuration: the filesystem under
// StorageDir, or memory; no deletes, no upload purging.
func (h *Hub) storage() configuration.Storage {
	s := configuration.Storage{"inmemory": configuration.Parameters{}}
	if h.opts.StorageDir != "" {
		s = configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": h.opts.StorageDir}}
	}
	s["delete"] = configuration.Parameters{"enabled": false}
	s["maintenance"] = configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}}
	return s
}

// setLogging sends the registry's logs, which go through logrus's global
// logger, to stderr when debug is set, and nowhere otherwise.
func setLogging(debug bool) {
	if debug {
		logrus.SetOutput(os.Stderr)
		logrus.SetLevel(logrus.DebugLevel)
		return
	}
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.PanicLevel)
}
