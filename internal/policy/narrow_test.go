package policy

import (
	"encoding/base64"
	"slices"
	"testing"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

func mustScopes(t *testing.T, pull, push []string) oat.Scopes {
	t.Helper()
	s, err := oat.NewScopes(pull, push, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNarrow(t *testing.T) {
	tok := oat.Token{Org: "acme", Label: "l", Scopes: mustScopes(t, []string{"acme/app"}, []string{"acme/tool"})}
	for _, c := range []struct {
		name string
		need []registry.Access
		want []registry.Access
		ok   bool
	}{
		{"asked twice", []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}, {Repo: "acme/app", Actions: []string{"pull", "push"}}}, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}}, true},
		{"push cut", []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}}, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}}, true},
		{"kept whole", []registry.Access{{Repo: "acme/tool", Actions: []string{"pull", "push"}}}, []registry.Access{{Repo: "acme/tool", Actions: []string{"pull", "push"}}}, true},
		{"nothing left", []registry.Access{{Repo: "acme/base", Actions: []string{"pull"}}}, nil, true},
		{"a mount source cut", []registry.Access{{Repo: "acme/tool", Actions: []string{"pull", "push"}}, {Repo: "acme/base", Actions: []string{"pull"}}},
			[]registry.Access{{Repo: "acme/tool", Actions: []string{"pull", "push"}}}, true},
		{"delete is not narrowed", []registry.Access{{Repo: "acme/tool", Actions: []string{"delete"}}}, nil, false},
		{"nor anything unknown", []registry.Access{{Repo: "acme/tool", Actions: []string{"*"}}}, nil, false},
	} {
		got, ok := narrow(&tok, c.need)
		if ok != c.ok || (ok && !slices.EqualFunc(got, c.want, func(a, b registry.Access) bool { return a.Repo == b.Repo && slices.Equal(a.Actions, b.Actions) })) {
			t.Errorf("%s: narrow = %v %v, want %v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// jwtWith is an unsigned JWT with claims.
func jwtWith(claims string) string {
	b := base64.RawURLEncoding
	return b.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." + b.EncodeToString([]byte(claims)) + ".c2ln"
}

func TestGrantedPull(t *testing.T) {
	repos := []string{"other/a", "library/alpine"}
	for _, c := range []struct {
		name   string
		body   string
		denied []string
		ok     bool
	}{
		{"both granted", `{"token":"` + jwtWith(`{"access":[{"type":"repository","name":"other/a","actions":["pull"]},{"type":"repository","name":"alpine","actions":["pull"]}]}`) + `"}`, nil, true},
		{"empty access", `{"token":"` + jwtWith(`{"access":[]}`) + `"}`, repos, true},
		{"push only, another type", `{"access_token":"` + jwtWith(`{"access":[{"type":"repository","name":"other/a","actions":["push"]},{"type":"registry","name":"library/alpine","actions":["pull"]}]}`) + `"}`, repos, true},
		{"no access claim", `{"token":"` + jwtWith(`{"sub":"x"}`) + `"}`, nil, false},
		{"not a JWT", `{"token":"opaque"}`, nil, false},
		{"not JSON", `<html>`, nil, false},
		{"bad payload", `{"token":"a.!!.c"}`, nil, false},
	} {
		denied, ok := grantedPull([]byte(c.body), repos)
		if ok != c.ok || !slices.Equal(denied, c.denied) {
			t.Errorf("%s: grantedPull = %v %v, want %v %v", c.name, denied, ok, c.denied, c.ok)
		}
	}
}
