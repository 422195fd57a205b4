// Package classify reads requests to Docker Hub — token requests,
// registry API requests, the Hub API's logins and organization routes —
// into a registry.Request: which repositories, which actions, with which
// credentials. It reads every request in one canonical form (method upper
// case, path decoded once, strict query) and says what it did not
// understand rather than guess. It does no I/O.
package classify

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/registry"
)

// ErrBadPath is a registry path that breaks the distribution spec.
var ErrBadPath = errors.New("not a registry API path")

// The actions registry requests need, shared so classifying allocates
// less.
var (
	needPull     = []string{hub.ActionPull}
	needPullPush = []string{hub.ActionPull, hub.ActionPush}
	needPush     = []string{hub.ActionPush}
	needDelete   = []string{hub.ActionDelete}
)

// Hub API login routes: they take an organization and a token and answer
// with a JWT that later requests carry.
const (
	LoginPath       = "/v2/auth/token"
	LegacyLoginPath = "/v2/users/login"
)

// NeedsBody reports whether a request's body is part of what it asks (a
// token POST's form, a login's JSON, an access token route's JSON): the
// caller reads it, bounded, and hands it to Request.
func NeedsBody(host, method, path string) bool {
	switch host {
	case hub.AuthHost:
		return strings.EqualFold(method, http.MethodPost)
	case hub.APIHost:
		p := strings.TrimSuffix(path, "/")
		if p == LoginPath || p == LegacyLoginPath {
			return strings.EqualFold(method, http.MethodPost)
		}
		return isAccessTokenRoute(p) && !strings.EqualFold(method, http.MethodGet) && !strings.EqualFold(method, http.MethodHead)
	}
	return false
}

// Request reads what r needs. host is the canonical host it was sent to
// (hub.CanonicalHost, without a port). body is its body when NeedsBody
// says so, nil otherwise.
func Request(host string, r *http.Request, body []byte) (registry.Request, error) {
	req := registry.Request{}
	method := strings.ToUpper(r.Method)
	readAuthorization(r, &req)
	if u := r.URL.User; u != nil {
		pass, _ := u.Password()
		req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredBasic, Username: u.Username(), Value: pass})
		note(&req, "credentials in the URL")
	}
	path, err := canonicalPath(r)
	if err != nil {
		note(&req, err.Error())
		return req, err
	}
	switch host {
	case hub.AuthHost:
		classifyToken(method, path, r, body, &req)
		return req, nil
	case hub.APIHost:
		classifyAPI(method, path, r, body, &req)
		return req, nil
	}
	return req, classifyRegistry(method, path, r.URL.RawQuery, &req)
}

// note records the first thing not understood.
func note(r *registry.Request, what string) {
	if r.Unknown == "" {
		r.Unknown = what
	}
}

// unread records the first thing of a body not read as the Hub reads it:
// not understood either.
func unread(r *registry.Request, what string) {
	if r.Unread == "" {
		r.Unread = what
	}
	note(r, what)
}

// canonicalPath is the request's path decoded exactly once. An encoded
// slash, or a path that still holds an escape after decoding (encoded
// twice), reads differently on different servers: refused.
func canonicalPath(r *http.Request) (string, error) {
	path := r.URL.Path
	if raw := r.URL.RawPath; raw != "" && (strings.Contains(raw, "%2f") || strings.Contains(raw, "%2F")) {
		return "", fmt.Errorf("an encoded slash in the path %q", raw)
	}
	if strings.IndexByte(path, '%') >= 0 {
		return "", fmt.Errorf("a path encoded twice, %q", path)
	}
	return path, nil
}

// readAuthorization reads the Authorization header into req.Creds.
func readAuthorization(r *http.Request, req *registry.Request) {
	values := r.Header["Authorization"]
	if len(values) == 0 {
		return
	}
	if len(values) > 1 {
		note(req, "several Authorization headers")
	}
	for _, h := range values {
		scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
		rest = strings.TrimSpace(rest)
		switch {
		case !found:
			note(req, "an Authorization header without a scheme")
			req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredOther, Value: scheme})
		case strings.EqualFold(scheme, "basic"):
			raw, err := base64.StdEncoding.DecodeString(rest)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				note(req, "malformed Basic credentials")
				req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredOther, Value: rest})
				continue
			}
			req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredBasic, Username: user, Value: pass})
		case strings.EqualFold(scheme, "bearer"), strings.EqualFold(scheme, "jwt"):
			req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredBearer, Value: rest})
		default:
			note(req, "an Authorization scheme other than Basic and Bearer")
			req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredOther, Value: rest})
		}
	}
}

// Password grant and refresh grant, the grant types the token service
// knows.
const (
	GrantPassword = "password"
	GrantRefresh  = "refresh_token"
)

// singleTokenParams are token request parameters given at most once.
var singleTokenParams = []string{"service", "account", "client_id", "offline_token", "access_type", "grant_type", "username", "password", "refresh_token"}

func classifyToken(method, path string, r *http.Request, body []byte, req *registry.Request) {
	req.Kind = registry.KindToken
	if path != "/token" {
		req.Kind = registry.KindOther
		if hasBody(r) {
			// Another spelling of /token may reach the same handler.
			unread(req, fmt.Sprintf("a body on the path %q of the token service", path))
		}
		note(req, fmt.Sprintf("the path %q on the token service", path))
		return
	}
	query, err := registry.ParseQuery(r.URL.RawQuery)
	if err != nil {
		note(req, err.Error())
	}
	if err != nil {
		query = lenientValues(r.URL.RawQuery)
	}
	hide(req, query)
	scopes := query["scope"]
	switch method {
	case http.MethodGet:
		if hasBody(r) {
			unread(req, "a body on a token GET")
		}
	case http.MethodPost:
		if err := bodyHeaders(r, FormType); err != nil {
			unread(req, "the token request: "+err.Error())
		}
		form, err := parseForm(body, tokenFormFields)
		if err != nil {
			unread(req, "the token request body: "+err.Error())
			form = lenientValues(string(body))
		}
		hide(req, form)
		scopes = append(scopes, form["scope"]...)
		if grant := form.Get("grant_type"); grant != GrantPassword && grant != GrantRefresh {
			note(req, fmt.Sprintf("the grant type %q", grant))
		}
		// Every password and refresh token, whatever the grant type says:
		// another server may read the one this one does not.
		for _, v := range form["password"] {
			req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredPassword, Username: form.Get("username"), Value: v})
		}
		for _, v := range form["refresh_token"] {
			req.Creds = append(req.Creds, registry.Credential{Kind: registry.CredRefresh, Value: v})
		}
	default:
		req.Kind = registry.KindOther
		if hasBody(r) {
			unread(req, "a body on "+method+" to the token service")
		}
		note(req, "the method "+method+" on the token service")
		return
	}
	if err := single(query, singleTokenParams); err != nil {
		note(req, err.Error())
	}
	for _, param := range scopes {
		for _, s := range strings.Fields(param) {
			a, ok, err := registry.ParseScope(s)
			switch {
			case err != nil:
				note(req, err.Error())
			case !ok:
				note(req, fmt.Sprintf("the scope %q", s))
			default:
				req.Access = append(req.Access, a)
			}
		}
	}
}

// hide adds every value of v to req.Hidden.
func hide(r *registry.Request, v registry.Values) {
	for _, vs := range v {
		r.Hidden = append(r.Hidden, vs...)
	}
}

// lenientValues reads a query or form the most forgiving way: pairs split
// on "&" and ";", keys in any case kept as sent, a bad escape kept raw.
func lenientValues(raw string) registry.Values {
	v := registry.Values{}
	for pair := range strings.FieldsFuncSeq(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		k, val, _ := strings.Cut(pair, "=")
		v[unescapeOrRaw(k)] = append(v[unescapeOrRaw(k)], unescapeOrRaw(val))
	}
	return v
}

func unescapeOrRaw(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// single refuses a parameter of names given more than once.
func single(v registry.Values, names []string) error {
	for _, n := range names {
		if len(v[n]) > 1 {
			return fmt.Errorf("the parameter %q given %d times", n, len(v[n]))
		}
	}
	return nil
}

func classifyRegistry(method, path, rawQuery string, req *registry.Request) error {
	switch {
	case path == "/v2/" || path == "/v2":
		req.Kind = registry.KindPing
		if method != http.MethodGet && method != http.MethodHead {
			note(req, "the method "+method+" on /v2/")
		}
		return nil
	case path == "/v2/_catalog":
		note(req, "the catalog, which organization access tokens have no scope for")
		return nil
	case !strings.HasPrefix(path, "/v2/"):
		note(req, fmt.Sprintf("the path %q, outside the registry API", path))
		return nil
	}
	name, route, ok := splitRegistryPath(path[len("/v2/"):])
	if !ok {
		err := fmt.Errorf("%w: %q", ErrBadPath, path)
		note(req, err.Error())
		return err
	}
	repo, err := registry.NormalizeName(name)
	if err != nil {
		note(req, err.Error())
		return err
	}
	var actions []string
	switch {
	case route == routeUpload && method == http.MethodDelete:
		actions = needPush
	case method == http.MethodGet || method == http.MethodHead:
		actions = needPull
		if route == routeUpload {
			actions = needPullPush
		}
	case (method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch) && route != routeTags && route != routeReferrers:
		actions = needPullPush
	case method == http.MethodDelete && route != routeTags && route != routeReferrers:
		actions = needDelete
	default:
		err := fmt.Errorf("%w: method %s on %q", ErrBadPath, method, path)
		note(req, err.Error())
		return err
	}
	req.Kind = registry.KindRegistry
	req.Access = append(req.Access, registry.Access{Repo: repo, Actions: actions})
	req.BlobDownload = method == http.MethodGet && route == routeBlob
	if rawQuery == "" {
		return nil
	}
	query, err := registry.ParseQuery(rawQuery)
	if err != nil {
		note(req, err.Error())
		return nil
	}
	if err := single(query, []string{"mount", "from", "digest", "n", "last", "_state", "artifactType"}); err != nil {
		note(req, err.Error())
	}
	// A cross-repository mount's source needs pull. The registry reads from
	// on POST uploads only; it is read wherever it comes, for a server
	// might honour it anywhere.
	if from := query.Get("from"); from != "" {
		src, err := registry.NormalizeName(from)
		if err != nil {
			note(req, err.Error())
			return err
		}
		req.Access = append(req.Access, registry.Access{Repo: src, Actions: needPull})
	}
	return nil
}

// Routes of the registry API under a repository name.
const (
	routeManifest = iota + 1
	routeBlob
	routeUpload
	routeTags
	routeReferrers
)

// splitRegistryPath splits "NAME/manifests/REF" and the other routes into
// the name and the route, checking references against the distribution
// grammar. It allocates nothing.
func splitRegistryPath(p string) (name string, route int, ok bool) {
	last := strings.LastIndexByte(p, '/')
	if last <= 0 {
		return "", 0, false
	}
	head, tail := p[:last], p[last+1:]
	prevAt := strings.LastIndexByte(head, '/')
	prev := head[prevAt+1:]
	before := ""
	if prevAt > 0 {
		before = head[:prevAt]
	}
	switch {
	case prev == "manifests" && (validTag(tail) || validDigest(tail)):
		return before, routeManifest, before != ""
	case prev == "blobs" && tail == "uploads":
		return before, routeUpload, before != ""
	case prev == "blobs" && validDigest(tail):
		return before, routeBlob, before != ""
	case prev == "tags" && tail == "list":
		return before, routeTags, before != ""
	case prev == "referrers" && validDigest(tail):
		return before, routeReferrers, before != ""
	case prev == "uploads" && (tail == "" || validUploadID(tail)):
		at := strings.LastIndexByte(before, '/')
		if at > 0 && before[at+1:] == "blobs" {
			return before[:at], routeUpload, true
		}
	}
	return "", 0, false
}

func isAlnumLower(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isWord(c byte) bool {
	return isAlnumLower(c) || c >= 'A' && c <= 'Z' || c == '_'
}

// validTag is [\w][\w.-]{0,127}.
func validTag(s string) bool {
	if s == "" || len(s) > 128 || !isWord(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isWord(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validDigest is algorithm ":" encoded: [a-z0-9]+(?:[.+_-][a-z0-9]+)* and
// [a-zA-Z0-9=_-]+.
func validDigest(s string) bool {
	algo, enc, ok := strings.Cut(s, ":")
	if !ok || algo == "" || enc == "" || len(s) > 1024 {
		return false
	}
	prevSep := true
	for i := 0; i < len(algo); i++ {
		c := algo[i]
		sep := c == '.' || c == '+' || c == '_' || c == '-'
		if sep && prevSep || !sep && !isAlnumLower(c) {
			return false
		}
		prevSep = sep
	}
	if prevSep {
		return false
	}
	return validUploadID(enc)
}

// validUploadID is [a-zA-Z0-9=_-]+, an upload's ID and a digest's encoded
// part alike.
func validUploadID(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isWord(c) && c != '=' && c != '-' {
			return false
		}
	}
	return true
}
