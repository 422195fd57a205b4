package standin

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/registry/auth/token"

	"github.com/oatkit/oat/internal/registry"
)

// tokenLifetime is how long an issued bearer token is valid, as on the Hub.
const tokenLifetime = 300 * time.Second

// refreshGrant ties a refresh token to the token that obtained it.
type refreshGrant struct {
	org, secret string
}

// denied is Docker Hub's answer to bad credentials.
func denied(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(`{"details":"incorrect username or password"}` + "\n"))
}

// serveToken is the token service: GET with Basic auth and repeated scope
// parameters, or the OAuth2 POST form (password grant, with a refresh token
// when access_type=offline, or refresh_token grant).
func (h *Hub) serveToken(w http.ResponseWriter, r *http.Request) {
	entry := requestEntry(r)
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	var (
		user, secret string
		hasCreds     bool
		scopes       []string
		wantRefresh  bool
		tok          *Token
	)
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		scopes = q["scope"]
		// Docker Hub ignores offline_token: docker login must store the
		// organization name and the token, not an identity token.
		user, secret, hasCreds = r.BasicAuth()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		scopes = strings.Fields(r.PostForm.Get("scope"))
		switch r.PostForm.Get("grant_type") {
		case "password":
			user, secret, hasCreds = r.PostForm.Get("username"), r.PostForm.Get("password"), true
			wantRefresh = r.PostForm.Get("access_type") == "offline"
		case "refresh_token":
			h.mu.Lock()
			g, ok := h.refresh[r.PostForm.Get("refresh_token")]
			h.mu.Unlock()
			if !ok {
				denied(w)
				return
			}
			user, secret, hasCreds = g.org, g.secret, true
		default:
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	entry.Asked = scopes

	if hasCreds {
		tok = h.authenticate(user, secret)
		if tok == nil {
			denied(w)
			return
		}
		entry.Principal, entry.Label = tok.Org, tok.Label
	}
	access := h.grant(tok, scopes)
	for _, a := range access {
		entry.Granted = append(entry.Granted, a.Type+":"+a.Name+":"+strings.Join(a.Actions, ","))
	}
	subject := ""
	if tok != nil {
		subject = tok.Org
	}
	now := time.Now()
	jwt, err := h.sign(subject, access, now)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	resp := map[string]any{
		"token": jwt, "access_token": jwt,
		"expires_in": int(tokenLifetime / time.Second), "issued_at": now.UTC().Format(time.RFC3339),
	}
	if wantRefresh && tok != nil {
		rt := randomString(24)
		h.mu.Lock()
		h.refresh[rt] = refreshGrant{org: tok.Org, secret: tok.Secret}
		h.mu.Unlock()
		resp["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// authenticate returns the active, unexpired token with this organization
// and secret, or nil.
func (h *Hub) authenticate(org, secret string) *Token {
	h.mu.Lock()
	defer h.mu.Unlock()
	want := sha256.Sum256([]byte(secret))
	for _, t := range append(h.tokens, h.seed) {
		got := sha256.Sum256([]byte(t.Secret))
		if t.Org != org || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			continue
		}
		if t.Inactive || (!t.Expires.IsZero() && time.Now().After(t.Expires)) {
			return nil
		}
		t := t
		return &t
	}
	return nil
}

// grant is what tok (nil: anonymous) may do of what scopes ask: pull where
// the token has pull or push, or the repository is public and the token
// may read public repositories (anonymous always may); push where it has
// push. Never delete or "*". Malformed scopes are ignored.
func (h *Hub) grant(tok *Token, scopes []string) []*token.ResourceActions {
	var out []*token.ResourceActions
	for _, s := range scopes {
		a, err := registry.ParseScope(s)
		if err != nil || a.Repo == "" {
			continue
		}
		name, actions := a.Repo, a.Actions
		var allowed []string
		for _, a := range actions {
			if slices.Contains(allowed, a) {
				continue
			}
			if (a == "pull" && h.mayPull(tok, name)) || (a == "push" && tok != nil && matches(tok.Push, name)) {
				allowed = append(allowed, a)
			}
		}
		if len(allowed) > 0 {
			out = append(out, &token.ResourceActions{Type: "repository", Name: name, Actions: allowed})
		}
	}
	return out
}

func (h *Hub) mayPull(tok *Token, repo string) bool {
	public := strings.HasPrefix(repo, "library/") || slices.Contains(h.opts.Public, repo)
	if tok == nil {
		return public
	}
	return matches(tok.Pull, repo) || matches(tok.Push, repo) || (public && tok.PublicRead)
}

// matches reports whether repo is in list, where "org/*" stands for every
// repository of org and "*" for every repository.
func matches(list []string, repo string) bool {
	for _, p := range list {
		if p == repo || p == "*" || (strings.HasSuffix(p, "/*") && strings.HasPrefix(repo, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// sign issues an ES256 JWT the registry's token auth accepts: key ID the
// JWK thumbprint of the key in its root certificate bundle.
func (h *Hub) sign(subject string, access []*token.ResourceActions, now time.Time) (string, error) {
	if access == nil {
		access = []*token.ResourceActions{}
	}
	header, err := json.Marshal(map[string]string{"typ": "JWT", "alg": "ES256", "kid": h.kid})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(token.ClaimSet{
		Issuer: issuer, Subject: subject, Audience: token.AudienceList{Service},
		Expiration: now.Add(tokenLifetime).Unix(), NotBefore: now.Add(-time.Minute).Unix(), IssuedAt: now.Unix(),
		JWTID: randomString(12), Access: access,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sig, err := es256(h.signer, []byte(signing))
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// es256 is the JWS ES256 signature: r and s, 32 bytes each.
func es256(key *ecdsa.PrivateKey, data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}
