package classify

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/registry"
)

// Token requests as real clients send them: docker login and pull (GET),
// containerd and buildkit (POST forms, password and refresh grants),
// crane (several scopes), and the shapes a hostile client tries.
var tokenSeeds = []struct{ method, query, ctype, body string }{
	{"GET", "account=acme&client_id=docker&offline_token=true&service=registry.docker.io", "", ""},
	{"GET", "scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io", "", ""},
	{"GET", "scope=repository%3Aacme%2Fapp%3Apush%2Cpull&scope=repository%3Aacme%2Fbase%3Apull&service=registry.docker.io", "", ""},
	{"GET", "scope=repository:acme/app:pull repository:acme/base:push&service=registry.docker.io", "", ""},
	{"POST", "", "application/x-www-form-urlencoded", "access_type=offline&client_id=containerd-client&grant_type=password&password=dckr_oat_x&scope=repository%3Aacme%2Fapp%3Apull&service=registry.docker.io&username=acme"},
	{"POST", "", "application/x-www-form-urlencoded", "client_id=buildkit-client&grant_type=refresh_token&refresh_token=r1&scope=repository%3Aacme%2Fapp%3Apull%2Cpush&service=registry.docker.io"},
	{"POST", "scope=repository:acme/app:pull", "application/x-www-form-urlencoded", "grant_type=password&username=acme&password=x&scope=repository:acme/base:push"},
	{"POST", "", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=r&scope=repository:acme/app:pull;scope=repository:acme/x:push"},
	{"POST", "scope=Repository:acme/app:push", "text/plain", "grant_type=password&scope=repository%3Aacme%2Fbase%3Apush"},
	{"POST", "", "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8", "grant_type=password&password=a&password=b&scope=repository(plugin):acme/app:PULL,PUSH"},
	{"GET", "scope=repository:acme/app:pull&scope=%zz&service=a&service=b", "", ""},
}

// FuzzTokenRequest reads token requests, GET queries and POST forms, and
// holds the classifier to what a server reading them another way would
// find: every value any reading finds is among the values checked for
// credentials; a request understood fully carries every scope either
// reading finds, with the same actions, and every password and refresh
// token of the form among its credentials.
func FuzzTokenRequest(f *testing.F) {
	for _, s := range tokenSeeds {
		f.Add(s.method, s.query, s.ctype, s.body)
	}
	f.Fuzz(func(t *testing.T, method, query, ctype, body string) {
		r, err := http.NewRequest(method, "https://auth.docker.io/token", strings.NewReader(body))
		if err != nil {
			return
		}
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", ctype)
		method = r.Method // "" is GET
		isPost := strings.EqualFold(method, http.MethodPost)
		var form []byte
		if NeedsBody(hub.AuthHost, method, "/token") {
			form = []byte(body)
		}
		got, err := Request(hub.AuthHost, r, form)
		if err != nil {
			t.Fatalf("a token request gave an error, not a note: %v", err)
		}
		if got.Kind == registry.KindToken && !isPost && !strings.EqualFold(method, http.MethodGet) {
			t.Fatalf("%s on the token service read as a token request", method)
		}
		readings := []registry.Values{lenientValues(query), goValues(query)}
		if isPost {
			readings = append(readings, lenientValues(body), goValues(body))
		}
		for _, v := range readings {
			for k, vs := range v {
				for _, one := range vs {
					if one != "" && !slices.Contains(got.Hidden, one) {
						t.Fatalf("the value %q of %q is not checked for credentials: %+v", one, k, got.Hidden)
					}
				}
			}
		}
		if got.Unknown != "" || got.Kind != registry.KindToken {
			return
		}
		for _, v := range readings {
			for _, param := range v["scope"] {
				for _, s := range strings.Fields(param) {
					a, ok, err := registry.ParseScope(s)
					if err != nil || !ok {
						t.Fatalf("scope %q passed as understood: %+v", s, got)
					}
					if !slices.ContainsFunc(got.Access, func(b registry.Access) bool { return b.Repo == a.Repo && sameActions(a.Actions, b.Actions) }) {
						t.Fatalf("scope %q missing from %+v", s, got.Access)
					}
				}
			}
		}
		if !isPost {
			return
		}
		for _, v := range readings[2:] {
			for _, name := range []string{"password", "refresh_token"} {
				for _, secret := range v[name] {
					if secret != "" && !slices.ContainsFunc(got.Creds, func(c registry.Credential) bool { return c.Value == secret }) {
						t.Fatalf("the form's %s %q is no credential of %+v", name, secret, got.Creds)
					}
				}
			}
		}
	})
}

// goValues is Go's own reading of a query or form, the one most Go servers
// use: pairs it cannot read are dropped.
func goValues(raw string) registry.Values {
	v, _ := url.ParseQuery(raw)
	return registry.Values(v)
}

func sameActions(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(x string) bool { return !slices.Contains(b, x) })
}
