package standin

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	pullSecret    = "dckr_oat_PullOnlyToken00000000000001"
	pushSecret    = "dckr_oat_PushToken000000000000000002"
	expiredSecret = "dckr_oat_ExpiredToken00000000000003"
	publicSecret  = "dckr_oat_PublicReadToken000000000004"
)

func startHub(t *testing.T) *Hub {
	t.Helper()
	ctx := context.Background()
	h, err := Start(ctx, Options{Tokens: []Token{
		{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/app"}},
		{Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}, Push: []string{"acme/app"}, OrgScopes: []string{"member-read"}},
		{Org: "acme", Label: "old", Secret: expiredSecret, Pull: []string{"acme/*"}, Expires: time.Now().Add(-time.Hour)},
		{Org: "acme", Label: "public", Secret: publicSecret, PublicRead: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	for _, repo := range []string{"acme/app", "acme/base", "library/alpine"} {
		if _, err := h.Seed(ctx, repo, "1.0"); err != nil {
			t.Fatalf("seed %s: %v", repo, err)
		}
	}
	return h
}

func opts(h *Hub, secret string) []remote.Option {
	o := []remote.Option{remote.WithTransport(h.Transport())}
	if secret != "" {
		o = append(o, remote.WithAuth(&authn.Basic{Username: "acme", Password: secret}))
	}
	return o
}

func TestRealClientAgainstScopes(t *testing.T) {
	h := startHub(t)
	tests := []struct {
		name, secret, repo string
		push, ok           bool
	}{
		{"pull with a pull token", pullSecret, "acme/app", false, true},
		{"pull outside the pull token's repositories", pullSecret, "acme/base", false, false},
		{"push with a pull-only token", pullSecret, "acme/app", true, false},
		{"push with a push token", pushSecret, "acme/app", true, true},
		{"org/* pulls every repository of the org", pushSecret, "acme/base", false, true},
		{"push outside the push scope", pushSecret, "acme/base", true, false},
		{"expired token", expiredSecret, "acme/app", false, false},
		{"wrong secret", "dckr_oat_wrong", "acme/app", false, false},
		{"anonymous pull of an official image", "", "library/alpine", false, true},
		{"anonymous pull of a private repository", "", "acme/app", false, false},
		{"public-read token pulls an official image", publicSecret, "library/alpine", false, true},
		{"public-read token and a private repository", publicSecret, "acme/app", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.push {
				img, rerr := random.Image(256, 1)
				if rerr != nil {
					t.Fatal(rerr)
				}
				err = remote.Write(ref(t, tt.repo, "pushed"), img, opts(h, tt.secret)...)
			} else {
				_, err = remote.Image(ref(t, tt.repo, "1.0"), opts(h, tt.secret)...)
			}
			if tt.ok && err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatal("want a refusal, got success")
			}
		})
	}
}

func tokenRequest(t *testing.T, h *Hub, method, query string, form url.Values, user, secret string) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "https://auth.docker.io/token?"+query, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, secret)
	}
	resp, err := (&http.Client{Transport: h.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func lastGranted(h *Hub) []string {
	r := h.Requests()
	return r[len(r)-1].Granted
}

func TestTokenServiceGrantsTheIntersection(t *testing.T) {
	h := startHub(t)
	q := url.Values{"service": {Service}, "scope": {
		"repository:acme/app:pull,push,delete",
		"repository:acme/base:push,pull",
		"repository:other/x:pull",
		"registry:catalog:*",
		"garbage",
	}}
	status, body := tokenRequest(t, h, http.MethodGet, q.Encode(), nil, "acme", pushSecret)
	if status != http.StatusOK || body["token"] == "" || body["refresh_token"] != nil {
		t.Fatalf("status %d, body keys %v", status, keys(body))
	}
	want := []string{"repository:acme/app:pull,push", "repository:acme/base:pull"}
	if diff := cmp.Diff(want, lastGranted(h)); diff != "" {
		t.Errorf("granted (-want +got):\n%s", diff)
	}
	r := h.Requests()[len(h.Requests())-1]
	if r.Principal != "acme" || r.Label != "release" || r.Status != http.StatusOK || len(r.Asked) != 5 {
		t.Errorf("log entry %+v", r)
	}

	// docker login: no scope, valid credentials.
	if status, _ := tokenRequest(t, h, http.MethodGet, "service="+Service, nil, "acme", pullSecret); status != http.StatusOK {
		t.Errorf("scope-less login request: %d", status)
	}
	if g := lastGranted(h); len(g) != 0 {
		t.Errorf("scope-less request granted %v", g)
	}
}

func TestTokenServiceRefusals(t *testing.T) {
	h := startHub(t)
	for _, tt := range []struct{ name, user, secret string }{
		{"wrong secret", "acme", "dckr_oat_nope"},
		{"right secret, other org", "other", pushSecret},
		{"expired", "acme", expiredSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := tokenRequest(t, h, http.MethodGet, "scope=repository:acme/app:pull", nil, tt.user, tt.secret)
			if status != http.StatusUnauthorized || body["details"] != "incorrect username or password" {
				t.Errorf("got %d %v, want 401 incorrect username or password", status, body)
			}
		})
	}
	h.AddToken(Token{Org: "acme", Label: "off", Secret: "dckr_oat_inactive", Pull: []string{"acme/*"}, Inactive: true})
	if status, _ := tokenRequest(t, h, http.MethodGet, "", nil, "acme", "dckr_oat_inactive"); status != http.StatusUnauthorized {
		t.Errorf("inactive token: %d, want 401", status)
	}
}

func TestTokenServiceForms(t *testing.T) {
	h := startHub(t)
	form := url.Values{"grant_type": {"password"}, "username": {"acme"}, "password": {pushSecret},
		"scope": {"repository:acme/app:pull,push repository:acme/base:pull"}, "service": {Service}, "access_type": {"offline"}, "client_id": {"ctr"}}
	status, body := tokenRequest(t, h, http.MethodPost, "", form, "", "")
	refresh, _ := body["refresh_token"].(string)
	if status != http.StatusOK || body["access_token"] == "" || refresh == "" {
		t.Fatalf("password grant: %d, keys %v", status, keys(body))
	}
	if diff := cmp.Diff([]string{"repository:acme/app:pull,push", "repository:acme/base:pull"}, lastGranted(h)); diff != "" {
		t.Errorf("password grant (-want +got):\n%s", diff)
	}

	form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"repository:acme/base:push,pull"}, "service": {Service}}
	if status, _ := tokenRequest(t, h, http.MethodPost, "", form, "", ""); status != http.StatusOK {
		t.Fatalf("refresh grant: %d", status)
	}
	if diff := cmp.Diff([]string{"repository:acme/base:pull"}, lastGranted(h)); diff != "" {
		t.Errorf("refresh grant (-want +got):\n%s", diff)
	}
	if r := h.Requests()[len(h.Requests())-1]; r.Label != "release" {
		t.Errorf("refresh grant tied to %q, want release", r.Label)
	}

	form.Set("refresh_token", "made-up")
	if status, _ := tokenRequest(t, h, http.MethodPost, "", form, "", ""); status != http.StatusUnauthorized {
		t.Errorf("unknown refresh token: %d, want 401", status)
	}
	form = url.Values{"grant_type": {"client_credentials"}}
	if status, _ := tokenRequest(t, h, http.MethodPost, "", form, "", ""); status != http.StatusBadRequest {
		t.Errorf("unsupported grant: %d, want 400", status)
	}
}

func TestOrgAPI(t *testing.T) {
	h := startHub(t)
	c := &http.Client{Transport: h.Transport()}
	for _, tt := range []struct {
		path, secret string
		want         int
	}{
		{"/v2/orgs/acme/members", pushSecret, http.StatusOK},
		{"/v2/orgs/acme/members", pullSecret, http.StatusForbidden},
		{"/v2/orgs/acme/groups", pushSecret, http.StatusForbidden},
		{"/v2/orgs/acme/members", "dckr_oat_nope", http.StatusUnauthorized},
		{"/v2/orgs/acme/nothing", pushSecret, http.StatusNotFound},
	} {
		req, _ := http.NewRequest(http.MethodGet, "https://hub.docker.com"+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+tt.secret)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.path, resp.StatusCode, tt.want)
		}
	}
}

func TestRequestLogHoldsNoSecret(t *testing.T) {
	h := startHub(t)
	_, _ = remote.Image(ref(t, "acme/app", "1.0"), opts(h, pushSecret)...)
	_, _ = remote.Image(ref(t, "acme/app", "1.0"), opts(h, "dckr_oat_wrongsecret")...)
	all := fmt.Sprintf("%+v", h.Requests())
	for _, s := range []string{pushSecret, "dckr_oat_wrongsecret", h.seed.Secret, "eyJ"} {
		if strings.Contains(all, s) {
			t.Errorf("the request log holds %q", s)
		}
	}
	var sawRegistry, sawToken bool
	for _, r := range h.Requests() {
		sawRegistry = sawRegistry || (r.Host == "registry-1.docker.io" && strings.HasPrefix(r.Path, "/v2/acme/app/manifests/"))
		sawToken = sawToken || (r.Host == "auth.docker.io" && r.Principal == "acme")
	}
	if !sawRegistry || !sawToken {
		t.Errorf("log lacks the registry (%v) or token (%v) requests", sawRegistry, sawToken)
	}
}

func TestTransportRefusesOtherHosts(t *testing.T) {
	h := startHub(t)
	_, err := (&http.Client{Transport: h.Transport()}).Get("https://example.com/")
	if err == nil || !strings.Contains(err.Error(), "does not reach") {
		t.Errorf("got %v", err)
	}
	// A client that does not trust the hub's CA is refused at the handshake.
	_, err = http.Get("https://" + h.Addr() + "/v2/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("a client without the CA: %v, want an unknown-authority error", err)
	}
}

func ref(t *testing.T, repo, tag string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(RegistryRef(repo, tag))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
