// Package hub knows Docker Hub's names: the host names it answers on, the
// hosts it sends blob downloads to, the spellings of its registry in a credential helper's server URL, and the
// normalised form of other registries' server URLs.
package hub

import (
	"net/url"
	"slices"
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
	// RegistryHubHost is an older name of the registry API, still
	// answered and still a spelling of Docker Hub in a server URL.
	RegistryHubHost = "registry.hub.docker.com"
)

// DockerIOHost is the name people and the docker CLI give the registry
// ("docker.io/acme/app"); it is no API host.
const DockerIOHost = "docker.io"

// CloudflareBlobHost is the first of BlobHosts: Docker Hub's Cloudflare CDN.
const CloudflareBlobHost = "production.cloudflare.docker.com"

// APIHosts are the hosts whose requests carry Docker Hub credentials: the
// ones a scope-checking proxy has to see.
var APIHosts = []string{RegistryHost, IndexHost, AuthHost, APIHost, RegistryHubHost}

// BlobHosts are the hosts Docker Hub's registry redirects blob downloads to:
// an authorised GET /v2/<name>/blobs/<digest> is answered with a 307 to a
// pre-signed URL on one of them. They are the "Docker Pull/Push" hosts of
// Docker's allowlist documentation
// (https://docs.docker.com/desktop/setup/allow-list/) besides the API hosts,
// by exact name: a pattern such as "docker-images-prod*.s3*.amazonaws.com"
// would admit buckets anyone can create.
var BlobHosts = []string{
	CloudflareBlobHost,
	"production.cloudfront.docker.com",
	"docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com",
}

// registryHosts are the spellings of the Docker Hub registry in a server URL.
var registryHosts = map[string]bool{
	DockerIOHost:    true,
	IndexHost:       true,
	RegistryHost:    true,
	RegistryHubHost: true,
}

// registryPaths are the paths a Docker Hub server URL may carry and still
// name the registry itself (not, say, Docker's /v1/access-token entry).
var registryPaths = map[string]bool{"": true, "/v1": true, "/v2": true}

// CanonicalHost is host (without port) in the one form names are compared
// in: lower case, without the trailing dot of a fully qualified name.
func CanonicalHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// IsAPIHost reports whether host (without port), in any case and with or
// without a trailing dot, is one of APIHosts.
func IsAPIHost(host string) bool {
	host = CanonicalHost(host)
	for _, h := range APIHosts {
		if h == host {
			return true
		}
	}
	return false
}

// IsBlobHost reports whether host (without port) is one of BlobHosts. Any
// other spelling (a trailing dot, a subdomain) is not.
func IsBlobHost(host string) bool { return slices.Contains(BlobHosts, strings.ToLower(host)) }

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
