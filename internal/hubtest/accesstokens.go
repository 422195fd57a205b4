package hubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/oatkit/oat/internal/hub"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Owner is an organization owner's account: the user, the secret it signs
// in to the Hub API with (a personal access token or a password), and the
// organizations it owns. Only an owner manages an organization's access
// tokens; an organization access token never can.
type Owner struct {
	User   string
	Secret string
	Orgs   []string
}

// DefaultTokenLimit is how many access tokens an organization may hold,
// expired and deactivated ones included: a Team plan's 10.
const DefaultTokenLimit = 10

// The Hub API's access token vocabulary.
const (
	TypeRepo     = "TYPE_REPO"
	TypeOrg      = "TYPE_ORG"
	ScopePull    = "scope-image-pull"
	ScopePush    = "scope-image-push"
	ScopeDelete  = "scope-image-delete"
	PublicRepos  = "*/*/public"
	maxRepos     = 50
	maxPageSize  = 100
	ownerJWTLife = 10 * time.Minute
)

// Resource is one entry of an access token's resources, as the Hub API
// writes it.
type Resource struct {
	Type   string   `json:"type"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes"`
}

// apiToken is an access token as the Hub API answers with it.
type apiToken struct {
	ID          string     `json:"id"`
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	CreatedBy   string     `json:"created_by"`
	IsActive    bool       `json:"is_active"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Resources   []Resource `json:"resources,omitempty"`
	Token       string     `json:"token,omitempty"` // on creation only
}

// ownerSession is a Hub API JWT an owner signed in for.
type ownerSession struct {
	owner   Owner
	expires time.Time
}

// FailNext makes the access token API answer its next n requests with
// status (429 with Retry-After, or a 5xx) before doing anything, as a Hub
// under load does.
func (h *Hub) FailNext(n, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, slices.Repeat([]int{status}, n)...)
}

// FailAfter lets the access token API answer skip more requests, then
// answers the next one with status: a failure at a chosen step of a
// sequence.
func (h *Hub) FailAfter(skip, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = append(h.failures, append(make([]int, skip), status)...)
}

// ClearFailures forgets the failures FailNext and FailAfter set that have
// not happened yet.
func (h *Hub) ClearFailures() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures = nil
}

// ownerLogin signs in an owner, or returns "" when user and secret are no
// owner's.
func (h *Hub) ownerLogin(user, secret string) string {
	for _, o := range h.opts.Owners {
		if o.User == user && o.Secret == secret && secret != "" {
			jwt := "hubjwt." + url.QueryEscape(randomString(24))
			h.mu.Lock()
			h.owners[jwt] = ownerSession{owner: o, expires: time.Now().Add(ownerJWTLife)}
			h.mu.Unlock()
			return jwt
		}
	}
	return ""
}

// isAccessTokenPath reports whether path is /v2/orgs/ORG/access-tokens or
// one token under it, and returns the organization and the ID ("" for the
// collection).
func isAccessTokenPath(path string) (org, id string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 4 || len(parts) > 5 || parts[0] != "v2" || parts[1] != "orgs" || parts[3] != "access-tokens" {
		return "", "", false
	}
	if len(parts) == 5 {
		id = parts[4]
	}
	return parts[2], id, true
}

// serveAccessTokens is the organization access token API: create, list
// (paginated, without resources), get, patch (label, description,
// is_active, resources; never the expiry) and delete, for an owner of the
// organization signed in through /v2/auth/token.
func (h *Hub) serveAccessTokens(w http.ResponseWriter, r *http.Request, org, id string) {
	entry := requestEntry(r)
	need := "access-token-edit"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		need = "access-token-read"
	}
	entry.Needs = []string{"org:" + org + ":" + need}
	if tok, status := h.apiPrincipal(r); status == http.StatusOK {
		entry.Principal, entry.Label = tok.Org, tok.Label
		apiError(w, http.StatusForbidden, "organization access tokens cannot manage access tokens")
		return
	}
	h.rateHeaders(w)
	h.mu.Lock()
	var fail int
	if len(h.failures) > 0 {
		fail, h.failures = h.failures[0], h.failures[1:]
	}
	h.mu.Unlock()
	if fail != 0 {
		if fail == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-RateLimit-Remaining", "0")
		}
		apiError(w, fail, http.StatusText(fail))
		return
	}
	owner, status, msg := h.apiOwner(r, org)
	if status != http.StatusOK {
		apiError(w, status, msg)
		return
	}
	entry.Principal = owner.User
	switch {
	case id == "" && r.Method == http.MethodPost:
		h.createToken(w, r, org, owner)
	case id == "" && r.Method == http.MethodGet:
		h.listTokens(w, r, org)
	case id != "" && r.Method == http.MethodGet:
		h.withToken(w, org, id, func(t *Token) any { return t.api(true) })
	case id != "" && r.Method == http.MethodPatch:
		h.patchToken(w, r, org, id)
	case id != "" && r.Method == http.MethodDelete:
		h.deleteToken(w, org, id)
	default:
		apiError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// rateHeaders are the X-RateLimit-* headers the Hub sends on every answer.
func (h *Hub) rateHeaders(w http.ResponseWriter) {
	w.Header().Set("X-RateLimit-Limit", "180")
	w.Header().Set("X-RateLimit-Remaining", "179")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
}

// apiOwner is the owner an access token API request is signed in as: 401
// without a valid owner JWT, 403 for an owner of other organizations.
// (An organization access token, which never manages tokens, is refused
// before.)
func (h *Hub) apiOwner(r *http.Request, org string) (Owner, int, string) {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "jwt") {
		h.mu.Lock()
		s, ok := h.owners[value]
		h.mu.Unlock()
		switch {
		case ok && time.Now().Before(s.expires) && slices.Contains(s.owner.Orgs, org):
			return s.owner, http.StatusOK, ""
		case ok && time.Now().Before(s.expires):
			return Owner{}, http.StatusForbidden, s.owner.User + " is not an owner of " + org
		}
	}
	return Owner{}, http.StatusUnauthorized, "authentication required"
}

// createRequest is the body of a create; patchRequest of a patch.
type createRequest struct {
	Label       string     `json:"label"`
	Description string     `json:"description"`
	Resources   []Resource `json:"resources"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

type patchRequest struct {
	Label       *string     `json:"label"`
	Description *string     `json:"description"`
	IsActive    *bool       `json:"is_active"`
	Resources   *[]Resource `json:"resources"`
}

// decodeStrict reads a JSON body into v, refusing unknown fields.
func decodeStrict(r *http.Request, v any) error {
	var b bytes.Buffer
	if _, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBody)); err != nil {
		return err
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (h *Hub) createToken(w http.ResponseWriter, r *http.Request, org string, owner Owner) {
	var req createRequest
	if err := decodeStrict(r, &req); err != nil {
		apiError(w, http.StatusBadRequest, "malformed body: "+err.Error())
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	if strings.TrimSpace(req.Label) == "" {
		apiError(w, http.StatusBadRequest, "label is required")
		return
	}
	if err := validResources(org, req.Resources); err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if e := req.ExpiresAt; e != nil && (!e.After(now) || e.After(now.AddDate(1, 0, 1))) {
		apiError(w, http.StatusBadRequest, "expires_at must be in the future and at most a year ahead")
		return
	}
	limit := h.opts.TokenLimit
	if limit == 0 {
		limit = DefaultTokenLimit
	}
	t := Token{Org: org, Label: req.Label, Secret: "dckr_oat_" + strings.NewReplacer("-", "", "_", "").Replace(randomString(24)),
		ID: newID(), Description: req.Description, CreatedBy: owner.User, Created: now, Resources: req.Resources}
	if req.ExpiresAt != nil {
		t.Expires = req.ExpiresAt.UTC()
	}
	t.applyResources()
	h.mu.Lock()
	n := 0
	for _, o := range h.tokens {
		if o.Org == org {
			n++
		}
	}
	if n >= limit {
		h.mu.Unlock()
		apiError(w, http.StatusForbidden, fmt.Sprintf("the organization %s has reached its limit of %d access tokens (expired and inactive ones count)", org, limit))
		return
	}
	h.tokens = append(h.tokens, t)
	h.mu.Unlock()
	out := t.api(true)
	out.Token = t.Secret
	writeJSON(w, http.StatusCreated, out)
}

func (h *Hub) listTokens(w http.ResponseWriter, r *http.Request, org string) {
	q := r.URL.Query()
	page, size := 1, 10
	for name, dst := range map[string]*int{"page": &page, "page_size": &size} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				apiError(w, http.StatusBadRequest, name+" must be a positive number")
				return
			}
			*dst = n
		}
	}
	size = min(size, maxPageSize)
	h.mu.Lock()
	var all []apiToken
	for _, t := range h.tokens {
		if t.Org == org {
			all = append(all, t.api(false))
		}
	}
	h.mu.Unlock()
	link := func(p int) *string {
		if p < 1 || (p-1)*size >= len(all) {
			return nil
		}
		s := fmt.Sprintf("https://%s/v2/orgs/%s/access-tokens?page=%d&page_size=%d", hub.APIHost, org, p, size)
		return &s
	}
	from, to := min((page-1)*size, len(all)), min(page*size, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"total": len(all), "next": link(page + 1), "previous": link(page - 1), "results": append([]apiToken{}, all[from:to]...)})
}

// withToken answers with what f makes of the organization's token id, or
// 404.
func (h *Hub) withToken(w http.ResponseWriter, org, id string, f func(*Token) any) {
	h.mu.Lock()
	for i := range h.tokens {
		if t := &h.tokens[i]; t.Org == org && t.ID == id {
			out := f(t)
			h.mu.Unlock()
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	h.mu.Unlock()
	apiError(w, http.StatusNotFound, "access token not found")
}

func (h *Hub) patchToken(w http.ResponseWriter, r *http.Request, org, id string) {
	var raw map[string]json.RawMessage
	var b bytes.Buffer
	if _, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, maxBody)); err != nil || json.Unmarshal(b.Bytes(), &raw) != nil {
		apiError(w, http.StatusBadRequest, "malformed body")
		return
	}
	if _, ok := raw["expires_at"]; ok {
		apiError(w, http.StatusBadRequest, "expires_at cannot be changed")
		return
	}
	var req patchRequest
	dec := json.NewDecoder(bytes.NewReader(b.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(w, http.StatusBadRequest, "malformed body: "+err.Error())
		return
	}
	if req.Resources != nil {
		if err := validResources(org, *req.Resources); err != nil {
			apiError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.Label != nil && strings.TrimSpace(*req.Label) == "" {
		apiError(w, http.StatusBadRequest, "label is required")
		return
	}
	h.withToken(w, org, id, func(t *Token) any {
		if req.Label != nil {
			t.Label = *req.Label
		}
		if req.Description != nil {
			t.Description = *req.Description
		}
		if req.IsActive != nil {
			t.Inactive = !*req.IsActive
		}
		if req.Resources != nil {
			t.Resources = *req.Resources
			t.applyResources()
		}
		return t.api(true)
	})
}

func (h *Hub) deleteToken(w http.ResponseWriter, org, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, t := range h.tokens {
		if t.Org == org && t.ID == id {
			h.tokens = slices.Delete(h.tokens, i, i+1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	apiError(w, http.StatusNotFound, "access token not found")
}

// validResources checks resources as the Hub does: at least one, at most
// 50 repositories, each a repository of org, org/*, or */*/public, with
// known scopes.
func validResources(org string, rs []Resource) error {
	if len(rs) == 0 {
		return fmt.Errorf("resources: at least one is required")
	}
	repos := 0
	for _, r := range rs {
		switch r.Type {
		case TypeRepo:
			repos++
			ns, name, ok := strings.Cut(r.Path, "/")
			if r.Path != PublicRepos && (!ok || ns != org || (name != "*" && !repoName.MatchString(r.Path))) {
				return fmt.Errorf("resources: %q is not a repository of %s, %s/*, or %s", r.Path, org, org, PublicRepos)
			}
			for _, s := range r.Scopes {
				if s != ScopePull && s != ScopePush && s != ScopeDelete {
					return fmt.Errorf("resources: unknown scope %q", s)
				}
			}
		case TypeOrg:
			if r.Path != org {
				return fmt.Errorf("resources: organization %q is not %s", r.Path, org)
			}
		default:
			return fmt.Errorf("resources: unknown type %q", r.Type)
		}
		if len(r.Scopes) == 0 {
			return fmt.Errorf("resources: %q has no scope", r.Path)
		}
	}
	if repos > maxRepos {
		return fmt.Errorf("resources: %d repositories, at most %d", repos, maxRepos)
	}
	return nil
}

// record gives a token of Options.Tokens the Hub API's record of it: an
// ID, a creation time, and the resources its scopes are.
func (t *Token) record() {
	if t.ID != "" {
		return
	}
	t.ID, t.Created = newID(), time.Now().UTC().Truncate(time.Second)
	if t.Resources != nil {
		return
	}
	for _, p := range t.Pull {
		if !slices.Contains(t.Push, p) {
			t.Resources = append(t.Resources, Resource{Type: TypeRepo, Path: p, Scopes: []string{ScopePull}})
		}
	}
	for _, p := range t.Push {
		t.Resources = append(t.Resources, Resource{Type: TypeRepo, Path: p, Scopes: []string{ScopePush}})
	}
	if t.PublicRead {
		t.Resources = append(t.Resources, Resource{Type: TypeRepo, Path: PublicRepos, Scopes: []string{ScopePull}})
	}
	for _, s := range t.OrgScopes {
		t.Resources = append(t.Resources, Resource{Type: TypeOrg, Path: t.Org, Scopes: []string{"scope-" + s}})
	}
}

// applyResources sets what the token service grants from the resources.
func (t *Token) applyResources() {
	t.Pull, t.Push, t.PublicRead, t.OrgScopes = nil, nil, false, nil
	for _, r := range t.Resources {
		if r.Type == TypeOrg {
			for _, s := range r.Scopes {
				t.OrgScopes = append(t.OrgScopes, strings.TrimPrefix(s, "scope-"))
			}
			continue
		}
		for _, s := range r.Scopes {
			switch {
			case r.Path == PublicRepos && s == ScopePull:
				t.PublicRead = true
			case s == ScopePull:
				t.Pull = append(t.Pull, r.Path)
			case s == ScopePush:
				t.Push = append(t.Push, r.Path)
			}
		}
	}
}

// api is the token as the Hub API answers with it.
func (t *Token) api(withResources bool) apiToken {
	out := apiToken{ID: t.ID, Label: t.Label, Description: t.Description, CreatedBy: t.CreatedBy, IsActive: !t.Inactive, CreatedAt: t.Created}
	if !t.Expires.IsZero() {
		e := t.Expires
		out.ExpiresAt = &e
	}
	if !t.LastUsed.IsZero() {
		u := t.LastUsed
		out.LastUsedAt = &u
	}
	if withResources {
		out.Resources = append([]Resource{}, t.Resources...)
	}
	return out
}

// newID is a token ID in the Hub's form, a UUID.
func newID() string {
	b := []byte(randomHex(16))
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
