// Package oat models Docker Hub organization access tokens: their records,
// scopes and expiry, repository names as Docker sends them on the wire, and
// the JSON of Docker Hub's access-token API.
package oat

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/oatkit/oat/internal/hub"
)

// MaxRepos is how many repositories one token may name (Docker Hub's limit).
const MaxRepos = 50

// Token limits per organization, by plan (expired tokens count too).
const (
	TeamTokenLimit     = 10
	BusinessTokenLimit = 100
)

// NormalizeRepo returns a Docker Hub repository name as Docker sends it on
// the wire: "alpine" → "library/alpine", "Docker.io/Acme/App" → "acme/app".
// "acme/*" stands for every repository of acme and is kept. An invalid name
// is an error that states the rule it breaks.
func NormalizeRepo(s string) (string, error) {
	in := s
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range hub.RepoPrefixes {
		s = strings.TrimPrefix(s, p)
	}
	switch {
	case s == "":
		return "", errors.New("empty repository name")
	case strings.ContainsAny(s, "@"):
		return "", fmt.Errorf("repository %q: give the repository only, without a digest", in)
	case strings.Contains(s, ":"):
		return "", fmt.Errorf("repository %q: give the repository only, without a tag or registry port", in)
	case len(s) > hub.MaxNameLength:
		return "", fmt.Errorf("repository %q: longer than 255 characters", in)
	}
	parts := strings.Split(s, "/")
	if len(parts) == 1 {
		parts = []string{"library", parts[0]}
		if len(parts[0])+len(parts[1])+1 > 255 { // the limit is on the name as sent
			return "", fmt.Errorf("repository %q: longer than 255 characters as library/NAME", in)
		}
	}
	if len(parts) != 2 {
		return "", fmt.Errorf("repository %q: Docker Hub repositories are NAMESPACE/NAME (or NAME for an official image)", in)
	}
	if !hub.ValidComponent(parts[0]) {
		return "", fmt.Errorf("repository %q: namespace %q must be lowercase letters and digits, separated by '.', '_', '__' or '-'", in, parts[0])
	}
	if parts[1] == "*" {
		if parts[0] == "library" {
			return "", fmt.Errorf("repository %q: a wildcard needs an organization, as in acme/*", in)
		}
		return parts[0] + "/*", nil
	}
	if !hub.ValidComponent(parts[1]) {
		return "", fmt.Errorf("repository %q: name %q must be lowercase letters and digits, separated by '.', '_', '__' or '-'", in, parts[1])
	}
	return parts[0] + "/" + parts[1], nil
}

// Namespace is the part of a repository name before the slash.
func Namespace(repo string) string {
	ns, _, _ := strings.Cut(repo, "/")
	return ns
}

// MatchRepo reports whether pattern ("acme/app" or "acme/*") covers repo.
// It allocates nothing and reads each string once: the policy runs it for
// every scope of a token on every request.
func MatchRepo(pattern, repo string) bool {
	if ns, ok := strings.CutSuffix(pattern, "/*"); ok {
		// repo's namespace (before its first slash) is ns, and it has a
		// slash: repo starts with "ns/", and ns holds no slash.
		return len(repo) > len(ns) && repo[len(ns)] == '/' && repo[:len(ns)] == ns && strings.IndexByte(ns, '/') < 0
	}
	return pattern == repo
}

// orgName is what Docker Hub accepts as an organization name.
var orgName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,254}$`) })

// CheckOrg checks an organization name.
func CheckOrg(org string) error {
	if !orgName().MatchString(org) {
		return fmt.Errorf("organization %q: Docker Hub organization names are lowercase letters, digits, '-' and '_', 2 to 255 characters", org)
	}
	return nil
}

// CheckLabel checks a token label.
func CheckLabel(label string) error {
	switch {
	case strings.TrimSpace(label) == "":
		return errors.New("a token needs a label (--label)")
	case len(label) > 100:
		return fmt.Errorf("label %q: longer than 100 characters", label)
	case strings.ContainsFunc(label, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("label %q: control characters are not allowed", label)
	}
	return nil
}
