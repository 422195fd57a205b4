package proxy

import (
	"slices"
	"strings"
	"sync"
)

// clientKind is what a client shows of a refusal.
type clientKind int

const (
	showsTokenBody    clientKind = iota // crane, docker, dockerd, helm, oras, anything unknown
	showsRegistryBody                   // containers/image (skopeo, podman, buildah), regclient
	showsStatusLine                     // containerd (ctr, BuildKit's resolver)
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
	kind           clientKind
}{
	{prefix: "skopeo/", family: "skopeo", kind: showsRegistryBody},
	{prefix: "libpod/", family: "podman", kind: showsRegistryBody},
	{prefix: "Buildah/", family: "buildah", kind: showsRegistryBody},
	{suffix: "(github.com/containers/image)", family: "containers/image", kind: showsRegistryBody},
	{prefix: "regclient/", family: "regclient", kind: showsRegistryBody},
	{prefix: "containerd/", family: "containerd", kind: showsStatusLine},
	{prefix: "buildkit/", family: "buildkit", kind: showsStatusLine},
	{prefix: "Helm/", family: "helm"},
	{prefix: "oras/", family: "oras"},
	{prefix: "crane/", family: "crane"},
	{prefix: "go-containerregistry/", family: "go-containerregistry"},
	{prefix: "docker/", family: "docker"},
	{prefix: "curl/", family: "curl"},
}

// recognise reads a User-Agent: the client's family ("" when unknown) and
// what it shows of a refusal. A client the proxy does not recognise is
// refused on the token request: what it shows is unknown, and that
// refusal sends nothing on.
func recognise(agent string) (family string, kind clientKind) {
	for _, f := range families {
		if (f.prefix != "" && strings.HasPrefix(agent, f.prefix)) || (f.suffix != "" && strings.HasSuffix(agent, f.suffix)) {
			return f.family, f.kind
		}
	}
	return "", showsTokenBody
}

// kindOf is what the client of a User-Agent shows of a refusal.
func kindOf(agent string) clientKind {
	_, k := recognise(agent)
	return k
}

// maxRefusals is how many of the last refusals the proxy keeps for
// LastRefusals.
const maxRefusals = 5

// refusals are the last sentences the proxy refused with, each once, the
// newest last.
type refusals struct {
	mu   sync.Mutex
	last []string
}

func (r *refusals) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = slices.DeleteFunc(r.last, func(m string) bool { return m == msg })
	r.last = append(r.last, msg)
	if len(r.last) > maxRefusals {
		r.last = r.last[len(r.last)-maxRefusals:]
	}
}

// LastRefusals are the sentences of the last refusals (at most five,
// each once, the newest last): for a client that shows none of them,
// oat-proxy run prints them when its command fails.
func (p *Proxy) LastRefusals() []string {
	p.refusals.mu.Lock()
	defer p.refusals.mu.Unlock()
	return slices.Clone(p.refusals.last)
}
