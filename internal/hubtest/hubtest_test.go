package hubtest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/oatkit/oat/internal/hub"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sirupsen/logrus"
)

const (
	pullSecret    = "dckr_oat_PullOnlyToken00000000000001"
	pushSecret    = "dckr_oat_PushToken000000000000000002"
	expiredSecret = "dckr_oat_ExpiredToken00000000000003"
	publicSecret  = "dckr_oat_PublicReadToken000000000004"
	wrongSecret   = "dckr_oat_WrongSecret0000000000000005"
)

// testTokens are the tokens of the hub most tests use.
var testTokens = []Token{
	{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/app"}},
	{Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}, Push: []string{"acme/app"}, OrgScopes: []string{"member-read"}},
	{Org: "acme", Label: "old", Secret: expiredSecret, Pull: []string{"acme/*"}, Expires: time.Now().Add(-time.Hour)},
	{Org: "acme", Label: "public", Secret: publicSecret, PublicRead: true},
}

// startHub starts a hub with testTokens and opts, seeded with acme/app,
// acme/base and library/alpine.
func startHub(t *testing.T, opts Options) *Hub {
	t.Helper()
	ctx := context.Background()
	opts.Tokens = append(opts.Tokens, testTokens...)
	h, err := Start(ctx, opts)
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

// clientOpts are ggcr's options to reach h as acme with secret, or
// anonymously.
func clientOpts(h *Hub, secret string) []remote.Option {
	o := []remote.Option{remote.WithTransport(h.Transport())}
	if secret != "" {
		o = append(o, remote.WithAuth(&authn.Basic{Username: "acme", Password: secret}))
	}
	return o
}

// statusOf is the HTTP status of a registry or token service refusal.
func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

func TestRealClientAgainstScopes(t *testing.T) {
	h := startHub(t, Options{})
	tests := []struct {
		name, secret, repo string
		push               bool
		want               int // 0: success
	}{
		{"pull with a pull token", pullSecret, "acme/app", false, 0},
		{"pull outside the pull token's repositories", pullSecret, "acme/base", false, http.StatusUnauthorized},
		{"push with a pull-only token", pullSecret, "acme/app", true, http.StatusUnauthorized},
		{"push with a push token", pushSecret, "acme/app", true, 0},
		{"org/* pulls every repository of the org", pushSecret, "acme/base", false, 0},
		{"push outside the push scope", pushSecret, "acme/base", true, http.StatusUnauthorized},
		{"expired token", expiredSecret, "acme/app", false, http.StatusUnauthorized},
		{"wrong secret", wrongSecret, "acme/app", false, http.StatusUnauthorized},
		{"anonymous pull of an official image", "", "library/alpine", false, 0},
		{"anonymous pull of a private repository", "", "acme/app", false, http.StatusUnauthorized},
		{"public-read token pulls an official image", publicSecret, "library/alpine", false, 0},
		{"public-read token and a private repository", publicSecret, "acme/app", false, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pullOrPush(t, h, tt.secret, tt.repo, tt.push)
			if tt.want == 0 && err != nil {
				t.Fatalf("want success, got %v", err)
			}
			if tt.want != 0 && statusOf(err) != tt.want {
				t.Fatalf("want a %d refusal, got %v", tt.want, err)
			}
		})
	}
}

// pullOrPush pulls repo:1.0 or pushes a random image to repo:pushed.
func pullOrPush(t *testing.T, h *Hub, secret, repo string, push bool) error {
	t.Helper()
	if !push {
		_, err := remote.Image(ref(t, repo, "1.0"), clientOpts(h, secret)...)
		return err
	}
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return remote.Write(ref(t, repo, "pushed"), img, clientOpts(h, secret)...)
}

func TestPushWithPullTokenIsUnauthorized(t *testing.T) {
	h := startHub(t, Options{})
	err := pullOrPush(t, h, pullSecret, "acme/app", true)
	var te *transport.Error
	if !errors.As(err, &te) || len(te.Errors) == 0 || (te.Errors[0].Code != transport.UnauthorizedErrorCode && te.Errors[0].Code != transport.DeniedErrorCode) {
		t.Fatalf("want UNAUTHORIZED or DENIED from the registry, got %v", err)
	}
}

// getToken asks h's token service with a GET, as org with secret unless
// org is "", and decodes the JSON answer.
func getToken(t *testing.T, h *Hub, query url.Values, org, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://auth.docker.io/token?"+query.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if org != "" {
		req.SetBasicAuth(org, secret)
	}
	return do(t, h, req)
}

// postToken asks h's token service with the OAuth2 form.
func postToken(t *testing.T, h *Hub, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "https://auth.docker.io/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, h, req)
}

// do sends req through h's transport and decodes a JSON answer.
func do(t *testing.T, h *Hub, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Transport: h.Transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// last is the last request h logged.
func last(h *Hub) Request {
	r := h.Requests()
	return r[len(r)-1]
}

func TestTokenServiceGrantsTheIntersection(t *testing.T) {
	h := startHub(t, Options{Public: []string{"acme/open"}})
	asked := []string{
		"repository:acme/app:pull,push,delete",
		"repository:acme/base:push,pull",
		"repository:acme/base:*",
		"repository:other/x:pull",
		"repository:library/alpine:pull,push",
		"repository:acme/open:pull",
		"registry:catalog:*",
		"repository:-not-valid:pull",
		"garbage",
	}
	status, body := getToken(t, h, url.Values{"service": {hub.Service}, "scope": asked}, "acme", pushSecret)
	if status != http.StatusOK || body["token"] == "" || body["token"] != body["access_token"] || body["expires_in"] != 300.0 {
		t.Fatalf("status %d, body keys %v", status, keys(body))
	}
	want := []string{"repository:acme/app:pull,push", "repository:acme/base:pull", "repository:acme/open:pull"}
	if diff := cmp.Diff(want, last(h).Granted); diff != "" {
		t.Errorf("granted (-want +got):\n%s", diff)
	}
	r := last(h)
	if r.Principal != "acme" || r.Label != "release" || r.Status != http.StatusOK || !cmp.Equal(r.Asked, asked) ||
		r.SecretHash != SecretHash(pushSecret) || len(r.SecretHash) != 12 || SecretHash(pushSecret) == SecretHash(pullSecret) {
		t.Errorf("log entry %+v", r)
	}

	// A token that may read public repositories, and anonymous requests.
	getToken(t, h, url.Values{"scope": asked}, "acme", publicSecret)
	if diff := cmp.Diff([]string{"repository:library/alpine:pull", "repository:acme/open:pull"}, last(h).Granted); diff != "" {
		t.Errorf("public-read token (-want +got):\n%s", diff)
	}
	getToken(t, h, url.Values{"scope": asked}, "", "")
	if r := last(h); r.Principal != "" || r.SecretHash != "" || !cmp.Equal(r.Granted, []string{"repository:library/alpine:pull", "repository:acme/open:pull"}) {
		t.Errorf("anonymous: %+v", r)
	}
}

func TestLoginAsksNoScope(t *testing.T) {
	h := startHub(t, Options{})
	// What docker login asks: no scope, offline_token, which Docker Hub
	// ignores.
	q := url.Values{"service": {hub.Service}, "offline_token": {"true"}, "client_id": {"docker"}}
	status, body := getToken(t, h, q, "acme", pullSecret)
	if status != http.StatusOK || body["token"] == nil || body["refresh_token"] != nil {
		t.Fatalf("login: %d, keys %v", status, keys(body))
	}
	if g := last(h).Granted; len(g) != 0 {
		t.Errorf("scope-less request granted %v", g)
	}
}

func TestTokenServiceRefusals(t *testing.T) {
	h := startHub(t, Options{})
	h.AddToken(Token{Org: "acme", Label: "off", Secret: "dckr_oat_inactive", Pull: []string{"acme/*"}, Inactive: true})
	for _, tt := range []struct{ name, org, secret string }{
		{"wrong secret", "acme", wrongSecret},
		{"right secret, other org", "other", pushSecret},
		{"expired", "acme", expiredSecret},
		{"inactive", "acme", "dckr_oat_inactive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := getToken(t, h, url.Values{"scope": {"repository:acme/app:pull"}}, tt.org, tt.secret)
			if status != http.StatusUnauthorized || body["details"] != "incorrect username or password" {
				t.Errorf("got %d %v, want 401 incorrect username or password", status, body)
			}
			if r := last(h); r.Status != http.StatusUnauthorized || r.Principal != "" || len(r.Granted) != 0 || r.SecretHash != SecretHash(tt.secret) {
				t.Errorf("log entry %+v", r)
			}
		})
	}
}

func TestTokenServiceForms(t *testing.T) {
	h := startHub(t, Options{})
	form := url.Values{"grant_type": {"password"}, "username": {"acme"}, "password": {pushSecret},
		"scope": {"repository:acme/app:pull,push repository:acme/base:pull"}, "service": {hub.Service}, "client_id": {"ctr"}}
	status, body := postToken(t, h, form)
	refresh, _ := body["refresh_token"].(string)
	if status != http.StatusOK || body["access_token"] == "" || refresh == "" {
		t.Fatalf("password grant: %d, keys %v", status, keys(body))
	}
	if diff := cmp.Diff([]string{"repository:acme/app:pull,push", "repository:acme/base:pull"}, last(h).Granted); diff != "" {
		t.Errorf("password grant (-want +got):\n%s", diff)
	}

	form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"repository:acme/base:push,pull"}, "service": {hub.Service}}
	if status, _ := postToken(t, h, form); status != http.StatusOK {
		t.Fatalf("refresh grant: %d", status)
	}
	if r := last(h); r.Label != "release" || !cmp.Equal(r.Granted, []string{"repository:acme/base:pull"}) {
		t.Errorf("refresh grant: %+v", r)
	}

	form.Set("refresh_token", "made-up")
	if status, _ := postToken(t, h, form); status != http.StatusUnauthorized {
		t.Errorf("unknown refresh token: %d, want 401", status)
	}
	form = url.Values{"grant_type": {"password"}, "username": {"acme"}, "password": {expiredSecret}}
	if status, _ := postToken(t, h, form); status != http.StatusUnauthorized {
		t.Errorf("password grant with an expired token: %d, want 401", status)
	}
	if status, _ := postToken(t, h, url.Values{"grant_type": {"client_credentials"}}); status != http.StatusBadRequest {
		t.Errorf("unsupported grant: %d, want 400", status)
	}
}

func TestOrgAPI(t *testing.T) {
	h := startHub(t, Options{})
	for _, tt := range []struct {
		path, secret string
		want         int
	}{
		{"/v2/orgs/acme/members", pushSecret, http.StatusOK},
		{"/v2/orgs/acme/members", pullSecret, http.StatusForbidden},
		{"/v2/orgs/acme/groups", pushSecret, http.StatusForbidden},
		{"/v2/orgs/acme/members", wrongSecret, http.StatusUnauthorized},
		{"/v2/orgs/acme/nothing", pushSecret, http.StatusNotFound},
	} {
		req, _ := http.NewRequest(http.MethodGet, "https://hub.docker.com"+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+tt.secret)
		if status, _ := do(t, h, req); status != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.path, status, tt.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "https://hub.docker.com/v2/orgs/acme/members", nil)
	req.SetBasicAuth("acme", pushSecret)
	if status, _ := do(t, h, req); status != http.StatusOK {
		t.Errorf("Basic auth: %d, want 200", status)
	}
	// the logins, and their JWTs on later routes
	for _, tt := range []struct{ path, body, field string }{
		{"/v2/auth/token", `{"identifier":"acme","secret":"` + pushSecret + `"}`, "access_token"},
		{"/v2/users/login/", `{"Username":"acme","password":"` + pushSecret + `"}`, "token"},
	} {
		req, _ := http.NewRequest(http.MethodPost, "https://hub.docker.com"+tt.path, strings.NewReader(tt.body))
		status, out := do(t, h, req)
		jwt, _ := out[tt.field].(string)
		if status != http.StatusOK || jwt == "" || last(h).Label != "release" {
			t.Fatalf("POST %s: %d %v", tt.path, status, keys(out))
		}
		for _, route := range []struct {
			method, path string
			want         int
			need         string
		}{
			{"GET", "/v2/orgs/acme/members/", http.StatusOK, "org:acme:member-read"},
			{"POST", "/v2/invites/bulk", http.StatusForbidden, "org:acme:invite-edit"},
			{"DELETE", "/v2/invites/42", http.StatusForbidden, "org:acme:invite-edit"},
			{"GET", "/v2/orgs/acme/access-tokens", http.StatusForbidden, "org:acme:access-token-read"},
			{"GET", "/v2/repositories/acme", http.StatusNotFound, "unknown:GET /v2/repositories/acme"},
		} {
			req, _ := http.NewRequest(route.method, "https://hub.docker.com"+route.path, nil)
			req.Header.Set("Authorization", "JWT "+jwt)
			status, _ := do(t, h, req)
			if r := last(h); status != route.want || r.Label != "release" || !cmp.Equal(r.Needs, []string{route.need}) {
				t.Errorf("%s %s with the login's JWT: %d %+v", route.method, route.path, status, r)
			}
		}
	}
	req, _ = http.NewRequest(http.MethodPost, "https://hub.docker.com/v2/auth/token", strings.NewReader(`{"identifier":"acme","secret":"`+wrongSecret+`"}`))
	if status, _ := do(t, h, req); status != http.StatusUnauthorized {
		t.Errorf("login with a wrong secret: %d", status)
	}
}

// syncBuffer is a buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNoSecretInLogs(t *testing.T) {
	ctx := context.Background()
	h, err := Start(ctx, Options{Debug: true, Tokens: testTokens})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	logs := &syncBuffer{}
	logrus.SetOutput(logs)
	defer setLogging(false)
	if _, err := h.Seed(ctx, "acme/app", "1.0"); err != nil {
		t.Fatal(err)
	}

	if _, err := remote.Image(ref(t, "acme/app", "1.0"), clientOpts(h, pushSecret)...); err != nil {
		t.Fatal(err)
	}
	_, _ = remote.Image(ref(t, "acme/app", "1.0"), clientOpts(h, wrongSecret)...)
	_, body := getToken(t, h, url.Values{"scope": {"repository:acme/app:pull"}}, "acme", pullSecret)
	jwt, _ := body["token"].(string)

	if !strings.Contains(logs.String(), "acme/app") {
		t.Errorf("the debug log shows no registry request:\n%s", logs)
	}
	all := fmt.Sprintf("%+v", h.Requests()) + logs.String()
	for _, s := range []string{pushSecret, pullSecret, wrongSecret, h.seed.Secret, jwt, "eyJ"} {
		if s == "" || strings.Contains(all, s) {
			t.Errorf("the logs hold %q", s)
		}
	}
}

func TestRegistryRequestsNameTheirToken(t *testing.T) {
	h := startHub(t, Options{})
	since := len(h.Requests())
	if _, err := remote.Image(ref(t, "acme/app", "1.0"), clientOpts(h, pushSecret)...); err != nil {
		t.Fatal(err)
	}
	var sawRegistry, sawToken bool
	for _, r := range h.Requests()[since:] {
		if r.Host == hub.RegistryHost && strings.HasPrefix(r.Path, "/v2/acme/app/manifests/") && r.Status == http.StatusOK {
			sawRegistry = r.Principal == "acme" && r.Label == "release"
		}
		sawToken = sawToken || (r.Host == hub.AuthHost && r.Principal == "acme" && r.Label == "release")
	}
	if !sawRegistry || !sawToken {
		t.Errorf("the log lacks the registry (%v) or token (%v) requests: %+v", sawRegistry, sawToken, h.Requests()[since:])
	}
}

func TestLocationsKeepTheRequestHost(t *testing.T) {
	h := startHub(t, Options{})
	_, body := getToken(t, h, url.Values{"scope": {"repository:acme/app:pull,push"}}, "acme", pushSecret)
	jwt, _ := body["token"].(string)
	_, port, _ := net.SplitHostPort(h.Addr())
	for _, tt := range []struct{ url, host, want string }{
		{"https://registry-1.docker.io/v2/acme/app/blobs/uploads/", "", "https://registry-1.docker.io/v2/acme/app/blobs/uploads/"},
		{"https://" + h.Addr() + "/v2/acme/app/blobs/uploads/", "localhost:" + port, "https://localhost:" + port + "/v2/acme/app/blobs/uploads/"},
	} {
		req, _ := http.NewRequest(http.MethodPost, tt.url, nil)
		if tt.host != "" {
			req.Host = tt.host
		}
		req.Header.Set("Authorization", "Bearer "+jwt)
		resp, err := (&http.Client{Transport: h.Transport()}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, tt.want) {
			t.Errorf("POST %s (Host %q): %d, Location %q, want %s…", tt.url, tt.host, resp.StatusCode, loc, tt.want)
		}
	}
}

func TestRouting(t *testing.T) {
	h := startHub(t, Options{})
	req, _ := http.NewRequest(http.MethodGet, "https://"+h.Addr()+"/v2/", nil)
	req.Host = "example.com"
	if status, _ := do(t, h, req); status != http.StatusMisdirectedRequest {
		t.Errorf("unknown host: %d, want 421", status)
	}
	resp, err := (&http.Client{Transport: h.Transport()}).Get("https://index.docker.io/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("Www-Authenticate"), `realm="`+hub.Realm+`",service="`+hub.Service+`"`) {
		t.Errorf("registry challenge: %d %q", resp.StatusCode, resp.Header.Get("Www-Authenticate"))
	}
	if _, err := (&http.Client{Transport: h.Transport()}).Get("https://example.com/"); err == nil || !strings.Contains(err.Error(), "does not reach") {
		t.Errorf("the transport reached example.com: %v", err)
	}
	// A client that does not trust the hub's CA is refused at the handshake.
	_, err = http.Get("https://" + h.Addr() + "/v2/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("a client without the CA: %v, want an unknown-authority error", err)
	}
}

func TestSeedAndStorageDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h, err := Start(ctx, Options{StorageDir: dir, Tokens: testTokens})
	if err != nil {
		t.Fatal(err)
	}
	digest, err := h.Seed(ctx, "acme/app", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Another hub on the same storage serves what the first was seeded with.
	h2 := startHub(t, Options{StorageDir: dir})
	desc, err := remote.Head(ref(t, "acme/app", "v1"), clientOpts(h2, pullSecret)...)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != digest {
		t.Errorf("digest %s, Seed said %s", desc.Digest, digest)
	}
}

func TestCertFile(t *testing.T) {
	h := startHub(t, Options{})
	path, err := h.CertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(b, h.CACertPEM()) {
		t.Fatalf("cert file: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) || !pool.Equal(h.CAPool()) {
		t.Error("the cert file is not the CA of CAPool")
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
