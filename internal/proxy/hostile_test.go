package proxy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/oat"
)

// generous is a hub that gives every token far more than the proxy's
// records say: whatever reaches it with the pull-only token and goes
// beyond pull on acme/* is the proxy's fault alone.
func generous(t *testing.T) *fixture {
	t.Helper()
	all := []string{"member-edit", "invite-edit", "group-edit"}
	return setupWith(t, options{
		hub: []hubtest.Token{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Push: []string{"*"}, OrgScopes: all, PublicRead: true},
			{Org: "acme", Label: "release", Secret: pushSecret, Push: []string{"*"}, OrgScopes: all, PublicRead: true},
		},
		records: staticTokens{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/*"}, nil)},
			{Org: "acme", Label: "release", Secret: pushSecret, Active: true, Scopes: mustScopes(t, nil, []string{"acme/app"})},
		}})
}

// violations are the requests the hub logged for the pull-only token that
// go beyond pull on acme/*, by the hub's own reading of them.
func violations(hub *hubtest.Hub) []string {
	var out []string
	within := func(scope string) bool {
		typ, rest, _ := strings.Cut(scope, ":")
		i := strings.LastIndex(rest, ":")
		if typ != "repository" || i < 0 || !strings.HasPrefix(rest[:i], "acme/") {
			return false
		}
		for _, a := range strings.Split(rest[i+1:], ",") {
			if a != "pull" {
				return false
			}
		}
		return true
	}
	for _, r := range hub.Requests() {
		if r.Label != "ci-pull" {
			continue
		}
		for _, s := range append(append([]string(nil), r.Granted...), r.Needs...) {
			if !within(s) {
				out = append(out, fmt.Sprintf("%s %s%s: %s", r.Method, r.Host, r.Path, s))
			}
		}
	}
	return out
}

type hostile struct {
	name    string
	method  string
	url     string
	host    string // the Host header, when it differs from the URL's
	header  map[string]string
	body    string
	want    int
	message string // in the body
}

func basic(secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("acme:"+secret))
}

// send sends one request through the proxy and returns its status and
// body.
func (f *fixture) send(t *testing.T, h hostile) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(h.method, h.url, strings.NewReader(h.body))
	if err != nil {
		t.Fatalf("%s: %v", h.name, err)
	}
	if h.body == "" {
		req.Body, req.ContentLength = nil, 0
	}
	if h.host != "" {
		req.Host = h.host
	}
	for k, v := range h.header {
		for _, one := range strings.Split(v, "\n") {
			req.Header.Add(k, one)
		}
	}
	resp, err := (&http.Client{Transport: f.client, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// pullBearer is a bearer token for pull on acme/app, obtained through the
// proxy with the pull-only token.
func (f *fixture) pullBearer(t *testing.T) string {
	t.Helper()
	status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/app:pull",
		header: map[string]string{"Authorization": basic(pullSecret)}})
	var tr struct{ Token string }
	if json.Unmarshal([]byte(body), &tr); status != http.StatusOK || tr.Token == "" {
		t.Fatalf("pull token: %d %s", status, body)
	}
	return tr.Token
}

// hubLogin logs in to the Hub API through the proxy and returns the JWT.
func (f *fixture) hubLogin(t *testing.T, secret string) string {
	t.Helper()
	status, body, _ := f.send(t, hostile{method: "POST", url: "https://hub.docker.com/v2/auth/token",
		header: map[string]string{"Content-Type": "application/json"}, body: `{"identifier":"acme","secret":"` + secret + `"}`})
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal([]byte(body), &tr); status != http.StatusOK || tr.AccessToken == "" {
		t.Fatalf("hub login: %d %s", status, body)
	}
	return tr.AccessToken
}

func TestHostileRequests(t *testing.T) {
	f := generous(t)
	bearer := f.pullBearer(t)
	jwt := f.hubLogin(t, pullSecret)
	form := "application/x-www-form-urlencoded"
	pull := map[string]string{"Authorization": basic(pullSecret)}
	withBearer := map[string]string{"Authorization": "Bearer " + bearer}
	withJWT := map[string]string{"Authorization": "JWT " + jwt}
	digest := "sha256:" + strings.Repeat("0", 64)
	push := "scope=repository:acme/base:pull,push"
	tests := []hostile{
		// 1. host case and form, the inner Host header
		{name: "upper-case host", method: "GET", url: "https://AUTH.docker.io/token?" + push, header: pull, want: 403, message: `may not push to acme/base`},
		{name: "mixed-case host", method: "GET", url: "https://Auth.Docker.IO/token?" + push, header: pull, want: 403, message: `may not push`},
		{name: "trailing dot", method: "GET", url: "https://auth.docker.io./token?" + push, header: pull, want: 403, message: `may not push`},
		{name: "inner Host of another hub host", method: "GET", url: "https://registry-1.docker.io/token?" + push, host: "auth.docker.io", header: pull, want: 403, message: "inside a tunnel to registry-1.docker.io"},
		{name: "inner Host upper-case of another host", method: "GET", url: "https://hub.docker.com/token?" + push, host: "AUTH.DOCKER.IO", header: pull, want: 403, message: "inside a tunnel"},
		{name: "inner Host with another port", method: "GET", url: "https://auth.docker.io/token?" + push, host: "auth.docker.io:8443", header: pull, want: 403, message: "inside a tunnel"},
		{name: "inner Host of an outside host", method: "GET", url: "https://auth.docker.io/token?" + push, host: "example.com", header: pull, want: 403, message: "inside a tunnel"},
		// 2. bearer and refresh tokens the proxy did not see issued
		{name: "forged bearer", method: "POST", url: "https://registry-1.docker.io/v2/acme/app/blobs/uploads/", header: map[string]string{"Authorization": "Bearer forged.jwt.value"}, want: 401, message: "authentication required"},
		{name: "forged bearer, JWT scheme", method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0", header: map[string]string{"Authorization": "jwt forged"}, want: 401},
		{name: "forged hub JWT", method: "GET", url: "https://hub.docker.com/v2/orgs/acme/members", header: map[string]string{"Authorization": "Bearer hubjwt.forged"}, want: 401},
		{name: "unseen refresh token", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form}, body: "grant_type=refresh_token&refresh_token=unseen&" + push, want: 401},
		// 3. the token POST
		{name: "second scope value", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:pull&scope=repository:acme/base:push", want: 403, message: "may not push to acme/base"},
		{name: "second scope in one value", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:pull+repository:acme/base:push", want: 403, message: "may not push to acme/base"},
		{name: "scope in the POST's query", method: "POST", url: "https://auth.docker.io/token?" + push, header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:pull", want: 403, message: "may not push to acme/base"},
		{name: "not a form", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": "text/plain"},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&" + push, want: 403, message: "body of type"},
		{name: "no Content-Type, Basic", method: "POST", url: "https://auth.docker.io/token", header: pull,
			body: "grant_type=password&" + push, want: 403, message: "body of type"},
		{name: "unknown grant", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form, "Authorization": basic(pullSecret)},
			body: "grant_type=client_credentials&" + push, want: 403, message: "grant type"},
		{name: "two grants", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=refresh_token&grant_type=password&username=acme&password=" + pullSecret + "&" + push, want: 403, message: "given 2 times"},
		{name: "conflicting credentials", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form, "Authorization": basic(pushSecret)},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:pull", want: 403, message: "credentials of token"},
		{name: "conflicting: ours and a stranger's", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form, "Authorization": basic("dckr_oat_stranger")},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:pull", want: 403, message: "credentials of token"},
		{name: "semicolon in the form", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:pull;scope=repository:acme/base:push", want: 403, message: `in the query`},
		{name: "gzip form, no credentials to see", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form, "Content-Encoding": "gzip"},
			body: compress("gzip", "grant_type=password&username=acme&password="+pullSecret+"&"+push), want: 403, message: `Content-Encoding \"gzip\"`},
		{name: "a form field in upper case", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&PASSWORD=" + pullSecret + "&" + push, want: 403, message: `the form field \"PASSWORD\"`},
		{name: "an escaped NUL in the form", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=password&client_id=a%00b&" + push, want: 403, message: "control character"},
		{name: "a form in UTF-16", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form + "; charset=utf-16"},
			body: "grant_type=password&" + push, want: 403, message: "body of type"},
		{name: "a body on a token GET", method: "GET", url: "https://auth.docker.io/token?" + push, header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&password=" + pullSecret, want: 403, message: "a body on a token GET"},
		{name: "deflated login", method: "POST", url: "https://hub.docker.com/v2/auth/token", header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "deflate"},
			body: compress("deflate", `{"identifier":"acme","secret":"`+pullSecret+`"}`), want: 403, message: "oat-proxy refuses this Hub API request"},
		{name: "gzip form on another spelling of /token", method: "POST", url: "https://auth.docker.io/token/", header: map[string]string{"Content-Type": form, "Content-Encoding": "gzip"},
			body: compress("gzip", "grant_type=password&username=acme&password="+pullSecret+"&"+push), want: 403, message: `a body on the path \"/token/\"`},
		{name: "a form PUT to the token service", method: "PUT", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=password&username=acme&password=" + pullSecret + "&" + push, want: 403, message: "a body on PUT to the token service"},
		{name: "deflated login on another spelling", method: "POST", url: "https://hub.docker.com//V2/Auth/Token/", header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "deflate"},
			body: compress("deflate", `{"identifier":"acme","secret":"`+pullSecret+`"}`), want: 403, message: "a spelling of /v2/auth/token"},
		{name: "access token created with a gzip body", method: "POST", url: "https://hub.docker.com/v2/orgs/acme/access-tokens", header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"},
			body: compress("gzip", `{"label":"x"}`), want: 403, message: "Content-Encoding"},
		// 4. the Hub API
		{name: "members with the login's JWT", method: "GET", url: "https://hub.docker.com/v2/orgs/acme/members", header: withJWT, want: 403, message: "lacks the member-read scope"},
		{name: "members, trailing slash", method: "DELETE", url: "https://hub.docker.com/v2/orgs/acme/members/alice/", header: withJWT, want: 403, message: "member-edit"},
		{name: "bulk invites", method: "POST", url: "https://hub.docker.com/v2/invites/bulk", header: withJWT, body: `{"org":"acme","invitees":["x"]}`, want: 403, message: "invite-edit"},
		{name: "invite by id", method: "DELETE", url: "https://hub.docker.com/v2/invites/42", header: pull, want: 403, message: "invite-edit"},
		{name: "resend an invite", method: "PATCH", url: "https://hub.docker.com/v2/invites/42/resend", header: withJWT, want: 403, message: "invite-edit"},
		{name: "groups", method: "POST", url: "https://hub.docker.com/v2/orgs/acme/groups", header: pull, want: 403, message: "group-edit"},
		{name: "access tokens", method: "GET", url: "https://hub.docker.com/v2/orgs/acme/access-tokens", header: pull, want: 403, message: "cannot manage access tokens"},
		{name: "access tokens, created", method: "POST", url: "https://hub.docker.com/v2/orgs/acme/access-tokens", header: withJWT, want: 403, message: "cannot manage access tokens"},
		{name: "a route off the allow list", method: "GET", url: "https://hub.docker.com/v2/repositories/acme/", header: withJWT, want: 403, message: "does not understand the Hub API route"},
		{name: "another org's members", method: "GET", url: "https://hub.docker.com/v2/orgs/beta/members", header: withJWT, want: 403},
		{name: "legacy login, then members", method: "POST", url: "https://hub.docker.com/v2/users/login", header: map[string]string{"Content-Type": "application/json"},
			body: `{"username":"acme","password":"` + pullSecret + `"}`, want: 200},
		{name: "login with a secret given twice", method: "POST", url: "https://hub.docker.com/v2/auth/token", header: map[string]string{"Content-Type": "application/json"},
			body: `{"identifier":"acme","secret":"x","secret":"` + pullSecret + `"}`, want: 403, message: "given twice"},
		{name: "login, a field in another case", method: "POST", url: "https://hub.docker.com/v2/auth/token", header: map[string]string{"Content-Type": "application/json", "Authorization": basic(pullSecret)},
			body: `{"identifier":"acme","Secret":"` + pullSecret + `"}`, want: 403, message: `the login field`},
		// 5. scope types, queries, paths, references, hosts
		{name: "Repository type", method: "GET", url: "https://auth.docker.io/token?scope=Repository:acme/base:push", header: pull, want: 403, message: "may not push to acme/base"},
		{name: "REPOSITORY(plugin) type", method: "GET", url: "https://auth.docker.io/token?scope=REPOSITORY(plugin):acme/base:PUSH", header: pull, want: 403, message: "may not push"},
		{name: "another type", method: "GET", url: "https://auth.docker.io/token?scope=registry:catalog:*", header: pull, want: 403, message: `registry:catalog:*`},
		{name: "semicolon in the query", method: "GET", url: "https://auth.docker.io/token?scope=repository:acme/app:pull;scope=repository:acme/base:push", header: pull, want: 403, message: `in the query`},
		{name: "an action off the grammar", method: "GET", url: "https://auth.docker.io/token?scope=repository:acme/app:pull,p%C3%BCsh", header: pull, want: 403, message: "asks for the action"},
		{name: "upper-case name", method: "GET", url: "https://auth.docker.io/token?scope=repository:ACME/base:push", header: pull, want: 403, message: "invalid repository name"},
		{name: "catalog", method: "GET", url: "https://registry-1.docker.io/v2/_catalog", header: withBearer, want: 403, message: "the catalog"},
		{name: "unknown registry route", method: "GET", url: "https://registry-1.docker.io/v2/acme/app/frobnicate", header: withBearer, want: 403, message: "not a registry API path"},
		{name: "outside /v2/", method: "GET", url: "https://index.docker.io/v1/search?q=acme", header: pull, want: 403, message: "outside the registry API"},
		{name: "encoded slash in a reference", method: "PUT", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0%2F..%2F..%2Fbase%2Fmanifests%2Fx", header: withBearer, want: 403, message: "encoded slash"},
		{name: "encoded slash in a name", method: "PUT", url: "https://registry-1.docker.io/v2/acme%2Fbase/manifests/x", header: withBearer, want: 403, message: "encoded slash"},
		{name: "encoded twice", method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/x%252Fy", header: withBearer, want: 403, message: "encoded twice"},
		{name: "reference off the grammar", method: "PUT", url: "https://registry-1.docker.io/v2/acme/app/manifests/-x", header: withBearer, want: 403, message: "not a registry API path"},
		{name: "digest off the grammar", method: "GET", url: "https://registry-1.docker.io/v2/acme/app/blobs/sha256", header: withBearer, want: 403},
		{name: "registry.hub.docker.com push", method: "POST", url: "https://registry.hub.docker.com/v2/acme/app/blobs/uploads/", header: withBearer, want: 403, message: "may not push to acme/app"},
		{name: "lower-case method", method: "post", url: "https://registry-1.docker.io/v2/acme/app/blobs/uploads/", header: withBearer, want: 403, message: "may not push"},
		{name: "mount from elsewhere", method: "POST", url: "https://registry-1.docker.io/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=beta/x", header: withBearer, want: 403},
		{name: "duplicate from", method: "POST", url: "https://registry-1.docker.io/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=acme/app&from=beta/x", header: withBearer, want: 403},
		{name: "unknown scheme with our secret", method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0", header: map[string]string{"Authorization": "Token " + pullSecret}, want: 403, message: "Authorization scheme"},
		{name: "a bare secret as Authorization", method: "GET", url: "https://auth.docker.io/token?" + push, header: map[string]string{"Authorization": pullSecret}, want: 403, message: "without a scheme"},
		{name: "a secret quoted in the request", method: "POST", url: "https://auth.docker.io/token", header: map[string]string{"Content-Type": form},
			body: "grant_type=" + pullSecret + "&scope=repository:acme/app:pull", want: 403, message: "the grant type"},
		{name: "two Authorization headers", method: "GET", url: "https://auth.docker.io/token?" + push, header: map[string]string{"Authorization": basic(pullSecret) + "\n" + basic(pushSecret)}, want: 403},
		{name: "delete", method: "DELETE", url: "https://registry-1.docker.io/v2/acme/app/manifests/" + digest, header: withBearer, want: 403, message: "cannot delete"},
		// what is fine stays fine
		{name: "pull token", method: "GET", url: "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/app:pull", header: pull, want: 200},
		{name: "pull with the bearer", method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0", header: map[string]string{"Authorization": "Bearer " + bearer, "Accept": "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"}, want: 200},
		{name: "inner Host with :443", method: "GET", url: "https://auth.docker.io/token?scope=repository:acme/app:pull", host: "AUTH.docker.io:443", header: pull, want: 200},
		{name: "ping", method: "GET", url: "https://registry-1.docker.io/v2/", header: withBearer, want: 200},
		{name: "anonymous, nothing to judge", method: "GET", url: "https://auth.docker.io/token?scope=repository:library/alpine:pull;x", want: 200},
	}
	for _, h := range tests {
		status, body, header := f.send(t, h)
		if status != h.want || !strings.Contains(body, h.message) {
			t.Errorf("%s: %d %s\nwant %d with %q", h.name, status, body, h.want, h.message)
		}
		if strings.Contains(body, pullSecret) {
			t.Errorf("%s: the answer quotes the secret: %s", h.name, body)
		}
		if status == http.StatusForbidden && !strings.Contains(body, `"code":"DENIED"`) {
			t.Errorf("%s: not a registry error: %s", h.name, body)
		}
		if status == http.StatusUnauthorized && !strings.Contains(header.Get("Www-Authenticate"), `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`) {
			t.Errorf("%s: challenge %q", h.name, header.Get("Www-Authenticate"))
		}
	}
	if v := violations(f.hub); len(v) > 0 {
		t.Errorf("the hub saw the pull-only token do more than pull:\n%s", strings.Join(v, "\n"))
	}
	if log := f.audit.String(); strings.Contains(log, pullSecret) || strings.Contains(log, bearer) || strings.Contains(log, jwt) {
		t.Error("the audit log holds a secret")
	}
}

// After a restart the proxy has seen no bearer issued: the ones from
// before are challenged, and a new one obtained through the checked path.
func TestBearerFromBeforeARestartIsChallenged(t *testing.T) {
	f := generous(t)
	bearer := f.pullBearer(t)
	restarted := New(Config{Tokens: f.p.cfg.Tokens, CA: f.ca, Upstream: f.p.cfg.Upstream, RootCAs: f.hub.CAPool()})
	f.proxy.Config.Handler = restarted
	f.client.CloseIdleConnections()
	status, _, header := f.send(t, hostile{method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0", header: map[string]string{"Authorization": "Bearer " + bearer}})
	if status != http.StatusUnauthorized || !strings.Contains(header.Get("Www-Authenticate"), `scope="repository:acme/app:pull"`) {
		t.Errorf("a bearer from before the restart: %d %v", status, header)
	}
}

// An edit of a token record applies at once to the refresh tokens it
// obtained; a removal unties them.
func TestStaleScopes(t *testing.T) {
	src := &changingTokens{tokens: []oat.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, nil, []string{"acme/*"})}}}
	f := setupWith(t, options{hub: []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Push: []string{"acme/*"}}}, records: src})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	status, body, _ := f.send(t, hostile{method: "POST", url: "https://auth.docker.io/token", header: form,
		body: "grant_type=password&username=acme&password=" + pullSecret + "&scope=repository:acme/app:push"})
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal([]byte(body), &tr); status != http.StatusOK || tr.RefreshToken == "" {
		t.Fatalf("password grant: %d %s", status, body)
	}
	refresh := func() (int, string) {
		status, body, _ := f.send(t, hostile{method: "POST", url: "https://auth.docker.io/token", header: form,
			body: "grant_type=refresh_token&refresh_token=" + url.QueryEscape(tr.RefreshToken) + "&scope=repository:acme/app:push"})
		return status, body
	}
	if status, body := refresh(); status != http.StatusOK {
		t.Fatalf("refresh before the edit: %d %s", status, body)
	}
	edit := func(tokens ...oat.Token) {
		src.mu.Lock()
		src.tokens, src.changed = tokens, true
		src.mu.Unlock()
	}
	edit(oat.Token{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/*"}, nil)})
	if status, body := refresh(); status != http.StatusForbidden || !strings.Contains(body, "may not push to acme/app: it has pull only") {
		t.Errorf("refresh after token edit: %d %s", status, body)
	}
	edit()
	if status, body := refresh(); status != http.StatusUnauthorized {
		t.Errorf("refresh after token rm: %d %s", status, body)
	}
}

// Whatever reaches the hub with the pull-only token's credentials, read
// by the hub's own parser, is within its scopes: generated requests over
// hosts, paths, methods, queries, bodies and headers.
func TestGeneratedRequestsStayInScope(t *testing.T) {
	f := generous(t)
	bearer := f.pullBearer(t)
	jwt := f.hubLogin(t, pullSecret)
	seed := rand.Uint64()
	if s := os.Getenv("OAT_TEST_SEED"); s != "" { // replays a failing run
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("OAT_TEST_SEED: %v", err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 10))
	t.Logf("seed %d (OAT_TEST_SEED replays it)", seed)
	pick := func(list ...string) string { return list[rng.IntN(len(list))] }
	digest := "sha256:" + strings.Repeat("a", 64)
	host := func(h string) string {
		return pick(h, strings.ToUpper(h), h+".", strings.ToUpper(h[:1])+h[1:])
	}
	name := func() string {
		return pick("acme/app", "acme/base", "beta/x", "alpine", "ACME/app", "acme%2Fbase", "acme/app/../base", "acme//base", "acme/app%252fx")
	}
	scope := func() string {
		return pick("repository", "Repository", "REPOSITORY(plugin)", "registry") + ":" + name() + ":" + pick("pull", "push", "pull,push", "PUSH", "*", "delete", "pull,,push")
	}
	query := func() string {
		var parts []string
		for range rng.IntN(4) {
			parts = append(parts, "scope="+url.QueryEscape(scope()))
		}
		parts = append(parts, pick("", "service=registry.docker.io", "service=a&service=b", "x=1;scope="+scope(), "scope=%zz"))
		return strings.Join(parts, pick("&", ";", "&&"))
	}
	creds := func() map[string]string {
		h := map[string]string{}
		switch rng.IntN(6) {
		case 0:
			h["Authorization"] = basic(pullSecret)
		case 1:
			h["Authorization"] = "Bearer " + bearer
		case 2:
			h["Authorization"] = "JWT " + jwt
		case 3:
			h["Authorization"] = pick("basic ", "BASIC  ") + base64.StdEncoding.EncodeToString([]byte("acme:"+pullSecret))
		case 4:
			h["Authorization"] = "Bearer " + pullSecret
		}
		if rng.IntN(3) == 0 {
			h["Content-Type"] = pick("application/x-www-form-urlencoded", "application/json", "text/plain", "APPLICATION/X-WWW-FORM-URLENCODED; charset=utf-8")
		}
		return h
	}
	form := func() string {
		return pick("grant_type=password&username=acme&password="+pullSecret, "grant_type=refresh_token&refresh_token=x", "grant_type=PASSWORD&password="+pullSecret, "") +
			"&scope=" + url.QueryEscape(scope()+pick("", " "+scope())) + pick("", "&scope="+url.QueryEscape(scope()), ";scope="+scope())
	}
	gen := func() hostile {
		h := hostile{method: pick("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "get", "post", "Put"), header: creds()}
		switch rng.IntN(3) {
		case 0:
			h.url = "https://" + host("auth.docker.io") + pick("/token", "/token/", "/v2/token") + "?" + query()
			if rng.IntN(2) == 0 {
				h.method, h.body = pick("POST", "post"), form()
			}
		case 1:
			h.url = "https://" + host(pick("registry-1.docker.io", "index.docker.io", "registry.hub.docker.com")) + "/v2/" + name() + "/" +
				pick("manifests/1.0", "manifests/"+digest, "manifests/a%2Fb", "blobs/"+digest, "blobs/uploads/", "blobs/uploads/abc-1", "tags/list", "referrers/"+digest, "frobnicate", "_catalog") +
				pick("", "?mount="+digest+"&from="+name(), "?digest="+digest, "?n=1;last=x")
			if rng.IntN(5) == 0 {
				h.url = "https://" + host("registry-1.docker.io") + pick("/v2/_catalog", "/v1/search?q=x", "/v2/", "/token?"+query())
			}
		default:
			h.url = "https://" + host("hub.docker.com") + pick("/v2/orgs/acme/members", "/v2/orgs/acme/invites/", "/v2/orgs/acme/groups/g/members", "/v2/invites/bulk", "/v2/invites/7",
				"/v2/orgs/acme/access-tokens", "/v2/repositories/acme/", "/v2/orgs/ACME/members", "/v2/users/login", "/v2/auth/token")
			h.body = pick("", `{"identifier":"acme","secret":"`+pullSecret+`"}`, `{"org":"acme"}`)
		}
		if rng.IntN(8) == 0 {
			u, _ := url.Parse(h.url)
			h.host = pick("auth.docker.io", "hub.docker.com", "registry-1.docker.io", strings.ToUpper(u.Hostname()))
		}
		return h
	}
	for range 300 {
		h := gen()
		if _, err := http.NewRequest(h.method, h.url, nil); err != nil {
			continue
		}
		f.send(t, h)
	}
	if v := violations(f.hub); len(v) > 0 {
		t.Errorf("the hub saw the pull-only token do more than pull (seed %d):\n%s", seed, strings.Join(v, "\n"))
	}
}
