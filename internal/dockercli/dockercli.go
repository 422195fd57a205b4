// Package dockercli reads Docker's own files the way the docker CLI does,
// through docker/cli's cli/config and cli/context/store: which credential
// helper docker uses for Docker Hub, the plaintext credentials config.json
// holds, and the engine endpoint of the current context. doctor uses it, so
// that it agrees with the CLI by construction. get keeps the small readers
// of packages dockerconfig and desktop, which cost it nothing at start-up;
// a test proves both agree on the same files.
package dockercli

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/context/store"

	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/dockerconfig"
	"github.com/oatkit/oat/internal/hub"
)

// dockerEndpoint is the part of a context's docker endpoint metadata we
// read (docker/cli's cli/context/docker.EndpointMeta, without importing
// the docker client).
type dockerEndpoint struct {
	Host string `json:",omitempty"`
}

// Config reads dir's config.json (DOCKER_CONFIG, or ~/.docker) as the
// docker CLI does: its credsStore and credHelpers, and the Docker Hub
// credentials it holds in plaintext. No file is an empty configuration.
func Config(dir string) (dockerconfig.Wiring, []dockerconfig.PlainAuth, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return dockerconfig.Wiring{}, nil, err
	}
	var plain []dockerconfig.PlainAuth
	for key, a := range cfg.AuthConfigs {
		if !hub.ParseServer(key).Hub {
			continue
		}
		p := dockerconfig.PlainAuth{Key: key, Username: a.Username, Secret: a.Password}
		if a.IdentityToken != "" {
			p.Secret = a.IdentityToken
		}
		if p.Secret != "" {
			plain = append(plain, p)
		}
	}
	slices.SortFunc(plain, func(a, b dockerconfig.PlainAuth) int { return strings.Compare(a.Key, b.Key) })
	return dockerconfig.Wiring{CredsStore: cfg.CredentialsStore, CredHelpers: cfg.CredentialHelpers}, plain, nil
}

// Endpoint resolves the engine the docker CLI would talk to, with the
// environment getenv reads; defaultHost is the engine's address without a
// context. It returns config.json's credsStore too (a Desktop sign).
func Endpoint(dir string, getenv func(string) string, defaultHost string) (desktop.Endpoint, string, error) {
	cfg, err := config.Load(dir)
	if err != nil {
		return desktop.Endpoint{}, "", err
	}
	// The CLI's choice of context (cli/command's resolveContextName):
	// DOCKER_HOST unless DOCKER_CONTEXT is set, then DOCKER_CONTEXT, then
	// currentContext, then the default context.
	host, name := getenv("DOCKER_HOST"), getenv("DOCKER_CONTEXT")
	source := "DOCKER_CONTEXT"
	switch {
	case host != "" && name == "":
		return desktop.Endpoint{Context: "default", Host: host, Source: "DOCKER_HOST"}, cfg.CredentialsStore, nil
	case name == "":
		name, source = cfg.CurrentContext, "config.json currentContext"
	}
	if name == "" || name == "default" {
		if name == "" {
			source = "default"
		}
		if host != "" {
			source = "DOCKER_HOST"
		} else {
			host = defaultHost
		}
		return desktop.Endpoint{Context: "default", Host: host, Source: source}, cfg.CredentialsStore, nil
	}
	s := store.New(filepath.Join(dir, "contexts"), store.NewConfig(
		func() any { return &map[string]any{} },
		store.EndpointTypeGetter("docker", func() any { return &dockerEndpoint{} }),
	))
	ep := desktop.Endpoint{Context: name, Source: source}
	meta, err := s.GetMetadata(name)
	if err != nil {
		return ep, cfg.CredentialsStore, err
	}
	if d, ok := meta.Endpoints["docker"].(dockerEndpoint); ok {
		ep.Host = d.Host
	}
	return ep, cfg.CredentialsStore, nil
}
