package hub

import "strings"

// Realm and Service are Docker Hub's token service, as its registry names
// them in the challenges it answers unauthenticated requests with.
const (
	Realm   = "https://auth.docker.io/token"
	Service = "registry.docker.io"
)

// Actions on a repository, as token scopes name them.
const (
	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
)

// RepoPrefixes are the registry prefixes Docker strips from a Docker Hub
// image name ("docker.io/acme/app" is "acme/app").
var RepoPrefixes = []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/", "registry.hub.docker.com/"}

// MaxNameLength is the longest repository name the distribution
// specification allows.
const MaxNameLength = 255

// ValidComponent reports whether s is one path component of a repository
// name, as the distribution reference grammar defines it:
// [a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*. It is the project's one copy of
// that grammar (written out rather than a regexp: it is on the proxy's
// per-request path, and a regexp compiled at start-up would cost every
// helper call); a test holds it to github.com/distribution/reference.
func ValidComponent(s string) bool {
	i, n := 0, len(s)
	for {
		if i >= n || !alnum(s[i]) {
			return false
		}
		for i < n && alnum(s[i]) {
			i++
		}
		if i == n {
			return true
		}
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < n && s[i] == '_' {
				i++
			}
		case '-':
			for i < n && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

// ValidPath reports whether s is a repository name without a registry:
// components separated by '/', at most MaxNameLength bytes.
func ValidPath(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLength {
		return false
	}
	for {
		c, rest, more := strings.Cut(s, "/")
		if !ValidComponent(c) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

func alnum(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
