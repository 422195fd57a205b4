// Package registry classifies requests to Docker Hub — token requests,
// registry API requests and Hub API organization routes — into what they
// need: which repositories, which actions, with which credentials. It does
// no I/O.
package registry

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/hub"
)

// Actions on a repository.
const (
	Pull   = "pull"
	Push   = "push"
	Delete = "delete"
)

// Kind is what a request is.
type Kind int

// Kinds of request.
const (
	KindOther    Kind = iota // nothing to check
	KindPing                 // GET /v2/
	KindToken                // the token service
	KindRegistry             // the registry API on a repository
	KindAPI                  // the Hub API's organization routes
)

func (k Kind) String() string {
	return [...]string{"other", "ping", "token", "registry", "api"}[k]
}

// Access is what a request needs on one repository.
type Access struct {
	Repo    string   `json:"repo"`
	Actions []string `json:"actions"`
}

// Request is a classified request.
type Request struct {
	Kind   Kind
	Access []Access
	// Credentials the client presented to the token service: Basic auth,
	// or a password grant's username and password.
	Username, Secret string
	// RefreshToken is a refresh_token grant's token.
	RefreshToken string
	// Bearer is a registry request's bearer token.
	Bearer string
	// OrgScope is the organization scope a Hub API route needs, and Org
	// the organization.
	OrgScope, Org string
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

// nameComponent and namePattern are the distribution spec's repository
// name grammar.
const nameComponent = `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`

var (
	namePattern = nameComponent + `(?:/` + nameComponent + `)*`
	registryRE  = regexp.MustCompile(`^/v2/(` + namePattern + `)/(manifests/[^/]+|blobs/uploads/?[^/]*|blobs/[^/]+|tags/list|referrers/[^/]+)$`)
	nameRE      = regexp.MustCompile(`^` + namePattern + `$`)
	apiRE       = regexp.MustCompile(`^/v2/orgs/([^/]+)/(members|invites|groups)(?:/.*)?$`)
)

// ErrBadPath is a registry path that breaks the distribution spec.
var ErrBadPath = errors.New("not a registry API path")

// Classify reads what r needs. host is the host it was sent to, without a
// port. form is the parsed body of a token POST (nil otherwise).
func Classify(host string, r *http.Request, form url.Values) (Request, error) {
	switch host {
	case hub.AuthHost:
		return classifyToken(r, form)
	case hub.APIHost:
		return classifyAPI(r), nil
	}
	return classifyRegistry(r)
}

func classifyToken(r *http.Request, form url.Values) (Request, error) {
	req := Request{Kind: KindToken}
	var scopes []string
	switch r.Method {
	case http.MethodGet:
		scopes = r.URL.Query()["scope"]
		req.Username, req.Secret, _ = basicAuth(r.Header.Get("Authorization"))
	case http.MethodPost:
		scopes = strings.Fields(form.Get("scope"))
		switch form.Get("grant_type") {
		case "password":
			req.Username, req.Secret = form.Get("username"), form.Get("password")
		case "refresh_token":
			req.RefreshToken = form.Get("refresh_token")
		}
		if req.Secret == "" {
			req.Username, req.Secret, _ = basicAuth(r.Header.Get("Authorization"))
		}
	default:
		return req, nil
	}
	for _, s := range scopes {
		a, err := ParseScope(s)
		if err != nil {
			return Request{}, err
		}
		if a.Repo != "" {
			req.Access = append(req.Access, a)
		}
	}
	return req, nil
}

// ParseScope reads a token scope, "repository:acme/app:pull,push". Scopes
// of other types (registry:catalog:*) come back with no repository. A
// repository name breaking the grammar is an error.
func ParseScope(s string) (Access, error) {
	first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
	if first <= 0 || last == first {
		return Access{}, fmt.Errorf("malformed scope %q", s)
	}
	typ, name, actions := s[:first], s[first+1:last], s[last+1:]
	if i := strings.Index(typ, "("); i > 0 && strings.HasSuffix(typ, ")") {
		typ = typ[:i]
	}
	if typ != "repository" {
		return Access{}, nil
	}
	repo, err := NormalizeName(name)
	if err != nil {
		return Access{}, fmt.Errorf("scope %q: %w", s, err)
	}
	var acts []string
	for _, a := range strings.Split(actions, ",") {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(acts, a) {
			acts = append(acts, a)
		}
	}
	if len(acts) == 0 {
		return Access{}, fmt.Errorf("scope %q asks for no action", s)
	}
	return Access{Repo: repo, Actions: acts}, nil
}

// NormalizeName checks a repository name against the grammar and adds
// library/ to an official image's name, as Docker does on the wire.
func NormalizeName(name string) (string, error) {
	if len(name) > 255 || !nameRE.MatchString(name) {
		return "", fmt.Errorf("invalid repository name %q", name)
	}
	if !strings.Contains(name, "/") {
		name = "library/" + name
	}
	return name, nil
}

func classifyRegistry(r *http.Request) (Request, error) {
	path := r.URL.Path
	if path == "/v2/" || path == "/v2" {
		return Request{Kind: KindPing, Bearer: bearer(r)}, nil
	}
	if !strings.HasPrefix(path, "/v2/") {
		return Request{Kind: KindOther}, nil
	}
	if path == "/v2/_catalog" {
		return Request{Kind: KindOther, Bearer: bearer(r)}, nil
	}
	m := registryRE.FindStringSubmatch(path)
	if m == nil {
		return Request{}, fmt.Errorf("%w: %q", ErrBadPath, path)
	}
	repo, err := NormalizeName(m[1])
	if err != nil {
		return Request{}, err
	}
	req := Request{Kind: KindRegistry, Bearer: bearer(r)}
	upload := strings.HasPrefix(m[2], "blobs/uploads")
	var actions []string
	switch {
	case upload && r.Method == http.MethodDelete:
		actions = []string{Push}
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		if upload {
			actions = []string{Pull, Push}
		} else {
			actions = []string{Pull}
		}
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		actions = []string{Pull, Push}
	case r.Method == http.MethodDelete:
		actions = []string{Delete}
	default:
		return Request{}, fmt.Errorf("%w: method %s on %q", ErrBadPath, r.Method, path)
	}
	req.Access = []Access{{Repo: repo, Actions: actions}}
	req.BlobDownload = r.Method == http.MethodGet && !upload && strings.HasPrefix(m[2], "blobs/")
	if upload && r.Method == http.MethodPost {
		if from := r.URL.Query().Get("from"); from != "" && r.URL.Query().Get("mount") != "" {
			src, err := NormalizeName(from)
			if err != nil {
				return Request{}, err
			}
			req.Access = append(req.Access, Access{Repo: src, Actions: []string{Pull}})
		}
	}
	return req, nil
}

// orgScopes maps Hub API routes to the scope they need.
var orgScopes = map[string][2]string{
	"members": {"member-read", "member-edit"},
	"invites": {"invite-read", "invite-edit"},
	"groups":  {"group-read", "group-edit"},
}

func classifyAPI(r *http.Request) Request {
	m := apiRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return Request{Kind: KindOther}
	}
	scope := orgScopes[m[2]][1]
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		scope = orgScopes[m[2]][0]
	}
	req := Request{Kind: KindAPI, Org: m[1], OrgScope: scope, Bearer: bearer(r)}
	req.Username, req.Secret, _ = basicAuth(r.Header.Get("Authorization"))
	return req
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func basicAuth(h string) (user, pass string, ok bool) {
	if len(h) < 6 || !strings.EqualFold(h[:6], "basic ") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:]))
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}
