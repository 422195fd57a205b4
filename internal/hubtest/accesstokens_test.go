package hubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const ownerSecret = "dckr_pat_OwnerAlice0000000000000001"

// ownerHub is a hub with testTokens, an owner of acme (alice), an owner of
// beta (bob), and room for four more of acme's tokens; it returns how many
// acme holds already.
func ownerHub(t *testing.T) (*Hub, int) {
	t.Helper()
	held := 0
	for _, tok := range testTokens {
		if tok.Org == "acme" {
			held++
		}
	}
	return startHub(t, Options{
		Owners:     []Owner{{User: "alice", Secret: ownerSecret, Orgs: []string{"acme"}}, {User: "bob", Secret: "dckr_pat_bob", Orgs: []string{"beta"}}},
		TokenLimit: held + 4,
	}), held
}

// api sends a Hub API request with the JWT (none if "") and a JSON body.
func api(t *testing.T, h *Hub, jwt, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, "https://hub.docker.com"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if jwt != "" {
		req.Header.Set("Authorization", "Bearer "+jwt)
	}
	resp, err := (&http.Client{Transport: h.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func signIn(t *testing.T, h *Hub, user, secret string) string {
	t.Helper()
	status, out, _ := api(t, h, "", "POST", "/v2/auth/token", fmt.Sprintf(`{"identifier":%q,"secret":%q}`, user, secret))
	jwt, _ := out["access_token"].(string)
	if status != http.StatusOK || jwt == "" {
		t.Fatalf("sign in as %s: %d %v", user, status, out)
	}
	return jwt
}

// The access token API as the Hub answers it: an owner creates a token
// that the registry accepts at once with the scopes given, lists the
// organization's tokens a page at a time without resources, reads one
// with them, changes it (never its expiry), deactivates and deletes it,
// after which the registry refuses it; the limit counts every token; an
// OAT, a stranger and another organization's owner are refused.
func TestAccessTokenAPI(t *testing.T) {
	h, held := ownerHub(t)
	jwt := signIn(t, h, "alice", ownerSecret)
	create := `{"label":"ci","description":"the pipeline","resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["scope-image-pull"]},{"type":"TYPE_REPO","path":"acme/tool","scopes":["scope-image-push"]}],"expires_at":"` +
		time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339) + `"}`
	status, tok, _ := api(t, h, jwt, "POST", "/v2/orgs/acme/access-tokens", create)
	secret, _ := tok["token"].(string)
	id, _ := tok["id"].(string)
	if status != http.StatusCreated || !strings.HasPrefix(secret, "dckr_oat_") || len(id) != 36 || tok["created_by"] != "alice" || tok["is_active"] != true || tok["expires_at"] == nil {
		t.Fatalf("create: %d %v", status, tok)
	}
	if err := pullOrPush(t, h, secret, "acme/tool", true); err != nil {
		t.Errorf("the created token cannot push where it may: %v", err)
	}
	if err := pullOrPush(t, h, secret, "acme/base", true); err == nil {
		t.Error("the created token pushed outside its resources")
	}

	// Three more fill the limit of four; a fifth is refused.
	for i := range 3 {
		if status, out, _ := api(t, h, jwt, "POST", "/v2/orgs/acme/access-tokens", fmt.Sprintf(`{"label":"t%d","resources":[{"type":"TYPE_REPO","path":"acme/*","scopes":["scope-image-pull"]}]}`, i)); status != http.StatusCreated {
			t.Fatalf("create t%d: %d %v", i, status, out)
		}
	}
	if status, out, _ := api(t, h, jwt, "POST", "/v2/orgs/acme/access-tokens", `{"label":"t4","resources":[{"type":"TYPE_REPO","path":"acme/*","scopes":["scope-image-pull"]}]}`); status != http.StatusForbidden || !strings.Contains(fmt.Sprint(out), fmt.Sprintf("limit of %d", held+4)) {
		t.Errorf("over the limit: %d %v", status, out)
	}

	// The last page of three has the rest, and no resources.
	total := held + 4
	lastPage := (total + 2) / 3
	status, page, _ := api(t, h, jwt, "GET", fmt.Sprintf("/v2/orgs/acme/access-tokens?page=%d&page_size=3", lastPage), "")
	results, _ := page["results"].([]any)
	if status != http.StatusOK || page["total"] != float64(total) || len(results) != total-3*(lastPage-1) || page["next"] != nil || page["previous"] == nil {
		t.Fatalf("list page 2: %d %v", status, page)
	}
	if first, _ := results[0].(map[string]any); first["resources"] != nil || first["token"] != nil {
		t.Errorf("a listed token holds its resources or secret: %v", first)
	}
	if status, got, _ := api(t, h, jwt, "GET", "/v2/orgs/acme/access-tokens/"+id, ""); status != http.StatusOK || len(got["resources"].([]any)) != 2 || got["token"] != nil {
		t.Errorf("get: %d %v", status, got)
	}

	// Patch: resources and label change, the expiry cannot.
	if status, out, _ := api(t, h, jwt, "PATCH", "/v2/orgs/acme/access-tokens/"+id, `{"expires_at":null}`); status != http.StatusBadRequest {
		t.Errorf("patch of the expiry: %d %v", status, out)
	}
	if status, out, _ := api(t, h, jwt, "PATCH", "/v2/orgs/acme/access-tokens/"+id, `{"label":"ci-2","resources":[{"type":"TYPE_REPO","path":"acme/base","scopes":["scope-image-push"]}]}`); status != http.StatusOK || out["label"] != "ci-2" {
		t.Errorf("patch: %d %v", status, out)
	}
	if err := pullOrPush(t, h, secret, "acme/base", true); err != nil {
		t.Errorf("after the patch the token cannot push where it now may: %v", err)
	}
	status, got, _ := api(t, h, jwt, "GET", "/v2/orgs/acme/access-tokens/"+id, "")
	if status != http.StatusOK || got["last_used_at"] == nil {
		t.Errorf("a token used has no last_used_at: %v", got)
	}

	// Deactivated: refused; active again: accepted; deleted: refused, 404.
	api(t, h, jwt, "PATCH", "/v2/orgs/acme/access-tokens/"+id, `{"is_active":false}`)
	if err := pullOrPush(t, h, secret, "acme/base", false); err == nil {
		t.Error("a deactivated token pulled")
	}
	api(t, h, jwt, "PATCH", "/v2/orgs/acme/access-tokens/"+id, `{"is_active":true}`)
	if err := pullOrPush(t, h, secret, "acme/base", false); err != nil {
		t.Errorf("a token active again cannot pull: %v", err)
	}
	if status, _, _ := api(t, h, jwt, "DELETE", "/v2/orgs/acme/access-tokens/"+id, ""); status != http.StatusNoContent {
		t.Errorf("delete: %d", status)
	}
	if err := pullOrPush(t, h, secret, "acme/base", false); err == nil {
		t.Error("a deleted token pulled")
	}
	if status, _, _ := api(t, h, jwt, "GET", "/v2/orgs/acme/access-tokens/"+id, ""); status != http.StatusNotFound {
		t.Errorf("get after delete: %d", status)
	}

	// Who may not: an OAT, nobody, another organization's owner.
	oatJWT := signIn(t, h, "acme", pushSecret)
	for _, tt := range []struct {
		name, jwt string
		want      int
	}{
		{"an OAT's JWT", oatJWT, http.StatusForbidden},
		{"an OAT as a bearer", pushSecret, http.StatusForbidden},
		{"no credentials", "", http.StatusUnauthorized},
		{"a forged JWT", "hubjwt.forged", http.StatusUnauthorized},
		{"beta's owner", signIn(t, h, "bob", "dckr_pat_bob"), http.StatusForbidden},
	} {
		if status, out, _ := api(t, h, tt.jwt, "GET", "/v2/orgs/acme/access-tokens", ""); status != tt.want {
			t.Errorf("%s: %d %v, want %d", tt.name, status, out, tt.want)
		}
	}
}

// Malformed creates are refused with 400 and change nothing.
func TestAccessTokenAPIRefusesMalformed(t *testing.T) {
	h, held := ownerHub(t)
	jwt := signIn(t, h, "alice", ownerSecret)
	repos := make([]string, 51)
	for i := range repos {
		repos[i] = fmt.Sprintf(`{"type":"TYPE_REPO","path":"acme/r%d","scopes":["scope-image-pull"]}`, i)
	}
	for name, body := range map[string]string{
		"no label":          `{"resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["scope-image-pull"]}]}`,
		"no resources":      `{"label":"x","resources":[]}`,
		"another org's":     `{"label":"x","resources":[{"type":"TYPE_REPO","path":"beta/app","scopes":["scope-image-pull"]}]}`,
		"an unknown scope":  `{"label":"x","resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["scope-image-admin"]}]}`,
		"51 repositories":   `{"label":"x","resources":[` + strings.Join(repos, ",") + `]}`,
		"past expiry":       `{"label":"x","resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["scope-image-pull"]}],"expires_at":"2020-01-01T00:00:00Z"}`,
		"two years ahead":   `{"label":"x","resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["scope-image-pull"]}],"expires_at":"` + time.Now().AddDate(2, 0, 0).UTC().Format(time.RFC3339) + `"}`,
		"an unknown field":  `{"label":"x","scope":"all","resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["scope-image-pull"]}]}`,
		"not JSON":          `label=x`,
		"an unknown type":   `{"label":"x","resources":[{"type":"TYPE_TEAM","path":"acme","scopes":["scope-image-pull"]}]}`,
		"a path off syntax": `{"label":"x","resources":[{"type":"TYPE_REPO","path":"acme/App","scopes":["scope-image-pull"]}]}`,
	} {
		if status, out, _ := api(t, h, jwt, "POST", "/v2/orgs/acme/access-tokens", body); status != http.StatusBadRequest {
			t.Errorf("%s: %d %v, want 400", name, status, out)
		}
	}
	if _, page, _ := api(t, h, jwt, "GET", "/v2/orgs/acme/access-tokens", ""); page["total"] != float64(held) {
		t.Errorf("refused creates left tokens: %v", page)
	}
}

// FailNext answers the next requests with 429 and Retry-After, then the
// API answers again.
func TestAccessTokenAPIRateLimit(t *testing.T) {
	h, _ := ownerHub(t)
	jwt := signIn(t, h, "alice", ownerSecret)
	h.FailNext(2, http.StatusTooManyRequests)
	for range 2 {
		status, _, header := api(t, h, jwt, "GET", "/v2/orgs/acme/access-tokens", "")
		if status != http.StatusTooManyRequests || header.Get("Retry-After") == "" || header.Get("X-RateLimit-Remaining") != "0" {
			t.Errorf("rate limited: %d %v", status, header)
		}
	}
	if status, _, header := api(t, h, jwt, "GET", "/v2/orgs/acme/access-tokens", ""); status != http.StatusOK || header.Get("X-RateLimit-Limit") == "" {
		t.Errorf("after the limit: %d %v", status, header)
	}
}
