package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// BenchmarkDecide is the policy's verdict on a registry request (a blob
// GET with a bearer the proxy saw issued) for a token of 50 repositories,
// the one asked for last among them.
func BenchmarkDecide(b *testing.B) {
	var repos []string
	for i := range 50 {
		repos = append(repos, fmt.Sprintf("acme/r%d", i))
	}
	s, err := oat.NewScopes(repos, nil, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	tok := oat.Token{Org: "acme", Label: "ci", Secret: "dckr_oat_ci", Active: true, Scopes: s}
	in := Request{
		Request: registry.Request{Kind: registry.KindRegistry, Access: []registry.Access{{Repo: "acme/r49", Actions: []string{"pull"}}},
			Creds: []registry.Credential{{Kind: registry.CredBearer, Value: "x"}}},
		Creds: Credentials{Token: &tok},
		Now:   time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := Decide(in); v.Outcome != Allowed {
			b.Fatal(v.Message)
		}
	}
}
