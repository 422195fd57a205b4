package policy

import "strings"

// Client is what a client shows of a refusal. Every client prints a
// registry error's message when a GET, POST or PUT is refused; a refused
// token request is another matter. go-containerregistry (crane) and
// Docker's distribution client (dockerd, the docker CLI's own) print the
// token service's error body; containers/image (skopeo, podman, buildah)
// and regclient print its status only ("403 (Forbidden)"); containerd
// prints no body at all, only the status line ("unexpected status: 403
// Forbidden"), on token and registry requests alike.
type Client uint8

const (
	ShowsTokenBody    Client = iota // crane, docker, dockerd, helm, oras, anything unknown
	ShowsRegistryBody               // containers/image (skopeo, podman, buildah), regclient
	ShowsStatusLine                 // containerd (ctr, BuildKit's resolver)
)

// families are the clients the proxy recognises by their User-Agent, first
// match wins: the family named in the audit line, and what it shows.
// containers/image names itself "containers/5.24.2
// (github.com/containers/image)" unless its program names itself
// ("skopeo/1.9.3", "libpod/4.3.1" for podman, "Buildah/1.28.2");
// containerd sends "containerd/1.6.20~ds1", and BuildKit's resolver (in
// buildx and in dockerd) "containerd/2.1.4" or "buildkit/v0.26"; regctl
// "regclient/regctl (v0.11.1)"; docker and dockerd "docker/28.2.2 …".
var families = []struct {
	prefix, suffix string
	family         string
	kind           Client
}{
	{prefix: "skopeo/", family: "skopeo", kind: ShowsRegistryBody},
	{prefix: "libpod/", family: "podman", kind: ShowsRegistryBody},
	{prefix: "Buildah/", family: "buildah", kind: ShowsRegistryBody},
	{suffix: "(github.com/containers/image)", family: "containers/image", kind: ShowsRegistryBody},
	{prefix: "regclient/", family: "regclient", kind: ShowsRegistryBody},
	{prefix: "containerd/", family: "containerd", kind: ShowsStatusLine},
	{prefix: "buildkit/", family: "buildkit", kind: ShowsStatusLine},
	{prefix: "Helm/", family: "helm"},
	{prefix: "oras/", family: "oras"},
	{prefix: "crane/", family: "crane"},
	{prefix: "go-containerregistry/", family: "go-containerregistry"},
	{prefix: "docker/", family: "docker"},
	{prefix: "curl/", family: "curl"},
}

// Recognise reads a User-Agent: the client's family ("" when unknown) and
// what it shows of a refusal. A client the proxy does not recognise is
// refused on the token request: what it shows is unknown, and that
// refusal sends nothing on.
func Recognise(agent string) (family string, kind Client) {
	for _, f := range families {
		if (f.prefix != "" && strings.HasPrefix(agent, f.prefix)) || (f.suffix != "" && strings.HasSuffix(agent, f.suffix)) {
			return f.family, f.kind
		}
	}
	return "", ShowsTokenBody
}
