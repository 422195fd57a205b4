package standin

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// serveAPI is a sliver of the Hub API on hub.docker.com, enough to exercise
// organization scopes: GET /v2/orgs/ORG/members needs member-read, GET
// /v2/orgs/ORG/invites invite-read, GET /v2/orgs/ORG/groups group-read.
// The token comes as Basic auth (org and secret) or as a Bearer secret.
func (h *Hub) serveAPI(w http.ResponseWriter, r *http.Request) {
	entry := requestEntry(r)
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "v2" || parts[1] != "orgs" || r.Method != http.MethodGet {
		apiError(w, http.StatusNotFound, "not found")
		return
	}
	org, what := parts[2], parts[3]
	need := map[string]string{"members": "member-read", "invites": "invite-read", "groups": "group-read"}[what]
	if need == "" {
		apiError(w, http.StatusNotFound, "not found")
		return
	}
	user, secret, ok := r.BasicAuth()
	if !ok {
		if b, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			user, secret, ok = org, b, true
		}
	}
	if !ok {
		apiError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	tok := h.authenticate(user, secret)
	if tok == nil || tok.Org != org {
		apiError(w, http.StatusUnauthorized, "incorrect username or password")
		return
	}
	entry.Principal, entry.Label, entry.Asked = tok.Org, tok.Label, []string{need}
	if !slices.Contains(tok.OrgScopes, need) && !slices.Contains(tok.OrgScopes, strings.Replace(need, "-read", "-edit", 1)) {
		apiError(w, http.StatusForbidden, "the token lacks the "+need+" scope")
		return
	}
	entry.Granted = []string{need}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"count": 0, "results": []any{}})
}

// apiError answers an API request with status and a JSON detail.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": msg})
}
