package proxy

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/oatkit/oat/internal/classify"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/registry"
)

// readRequest reads a request as the proxy's server does off the wire:
// method, target and a Host header. ok is false for what the server
// would refuse before the proxy sees it.
func readRequest(method, target, host string) (*http.Request, bool) {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n")))
	return r, err == nil
}

// answered is a round tripper that answers every request with resp.
type answered struct{ resp *http.Response }

func (a answered) RoundTrip(r *http.Request) (*http.Response, error) {
	resp := *a.resp
	resp.Request = r
	resp.Body = io.NopCloser(strings.NewReader(""))
	return &resp, nil
}

// FuzzChallenge reads the WWW-Authenticate challenge the proxy answers a
// request with as a registry client does (go-containerregistry's parser,
// crane's and the e2e suite's): a Bearer challenge whose realm and
// service are Docker Hub's, whose scope is exactly the scopes the request
// needs, each read back to the same access. The proxy parses no
// challenge itself: the one it writes is what must hold.
func FuzzChallenge(f *testing.F) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, s := range [][3]string{
		{"GET", hub.RegistryHost, "/v2/acme/app/manifests/1.0"},
		{"HEAD", hub.RegistryHost, "/v2/library/alpine/manifests/" + digest},
		{"GET", hub.RegistryHost, "/v2/alpine/blobs/" + digest},
		{"POST", hub.RegistryHost, "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=acme/base"},
		{"PATCH", hub.RegistryHost, "/v2/acme/app/blobs/uploads/3f2a-uuid"},
		{"PUT", hub.RegistryHost, "/v2/acme/app/manifests/2.0"},
		{"GET", hub.AuthHost, "/token?scope=repository%3Aacme%2Fapp%3Apush%2Cpull&scope=repository%3Aacme%2Fbase%3Apull&service=registry.docker.io"},
		{"GET", hub.AuthHost, "/token?scope=repository(plugin):acme/app:PULL repository:alpine:pull"},
		{"GET", hub.RegistryHost, "/v2/"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	reg, _ := name.NewRegistry(hub.RegistryHost)
	f.Fuzz(func(t *testing.T, method, host, target string) {
		if host != hub.AuthHost {
			host = hub.RegistryHost
		}
		r, ok := readRequest(method, target, host)
		if !ok {
			return
		}
		req, _ := classify.Request(host, r, nil)
		rp := challenge(req.Scopes())
		value := rp.header.Get("Www-Authenticate")
		if strings.ContainsFunc(value, func(c rune) bool { return c < ' ' || c > '~' }) {
			t.Fatalf("a challenge with a control or non-ASCII character: %q", value)
		}
		ch, err := transport.Ping(context.Background(), reg, answered{&http.Response{StatusCode: rp.status, Header: rp.header}})
		if err != nil {
			t.Fatalf("the challenge %q: %v", value, err)
		}
		want := strings.Join(req.Scopes(), " ")
		if !strings.EqualFold(ch.Scheme, "bearer") || ch.Parameters["realm"] != hub.Realm || ch.Parameters["service"] != hub.Service || ch.Parameters["scope"] != want {
			t.Fatalf("the challenge %q reads as %s %v, want scope %q", value, ch.Scheme, ch.Parameters, want)
		}
		var back []registry.Access
		for _, s := range strings.Fields(ch.Parameters["scope"]) {
			a, ok, err := registry.ParseScope(s)
			if err != nil || !ok {
				t.Fatalf("the challenge's scope %q does not read back: %v", s, err)
			}
			back = append(back, a)
		}
		if !slices.EqualFunc(back, req.Access, func(a, b registry.Access) bool { return a.Repo == b.Repo && slices.Equal(a.Actions, b.Actions) }) {
			t.Fatalf("the challenge's scopes read back as %+v, the request needs %+v", back, req.Access)
		}
	})
}
