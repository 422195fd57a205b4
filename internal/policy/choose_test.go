package policy

import (
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

func scoped(org, label string, pull, push []string, public bool) oat.Token {
	s, err := oat.NewScopes(pull, push, public, nil)
	if err != nil {
		panic(err)
	}
	return oat.Token{Org: org, Label: label, Secret: "dckr_oat_" + label, Active: true, Scopes: s}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	pullApp := scoped("acme", "pull-app", []string{"acme/app"}, nil, false)
	pullAll := scoped("acme", "pull-all", []string{"acme/*"}, nil, false)
	pushApp := scoped("acme", "push-app", nil, []string{"acme/app"}, false)
	public := scoped("acme", "public", []string{"acme/app"}, nil, true)
	expired := scoped("acme", "a-expired", []string{"acme/app", "acme/base"}, []string{"acme/base"}, true)
	expired.Expires = now.Add(-time.Hour)
	unknown := oat.Token{Org: "acme", Label: "login-1", Secret: "dckr_oat_login", Active: true, Scopes: oat.UnknownScopes()}
	all := []oat.Token{pullAll, pushApp, pullApp, public, expired, unknown}
	acc := func(repo string, actions ...string) registry.Access {
		return registry.Access{Repo: repo, Actions: actions}
	}

	tests := []struct {
		name    string
		need    []registry.Access
		want    string // label; "" none; "anon" anonymous
		closest string // first of Closest
	}{
		{"pull of one repository: the narrowest token", []registry.Access{acc("acme/app", "pull")}, "pull-app", ""},
		{"pull of another repository: the wildcard", []registry.Access{acc("acme/base", "pull")}, "pull-all", ""},
		{"push: the push token", []registry.Access{acc("acme/app", "pull", "push")}, "push-app", ""},
		{"push elsewhere: only the unknown one could", []registry.Access{acc("acme/base", "pull", "push")}, "login-1", ""},
		{"pull with an official image: public read needed", []registry.Access{acc("acme/app", "pull"), acc("library/alpine", "pull")}, "public", ""},
		{"outside our organizations: anonymous", []registry.Access{acc("library/alpine", "pull")}, "anon", ""},
		{"push outside, with ours: nothing covers", []registry.Access{acc("acme/app", "pull"), acc("other/x", "pull", "push")}, "", "public"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Choose(all, tt.need, now)
			switch {
			case tt.want == "anon":
				if !c.Anonymous || c.Token != nil {
					t.Errorf("want anonymous, got %+v", c)
				}
			case tt.want == "":
				if c.Token != nil || c.Anonymous || len(c.Closest) == 0 || c.Closest[0].Label != tt.closest {
					t.Errorf("want none with %s closest, got %+v", tt.closest, c)
				}
			default:
				if c.Token == nil || c.Token.Label != tt.want {
					t.Errorf("want %s, got %+v", tt.want, c)
				}
			}
		})
	}
	// Without the unknown token, a push to acme/base is covered by none,
	// and the expired token is never chosen nor named.
	c := Choose([]oat.Token{pullAll, pushApp, expired}, []registry.Access{acc("acme/base", "pull", "push")}, now)
	if c.Token != nil || len(c.Closest) != 2 {
		t.Fatalf("%+v", c)
	}
	for _, t2 := range c.Closest {
		if t2.Label == "a-expired" {
			t.Error("an expired token among the closest")
		}
	}
}
