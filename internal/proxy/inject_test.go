package proxy

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/oatkit/oat/internal/hubtest"
)

// labelsUsed are the labels of the tokens the hub's token service saw.
func labelsUsed(hub *hubtest.Hub, since int) []string {
	var out []string
	for _, r := range hub.Requests()[since:] {
		if r.Host == "auth.docker.io" || strings.HasPrefix(r.Host, "auth.docker.io:") {
			out = append(out, r.Label)
		}
	}
	return out
}

// injecting is an injecting proxy holding two tokens of acme's: ci-pull
// (pull acme/app and acme/base) and release (push acme/app), each with
// what the hub grants it.
func injecting(t *testing.T) *fixture {
	t.Helper()
	f := setupWith(t, options{inject: true,
		hub: []hubtest.Token{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}},
			{Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}, Push: []string{"acme/*"}},
		},
		records: staticTokens{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/app", "acme/base"}, nil)},
			{Org: "acme", Label: "release", Secret: pushSecret, Active: true, Scopes: mustScopes(t, nil, []string{"acme/app"})},
		}})
	return f
}

// TestInjection: clients with no credentials at all pull and push through
// an injecting proxy; each token request gets the least-privileged token
// that covers it; nothing covers → refused before the Hub; a repository of
// no organization we hold tokens for goes anonymous; requests with
// credentials are checked, never rewritten.
func TestInjection(t *testing.T) {
	f := injecting(t)
	if _, err := f.hub.Seed(context.Background(), "library/alpine", "3"); err != nil {
		t.Fatal(err)
	}
	anon := []remote.Option{remote.WithTransport(f.client), remote.WithAuth(authn.Anonymous)}

	before := len(f.hub.Requests())
	if _, err := remote.Image(ref(t, "registry-1.docker.io/acme/app:1.0"), anon...); err != nil {
		t.Fatalf("anonymous pull through the injecting proxy: %v", err)
	}
	if got := labelsUsed(f.hub, before); len(got) == 0 || got[0] != "ci-pull" {
		t.Errorf("pull: the hub saw the tokens %q, want ci-pull (the least privileged)", got)
	}

	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	before = len(f.hub.Requests())
	if err := remote.Write(ref(t, "registry-1.docker.io/acme/app:2.0"), img, anon...); err != nil {
		t.Fatalf("anonymous push through the injecting proxy: %v", err)
	}
	for _, l := range labelsUsed(f.hub, before) {
		if l != "release" {
			t.Errorf("push: the hub saw token %q, want release only", l)
		}
	}

	before = len(f.hub.Requests())
	err = remote.Write(ref(t, "registry-1.docker.io/acme/base:1"), img, anon...)
	if err == nil || !strings.Contains(err.Error(), "oat-proxy holds no usable token that may repository:acme/base:") || !strings.Contains(err.Error(), `Closest: "ci-pull"`) {
		t.Fatalf("push no token covers: %v", err)
	}
	if reached(f.hub, before, "acme/base", "push") {
		t.Error("the hub saw a push request for acme/base")
	}

	// An official image: no token of ours is about it; anonymous.
	before = len(f.hub.Requests())
	if _, err := remote.Image(ref(t, "registry-1.docker.io/library/alpine:3"), anon...); err != nil {
		t.Fatalf("anonymous pull of an official image: %v", err)
	}
	for _, l := range labelsUsed(f.hub, before) {
		if l != "" {
			t.Errorf("an official image's token request carried token %q", l)
		}
	}

	// With credentials: checked as always, never rewritten.
	err = remote.Write(ref(t, "registry-1.docker.io/acme/app:3.0"), img, f.opts(pullSecret)...)
	if err == nil || !strings.Contains(err.Error(), `token "ci-pull" (acme) may not push to acme/app`) {
		t.Fatalf("push with the pull token's own credentials: %v", err)
	}

	for _, s := range []string{pullSecret, pushSecret} {
		if strings.Contains(f.audit.String(), s) {
			t.Error("a secret in the audit log")
		}
	}
	if !strings.Contains(f.audit.String(), `"decision":"injected"`) {
		t.Errorf("no injected decision in the audit log:\n%s", f.audit.String())
	}
}
