// Package registry is the model of a Docker Hub request as the proxy
// reads it: what kind it is, the access it needs on each repository, the
// credentials it carries and what of it was not understood, with the
// grammar of token scopes and repository names. Reading an HTTP request
// into one is internal/classify's; this package does no I/O and imports
// no network package, so the policy that judges a Request stays pure.
package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/hub"
)

// Organization scopes of the Hub API's routes. AccessTokenRead and
// AccessTokenEdit are no scope an organization access token can have:
// only an organization owner manages the organization's tokens.
const (
	AccessTokenRead = "access-token-read"
	AccessTokenEdit = "access-token-edit"
)

// Kind is what a request is.
type Kind int

// Kinds of request.
const (
	KindOther    Kind = iota // not understood: Request.Unknown says why
	KindPing                 // GET /v2/
	KindToken                // the token service
	KindRegistry             // the registry API on a repository
	KindAPI                  // the Hub API's organization routes
	KindLogin                // the Hub API's logins, which answer with a JWT
)

func (k Kind) String() string {
	return [...]string{"other", "ping", "token", "registry", "api", "login"}[k]
}

// Access is what a request needs on one repository.
type Access struct {
	Repo    string   `json:"repo"`
	Actions []string `json:"actions"`
}

// CredKind is where a credential came from.
type CredKind int

// Kinds of credential.
const (
	CredBasic    CredKind = iota // Authorization: Basic, or URL userinfo
	CredPassword                 // a password grant's or a login's secret
	CredRefresh                  // a refresh_token grant's token
	CredBearer                   // Authorization: Bearer (or JWT)
	CredOther                    // an Authorization scheme not understood
)

// Credential is one credential a request carries.
type Credential struct {
	Kind     CredKind
	Username string
	Value    string
}

// Request is a classified request.
type Request struct {
	Kind   Kind
	Access []Access
	// Creds are every credential the request carries, in the order read.
	Creds []Credential
	// OrgScope is the organization scope a Hub API route needs, and Org
	// the organization ("" when the route does not name it: the token's
	// own).
	OrgScope, Org string
	// Unknown says what in the request was not understood. A request
	// with a credential of a token the proxy holds is refused for it.
	Unknown string
	// Unread says what of a body the proxy must read (a token request's
	// form, a login's or an access token route's JSON), or of the headers
	// that say how to read it, was not read as Docker Hub reads it. Such a
	// request is refused whoever sends it: "no credentials" is said only
	// of a request read completely.
	Unread string
	// Hidden are the other values of a token request's or a login's
	// query and body, read leniently: any that is a credential of a token
	// the proxy holds makes the request that token's, so a request
	// another server might read differently is not passed as nobody's.
	Hidden []string
	// BlobDownload is a GET of a blob: the request Docker Hub answers with
	// a redirect to a pre-signed URL on its CDN.
	BlobDownload bool
}

// Scopes is the request's access as token scope strings.
func (r Request) Scopes() []string {
	var out []string
	for _, a := range r.Access {
		out = append(out, "repository:"+a.Repo+":"+strings.Join(a.Actions, ","))
	}
	return out
}

// ParseScope reads a token scope, "repository:acme/app:pull,push". The
// resource type is read in any case, with or without a class
// ("repository(plugin)"); ok is false for other types (registry:catalog:*).
// A repository name breaking the grammar, or no action, is an error.
func ParseScope(s string) (a Access, ok bool, err error) {
	first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
	if first <= 0 || last == first {
		return Access{}, false, fmt.Errorf("malformed scope %q", s)
	}
	typ, name, actions := s[:first], s[first+1:last], s[last+1:]
	if i := strings.Index(typ, "("); i > 0 && strings.HasSuffix(typ, ")") {
		typ = typ[:i]
	}
	if !strings.EqualFold(typ, "repository") {
		return Access{}, false, nil
	}
	repo, err := NormalizeName(name)
	if err != nil {
		return Access{}, false, fmt.Errorf("scope %q: %w", s, err)
	}
	var acts []string
	for _, a := range strings.Split(actions, ",") {
		a = strings.ToLower(strings.TrimSpace(a))
		if !validAction(a) {
			return Access{}, false, fmt.Errorf("scope %q asks for the action %q", s, a)
		}
		if a != "" && !slices.Contains(acts, a) {
			acts = append(acts, a)
		}
	}
	if len(acts) == 0 {
		return Access{}, false, fmt.Errorf("scope %q asks for no action", s)
	}
	return Access{Repo: repo, Actions: acts}, true, nil
}

// validAction is an action of the token scope grammar, [a-z]* or "*".
func validAction(a string) bool {
	if a == "*" {
		return true
	}
	for i := 0; i < len(a); i++ {
		if a[i] < 'a' || a[i] > 'z' {
			return false
		}
	}
	return true
}

// NormalizeName checks a repository name against the grammar and adds
// library/ to an official image's name, as Docker does on the wire.
func NormalizeName(name string) (string, error) {
	if !hub.ValidPath(name) {
		return "", fmt.Errorf("invalid repository name %q", name)
	}
	if !strings.Contains(name, "/") {
		name = "library/" + name
	}
	return name, nil
}
