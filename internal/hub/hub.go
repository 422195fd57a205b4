// Package hub knows Docker Hub's names: the host names it answers on, the
// spellings of its registry in a credential helper's server URL, and the
// normalised form of other registries' server URLs.
package hub

import (
	"net/url"
	"strings"
)

// IndexServer is the server URL the docker CLI uses for Docker Hub
// credentials, and the one this project reports Docker Hub under.
const IndexServer = "https://index.docker.io/v1/"

// Host names Docker Hub answers on.
const (
	RegistryHost = "registry-1.docker.io" // the registry API
	IndexHost    = "index.docker.io"      // the legacy index, and the credential key
	AuthHost     = "auth.docker.io"       // the token service
	APIHost      = "hub.docker.com"       // the Hub API (organizations, members, …)
)

// APIHosts are the hosts whose requests carry Docker Hub credentials: the
// ones a scope-checking proxy has to see.
var APIHosts = []string{RegistryHost, IndexHost, AuthHost, APIHost}

// registryHosts are the spellings of the Docker Hub registry in a server URL.
var registryHosts = map[string]bool{
	"docker.io":               true,
	IndexHost:                 true,
	RegistryHost:              true,
	"registry.hub.docker.com": true,
}

// registryPaths are the paths a Docker Hub server URL may carry and still
// name the registry itself (not, say, Docker's /v1/access-token entry).
var registryPaths = map[string]bool{"": true, "/v1": true, "/v2": true}

// IsAPIHost reports whether host (without port) is one of APIHosts.
func IsAPIHost(host string) bool {
	host = strings.ToLower(host)
	for _, h := range APIHosts {
		if h == host {
			return true
		}
	}
	return false
}

// Server is a credential helper's server URL, parsed.
type Server struct {
	// Key identifies the credentials: every spelling of one registry has the
	// same Key.
	Key string
	// Hub is true for Docker Hub's registry, whatever the spelling.
	Hub bool
}

// ParseServer normalises a server URL as the docker CLI and credential helpers
// spell it: "https://index.docker.io/v1/", "docker.io", "registry-1.docker.io"
// are all Docker Hub (Key "index.docker.io"); other registries are keyed by
// lower-cased host[:port] and path, without an http or https scheme or a
// trailing slash, so "https://Registry.Example.com/" and
// "registry.example.com" are one entry. Docker Hub is only ever https: an
// "http://" URL is not taken for it. A string that is not a URL is its own key.
func ParseServer(server string) Server {
	s := strings.TrimSpace(server)
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		rest, scheme = s, ""
	}
	scheme = strings.ToLower(scheme)
	if hasScheme && !validScheme(scheme) || strings.Contains(rest, "://") {
		return Server{Key: s}
	}
	u, err := url.Parse("https://" + rest)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Server{Key: s}
	}
	host := strings.ToLower(u.Host)
	path := strings.TrimRight(u.EscapedPath(), "/")

	hubHost := strings.TrimSuffix(host, ":443")
	hubSpelling := registryHosts[hubHost] && registryPaths[path]
	if hubSpelling && (scheme == "" || scheme == "https") {
		return Server{Key: IndexHost, Hub: true}
	}
	key := host + path
	// The scheme stays in the key where dropping it would change what the
	// key means: "http://docker.io" is not Docker Hub, and its key must not
	// read back as Hub's.
	if scheme != "" && scheme != "https" && (scheme != "http" || hubSpelling) {
		key = scheme + "://" + key
	}
	return Server{Key: key}
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, "+", "-" or ".").
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}
