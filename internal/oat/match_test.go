package oat

import (
	"strings"
	"testing"
)

// TestMatchRepo: a pattern is one repository or every repository of a
// namespace; the fast form agrees with the definition (the namespace before
// the first slash is the pattern's, and the name has a slash).
func TestMatchRepo(t *testing.T) {
	t.Parallel()
	byDefinition := func(pattern, repo string) bool {
		if ns, ok := strings.CutSuffix(pattern, "/*"); ok {
			return Namespace(repo) == ns && strings.Contains(repo, "/")
		}
		return pattern == repo
	}
	for _, tt := range []struct {
		pattern, repo string
		want          bool
	}{
		{"acme/app", "acme/app", true},
		{"acme/app", "acme/app2", false},
		{"acme/*", "acme/app", true},
		{"acme/*", "acme/team/app", true},
		{"acme/*", "acme", false},
		{"acme/*", "acmeco/app", false},
		{"acme/*", "acm/app", false},
		{"acme/*", "beta/app", false},
		{"acme/*", "acme/", true},
		{"a/b/*", "a/b/c", false}, // a namespace has no slash
		{"/*", "/x", true},
		{"*", "acme/app", false},
		{"", "", true},
	} {
		if got := MatchRepo(tt.pattern, tt.repo); got != tt.want || got != byDefinition(tt.pattern, tt.repo) {
			t.Errorf("MatchRepo(%q, %q) = %v, want %v (definition: %v)", tt.pattern, tt.repo, got, tt.want, byDefinition(tt.pattern, tt.repo))
		}
	}
}
