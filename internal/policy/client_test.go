package policy

import (
	"testing"
)

// The user agents of the clients the proxy recognises, as each sends
// them (read off the e2e suite's audit logs where it runs the client).
func TestRecognise(t *testing.T) {
	for _, c := range []struct {
		agent, family string
		kind          Client
	}{
		{"containers/5.24.2 (github.com/containers/image)", "containers/image", ShowsRegistryBody},
		{"skopeo/1.9.3", "skopeo", ShowsRegistryBody},
		{"libpod/4.3.1", "podman", ShowsRegistryBody},
		{"Buildah/1.28.2", "buildah", ShowsRegistryBody},
		{"regclient/regctl (v0.11.1)", "regclient", ShowsRegistryBody},
		{"containerd/1.6.20~ds1", "containerd", ShowsStatusLine},
		{"containerd/2.1.4", "containerd", ShowsStatusLine},
		{"buildkit/v0.26.2", "buildkit", ShowsStatusLine},
		{"Helm/3.22.0", "helm", ShowsTokenBody},
		{"oras/1.3.6 +https://oras.land", "oras", ShowsTokenBody},
		{"crane/v0.20.2 go-containerregistry/v0.20.2", "crane", ShowsTokenBody},
		{"docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64 UpstreamClient(Docker-Client/28.2.2 \\(linux\\))", "docker", ShowsTokenBody},
		{"curl/7.88.1", "curl", ShowsTokenBody},
		// Unknown: refused on the token request, which sends nothing on.
		{"", "", ShowsTokenBody},
		{"containerd-like/1.0", "", ShowsTokenBody},
		{"containers/image 5.0", "", ShowsTokenBody},
		{"helm/3.0", "", ShowsTokenBody},
	} {
		family, kind := Recognise(c.agent)
		if family != c.family || kind != c.kind {
			t.Errorf("Recognise(%q) = %q, %d; want %q, %d", c.agent, family, kind, c.family, c.kind)
		}
	}
}
