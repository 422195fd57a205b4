package policy

import (
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	scopes := func(pull, push []string, public bool) oat.Scopes {
		s, err := oat.NewScopes(pull, push, public, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pullOnly := oat.Token{Org: "acme", Label: "ci-pull", Scopes: scopes([]string{"acme/*"}, nil, false)}
	release := oat.Token{Org: "acme", Label: "release", Scopes: scopes(nil, []string{"acme/app"}, true)}
	unknown := oat.Token{Org: "acme", Label: "login", Scopes: oat.UnknownScopes()}
	need := func(repo string, actions ...string) []registry.Access {
		return []registry.Access{{Repo: repo, Actions: actions}}
	}
	tests := []struct {
		name  string
		tok   oat.Token
		need  []registry.Access
		allow bool
		msg   string
	}{
		{"pull in scope", pullOnly, need("acme/app", "pull"), true, ""},
		{"push with pull only", pullOnly, need("acme/app", "pull", "push"), false,
			`token "ci-pull" (acme) may not push to acme/app: it has pull only. Use a token with Image Push on acme/app (docker-credential-oat token ls), or ask an organization owner to add the scope.`},
		{"pull of another org", pullOnly, need("beta/app", "pull"), false, `may not pull beta/app: it has no access to it. Use a token with Image Pull on beta/app`},
		{"official image without public read", pullOnly, need("library/alpine", "pull"), false, `may not pull library/alpine: it has no public read. Use a token with Read public repositories`},
		{"official image with public read", release, need("library/alpine", "pull"), true, ""},
		{"another org's repository with public read: the Hub decides", release, need("beta/app", "pull"), true, ""},
		{"push in scope", release, need("acme/app", "pull", "push"), true, ""},
		{"push elsewhere", release, need("acme/base", "pull", "push"), false, `may not push to acme/base: it has no access to it`},
		{"mount from a repository out of reach", pullOnly, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}, {Repo: "beta/x", Actions: []string{"pull"}}}, false, "may not pull beta/x"},
		{"delete", release, need("acme/app", "delete"), false, "organization access tokens cannot delete images"},
		{"unknown scopes pass", unknown, need("acme/app", "push", "delete"), true, ""},
	}
	for _, tt := range tests {
		d := Scopes(&tt.tok, tt.need)
		if (d.Outcome == Allowed) != tt.allow || !strings.Contains(d.Message, tt.msg) {
			t.Errorf("%s: %+v, want allow=%v message with %q", tt.name, d, tt.allow, tt.msg)
		}
	}

	admin := oat.Token{Org: "acme", Label: "admin", Scopes: oat.Scopes{Org: []string{"member-edit"}}}
	if d := Org(&admin, "acme", "member-read"); d.Outcome != Allowed {
		t.Errorf("member-edit covers member-read: %+v", d)
	}
	if d := Org(&admin, "acme", "group-read"); d.Outcome == Allowed || !strings.Contains(d.Message, "lacks the group-read scope") {
		t.Errorf("group-read: %+v", d)
	}
	if d := Org(&admin, "beta", "member-read"); d.Outcome == Allowed {
		t.Errorf("another org: %+v", d)
	}
}
