package hubtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// serveAPI is a sliver of the Hub API on hub.docker.com, enough to
// exercise logins and organization scopes. Logins (POST /v2/auth/token
// with identifier and secret, POST /v2/users/login with username and
// password) answer with a JWT; the organization routes (members, invites,
// groups, access tokens under /v2/orgs/ORG/, /v2/invites/…) take it, or
// Basic auth, or the secret as a Bearer token, and need the organization
// scope the hub reads for them itself.
func (h *Hub) serveAPI(w http.ResponseWriter, r *http.Request) {
	entry := requestEntry(r)
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path {
	case "/v2/auth/token":
		h.login(w, r, "identifier", "secret", "access_token")
		return
	case "/v2/users/login":
		h.login(w, r, "username", "password", "token")
		return
	}
	if org, id, ok := isAccessTokenPath(path); ok {
		h.serveAccessTokens(w, r, org, id)
		return
	}
	tok, status := h.apiPrincipal(r)
	if tok != nil {
		entry.Principal, entry.Label = tok.Org, tok.Label
	}
	org, need := apiNeeds(r.Method, path)
	if org == "" && tok != nil {
		org = tok.Org
	}
	entry.Needs = []string{"org:" + org + ":" + need}
	if need == "" {
		entry.Needs = []string{"unknown:" + r.Method + " " + r.URL.Path}
	}
	switch {
	case status != http.StatusOK:
		apiError(w, status, "authentication required")
		return
	case need == "":
		apiError(w, http.StatusNotFound, "not found")
		return
	case tok.Org != org:
		apiError(w, http.StatusForbidden, "not a member of "+org)
		return
	}
	entry.Asked = []string{need}
	if !slices.Contains(tok.OrgScopes, need) && !slices.Contains(tok.OrgScopes, strings.Replace(need, "-read", "-edit", 1)) {
		apiError(w, http.StatusForbidden, "the token lacks the "+need+" scope")
		return
	}
	entry.Granted = []string{need}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"count": 0, "results": []any{}})
}

// apiNeeds is the organization and the scope an API route needs, by the
// hub's own reading: the org "" for routes that name none (the caller's).
// need is "" for a route it does not know.
func apiNeeds(method, path string) (org, need string) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	what := ""
	switch {
	case len(parts) >= 4 && parts[0] == "v2" && parts[1] == "orgs":
		org, what = parts[2], parts[3]
	case len(parts) >= 3 && parts[0] == "v2" && parts[1] == "invites":
		what = "invites"
	default:
		return "", ""
	}
	scope := map[string]string{"members": "member", "invites": "invite", "groups": "group", "access-tokens": "access-token"}[what]
	if scope == "" {
		return "", ""
	}
	if method == http.MethodGet || method == http.MethodHead {
		return org, scope + "-read"
	}
	return org, scope + "-edit"
}

// apiPrincipal is the token an API request authenticates as.
func (h *Hub) apiPrincipal(r *http.Request) (*Token, int) {
	if user, secret, ok := r.BasicAuth(); ok {
		if tok := h.authenticate(user, secret); tok != nil {
			return tok, http.StatusOK
		}
		return nil, http.StatusUnauthorized
	}
	scheme, value, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "jwt")) {
		return nil, http.StatusUnauthorized
	}
	h.mu.Lock()
	c, issued := h.apiTokens[value]
	h.mu.Unlock()
	if issued {
		if tok := h.authenticate(c.org, c.secret); tok != nil {
			return tok, http.StatusOK
		}
		return nil, http.StatusUnauthorized
	}
	for _, t := range h.allTokens() {
		if t.Secret == value {
			if tok := h.authenticate(t.Org, value); tok != nil {
				return tok, http.StatusOK
			}
		}
	}
	return nil, http.StatusUnauthorized
}

// login answers a Hub API login: the organization under userField and the
// secret under secretField, read leniently (lenientBody: any encoding,
// JSON or a form, any case of the names, any Content-Type), and a token
// under tokenField.
func (h *Hub) login(w http.ResponseWriter, r *http.Request, userField, secretField, tokenField string) {
	entry := requestEntry(r)
	if r.Method != http.MethodPost {
		apiError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	fields, err := lenientBody(w, r)
	if err != nil || len(fields) == 0 {
		apiError(w, http.StatusBadRequest, "malformed body")
		return
	}
	if jwt := h.ownerLogin(fields.Get(userField), fields.Get(secretField)); jwt != "" {
		entry.Principal = fields.Get(userField)
		writeJSON(w, http.StatusOK, map[string]string{tokenField: jwt})
		return
	}
	tok := h.authenticate(fields.Get(userField), fields.Get(secretField))
	if tok == nil {
		apiError(w, http.StatusUnauthorized, "incorrect username or password")
		return
	}
	entry.Principal, entry.Label = tok.Org, tok.Label
	jwt := "hubjwt." + url.QueryEscape(randomString(24))
	h.mu.Lock()
	h.apiTokens[jwt] = credentials{org: tok.Org, secret: tok.Secret}
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{tokenField: jwt})
}

// registryNeeds is what a registry request needs, by the hub's own
// reading: the name before the last route word, pull for reads, delete
// for deletes of manifests and blobs, push for the rest.
func registryNeeds(r *http.Request) []string {
	p := r.URL.Path
	if p == "/v2/" || p == "/v2" {
		return nil
	}
	cut := -1
	for _, word := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(p, word); i > cut {
			cut = i
		}
	}
	if !strings.HasPrefix(p, "/v2/") || cut < len("/v2/") {
		return []string{"unknown:" + r.Method + " " + p}
	}
	name := strings.ToLower(p[len("/v2/"):cut])
	if !strings.Contains(name, "/") {
		name = "library/" + name
	}
	action := "push"
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		action = "pull"
	case r.Method == http.MethodDelete && !strings.Contains(p, "/blobs/uploads"):
		action = "delete"
	}
	needs := []string{"repository:" + name + ":" + action}
	if from := strings.ToLower(r.URL.Query().Get("from")); from != "" {
		if !strings.Contains(from, "/") {
			from = "library/" + from
		}
		needs = append(needs, "repository:"+from+":pull")
	}
	return needs
}

// apiError answers an API request with status and a JSON detail.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": msg})
}
