package hubtest

import (
	"context"
	"github.com/oatkit/oat/internal/hub"
	"runtime"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Seed pushes a small random image for this platform to
// registry-1.docker.io/REPO:TAG, with the hub's own credentials, and returns
// its digest.
func (h *Hub) Seed(ctx context.Context, repo, tag string) (string, error) {
	img, err := random.Image(1024, 2)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Cmd = []string{"/bin/true"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	return h.SeedImage(ctx, repo, tag, img)
}

// SeedImage pushes img to registry-1.docker.io/REPO:TAG with the hub's own
// credentials and returns its digest.
func (h *Hub) SeedImage(ctx context.Context, repo, tag string, img v1.Image) (string, error) {
	ref, err := name.ParseReference(RegistryRef(repo, tag))
	if err != nil {
		return "", err
	}
	auth := &authn.Basic{Username: h.seed.Org, Password: h.seed.Secret}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(h.client), remote.WithContext(ctx)); err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// RegistryRef is the reference of repo:tag on the Hub's registry host.
func RegistryRef(repo, tag string) string {
	return hub.RegistryHost + "/" + repo + ":" + tag
}
