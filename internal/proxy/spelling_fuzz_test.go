package proxy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/classify"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
	"github.com/oatkit/oat/internal/registry"
)

// spellingTokens are the token records FuzzEquivalentSpellings judges
// with: pull on an organization, push on one repository, push on an
// official image's name, public read.
func spellingTokens(t *testing.T) []oat.Token {
	t.Helper()
	var out []oat.Token
	for _, s := range []struct {
		pull, push []string
		public     bool
	}{
		{pull: []string{"acme/*"}},
		{push: []string{"acme/app"}},
		{push: []string{"alpine"}},
		{pull: []string{"acme/base"}, public: true},
	} {
		sc, err := oat.NewScopes(s.pull, s.push, s.public, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, oat.Token{Org: "acme", Label: "t", Secret: "dckr_oat_x", Active: true, Scopes: sc})
	}
	return out
}

// respell rewrites a registry request target into a spelling some server
// reads as the same request: each op byte picks a rewrite, the next byte
// where it applies.
func respell(target string, ops []byte) string {
	slashes := func() []int {
		var at []int
		for i := 1; i < len(target); i++ { // not the leading slash
			if target[i] == '/' && !strings.Contains(target[:i], "?") {
				at = append(at, i)
			}
		}
		return at
	}
	for len(ops) >= 2 {
		op, pos := ops[0]%9, int(ops[1])
		ops = ops[2:]
		s := slashes()
		at := -1
		if len(s) > 0 {
			at = s[pos%len(s)]
		}
		switch {
		case op == 0 && at > 0:
			target = target[:at] + []string{"%2F", "%2f"}[pos%2] + target[at+1:]
		case op == 1 && at > 0:
			target = target[:at] + "//" + target[at+1:]
		case op == 2 && at > 0:
			target = target[:at+1] + "./" + target[at+1:]
		case op == 3 && at > 0:
			target = target[:at+1] + "x/../" + target[at+1:]
		case op == 4 && len(target) > 0:
			i := pos % len(target)
			target = target[:i] + strings.ToUpper(target[i:i+1]) + target[i+1:]
		case op == 5:
			q := strings.IndexByte(target, '?')
			if q < 0 {
				target += "/"
			} else {
				target = target[:q] + "/" + target[q:]
			}
		case op == 6 && strings.HasPrefix(target, "/v2/"):
			// library/ games: add it to a one-part name, or take it off.
			rest := target[len("/v2/"):]
			if onepart(rest) {
				target = "/v2/library/" + rest
			} else if after, ok := strings.CutPrefix(rest, "library/"); ok && onepart(after) {
				target = "/v2/" + after
			}
		case op == 7 && len(target) > 1:
			i := 1 + pos%(len(target)-1)
			target = target[:i] + fmt.Sprintf("%%%02X", target[i]) + target[i+1:]
		case op == 8 && at > 0:
			target = target[:at] + `\` + target[at+1:]
		}
	}
	return target
}

// onepart reports whether p, a registry path after /v2/, starts with a
// one-part name: a component, then a route.
func onepart(p string) bool {
	_, after, ok := strings.Cut(p, "/")
	for _, route := range []string{"manifests/", "blobs/", "tags/", "referrers/"} {
		if ok && strings.HasPrefix(after, route) {
			return true
		}
	}
	return false
}

// FuzzEquivalentSpellings: a request the policy refuses in its plain
// spelling is refused in every other spelling of it — encoded slashes,
// doubled slashes, dot segments, case, trailing slashes, percent-encoded
// characters, library/ prefixes — and a spelling understood at all needs
// exactly what the plain one needs.
func FuzzEquivalentSpellings(f *testing.F) {
	digest := "sha256:" + strings.Repeat("a", 64)
	for _, s := range []struct{ method, target string }{
		{"GET", "/v2/acme/app/manifests/1.0"},
		{"HEAD", "/v2/library/alpine/manifests/" + digest},
		{"GET", "/v2/alpine/blobs/" + digest},
		{"PUT", "/v2/acme/app/manifests/2.0"},
		{"PUT", "/v2/acme/base/manifests/2.0"},
		{"POST", "/v2/acme/app/blobs/uploads/"},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=beta/x"},
		{"PATCH", "/v2/alpine/blobs/uploads/3f2a-uuid"},
		{"PUT", "/v2/library/alpine/blobs/uploads/3f2a-uuid?digest=" + digest},
		{"DELETE", "/v2/acme/app/manifests/" + digest},
		{"GET", "/v2/beta/x/tags/list"},
		{"GET", "/v2/acme/base/referrers/" + digest},
	} {
		f.Add(s.method, s.target, []byte{0, 1})
		f.Add(s.method, s.target, []byte{6, 0, 3, 2})
		f.Add(s.method, s.target, []byte{7, 5, 4, 9, 1, 3})
	}
	var tokens []oat.Token
	f.Fuzz(func(t *testing.T, method, target string, ops []byte) {
		if tokens == nil {
			tokens = spellingTokens(t)
		}
		plain, ok := readRequest(method, target, hub.RegistryHost)
		if !ok {
			return
		}
		variant := respell(target, ops)
		other, ok := readRequest(method, variant, hub.RegistryHost)
		if !ok {
			return
		}
		p, perr := classify.Request(hub.RegistryHost, plain, nil)
		v, verr := classify.Request(hub.RegistryHost, other, nil)
		for _, tok := range tokens {
			dp, dv := policy.Check(&tok, p, errText(perr)), policy.Check(&tok, v, errText(verr))
			if dv.Outcome == policy.Allowed && dp.Outcome != policy.Allowed {
				t.Fatalf("%s %q is refused (%s) but %q is allowed for %s", method, target, dp.Message, variant, tok.Scopes.Summary())
			}
		}
		understood := func(r registry.Request, err error) bool {
			return err == nil && r.Unknown == "" && r.Kind == registry.KindRegistry
		}
		if understood(p, perr) && understood(v, verr) && !slices.EqualFunc(p.Access, v.Access, func(a, b registry.Access) bool {
			return a.Repo == b.Repo && slices.Equal(a.Actions, b.Actions)
		}) {
			t.Fatalf("%s %q needs %+v, its spelling %q %+v", method, target, p.Access, variant, v.Access)
		}
	})
}

// errText is err's text, "" for nil: a classifier's error as the policy
// reads it.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
