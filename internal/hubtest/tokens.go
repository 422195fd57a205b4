package hubtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenLifetime is how long an issued bearer token is valid, as on the Hub.
const tokenLifetime = 300 * time.Second

// tokenRequest is a token service request, GET or POST, decoded.
type tokenRequest struct {
	creds       *credentials // nil: anonymous
	scopes      []string
	wantRefresh bool
}

// serveToken is the token service: GET with Basic auth and repeated scope
// parameters, or the OAuth2 POST form (password or refresh_token grant).
func (h *Hub) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	req, status := h.decodeTokenRequest(w, r)
	entry := requestEntry(r)
	entry.Asked = req.scopes
	if status != http.StatusOK {
		tokenError(w, status)
		return
	}
	var tok *Token
	if req.creds != nil {
		entry.SecretHash = SecretHash(req.creds.secret)
		if tok = h.authenticate(req.creds.org, req.creds.secret); tok == nil {
			tokenError(w, http.StatusUnauthorized)
			return
		}
		entry.Principal, entry.Label = tok.Org, tok.Label
	}
	access := h.grant(tok, req.scopes)
	entry.Granted = scopeStrings(access)
	resp, err := h.issue(tok, access, req.wantRefresh && tok != nil)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// decodeTokenRequest reads a GET or POST token request. A status other
// than 200 is the answer to give.
func (h *Hub) decodeTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, int) {
	switch r.Method {
	case http.MethodGet:
		// A body on a GET is read too, as frameworks that parse forms on
		// any method do: its credentials count.
		fields, err := lenientBody(w, r)
		if err != nil {
			return tokenRequest{}, http.StatusBadRequest
		}
		if fields.Get("password") != "" || fields.Get("grant_type") != "" {
			return h.decodeTokenPost(r, merge(lower(lenientForm(r.URL.RawQuery)), fields))
		}
		return decodeTokenGet(r), http.StatusOK
	case http.MethodPost:
		fields, err := lenientBody(w, r)
		if err != nil {
			return tokenRequest{}, http.StatusBadRequest
		}
		return h.decodeTokenPost(r, merge(lower(lenientForm(r.URL.RawQuery)), fields))
	default:
		w.Header().Set("Allow", "GET, POST")
		return tokenRequest{}, http.StatusMethodNotAllowed
	}
}

// decodeTokenGet reads the GET form: Basic auth, repeated scope
// parameters. Like Docker Hub, it ignores offline_token and never hands
// out a refresh token here: docker login must then store the organization
// and the secret itself, not an identity token.
func decodeTokenGet(r *http.Request) tokenRequest {
	req := tokenRequest{scopes: splitScopes(lenientForm(r.URL.RawQuery)["scope"])}
	if user, secret, ok := r.BasicAuth(); ok {
		req.creds = &credentials{org: user, secret: secret}
	}
	return req
}

// decodeTokenPost reads the OAuth2 form, whatever the Content-Type and
// the Content-Encoding say (lenientBody), with the query's parameters too: the password grant, which gets a
// refresh token, or the refresh_token grant. Basic auth stands in for a
// missing password.
func (h *Hub) decodeTokenPost(r *http.Request, form url.Values) (tokenRequest, int) {
	req := tokenRequest{scopes: splitScopes(form["scope"])}
	switch form.Get("grant_type") {
	case "password":
		req.creds = &credentials{org: form.Get("username"), secret: form.Get("password")}
		if user, secret, ok := r.BasicAuth(); ok && req.creds.secret == "" {
			req.creds = &credentials{org: user, secret: secret}
		}
		req.wantRefresh = true
	case "refresh_token":
		h.mu.Lock()
		c, ok := h.refresh[form.Get("refresh_token")]
		h.mu.Unlock()
		if !ok {
			return req, http.StatusUnauthorized
		}
		req.creds = &c
	default:
		return req, http.StatusBadRequest
	}
	return req, http.StatusOK
}

// splitScopes splits scope parameters, which may hold several scopes
// separated by spaces.
func splitScopes(params []string) []string {
	var out []string
	for _, p := range params {
		out = append(out, strings.Fields(p)...)
	}
	return out
}

// tokenError answers a refused token request the way Docker Hub does.
func tokenError(w http.ResponseWriter, status int) {
	body := map[int]string{
		http.StatusUnauthorized:     `{"details":"incorrect username or password"}`,
		http.StatusBadRequest:       `{"error":"unsupported_grant_type"}`,
		http.StatusMethodNotAllowed: `{"details":"method not allowed"}`,
	}[status]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

// issue signs a bearer token for tok (nil: anonymous) with access, and
// with withRefresh a refresh token standing for tok, and makes the token
// service's answer.
func (h *Hub) issue(tok *Token, access []resourceActions, withRefresh bool) (map[string]any, error) {
	now := time.Now()
	subject := ""
	if tok != nil {
		subject = tok.Org
	}
	jwt, id, err := h.sign(subject, access, now)
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"token": jwt, "access_token": jwt,
		"expires_in": int(tokenLifetime / time.Second), "issued_at": now.UTC().Format(time.RFC3339),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.padding > 0 {
		resp["padding"] = strings.Repeat("x", h.padding)
	}
	if tok == nil {
		return resp, nil
	}
	h.issued[id] = principal{org: tok.Org, label: tok.Label}
	if withRefresh {
		rt := randomString(24)
		h.refresh[rt] = credentials{org: tok.Org, secret: tok.Secret}
		resp["refresh_token"] = rt
	}
	return resp, nil
}

// SecretHash is how the request log names a secret: the first 12 hex
// digits of its SHA-256, enough to tell the tokens of a test apart.
func SecretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:6])
}

// authenticate returns the active, unexpired token with this organization
// and secret, or nil. It is the token's use: its last use is now.
func (h *Hub) authenticate(org, secret string) *Token {
	want := sha256.Sum256([]byte(secret))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, t := range append([]Token{h.seed}, h.tokens...) {
		got := sha256.Sum256([]byte(t.Secret))
		if t.Org != org || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			continue
		}
		if t.Inactive || (!t.Expires.IsZero() && time.Now().After(t.Expires)) {
			return nil
		}
		if i > 0 {
			h.tokens[i-1].LastUsed = time.Now().UTC().Truncate(time.Second)
		}
		return &t
	}
	return nil
}

// allTokens is the hub's own token and the tokens it accepts.
func (h *Hub) allTokens() []Token {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Token{h.seed}, h.tokens...)
}
