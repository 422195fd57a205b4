package proxy

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/registry/api/errcode"
	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
)

// The User-Agents of the clients, as they send them.
const (
	agentSkopeo     = "containers/5.24.2 (github.com/containers/image)"
	agentContainerd = "containerd/1.6.20~ds1"
	agentCrane      = "crane/v0.20.2 go-containerregistry/v0.20.2"
)

const readerSecret = "dckr_oat_ProxyPublicReader00000004"

// narrowing is a hub where ci-pull may pull acme/app only, and reader may
// pull acme/app and read public repositories; other/public is public,
// other/private is not.
func narrowing(t *testing.T) *fixture {
	t.Helper()
	pub, err := oat.NewScopes([]string{"acme/app"}, nil, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := setupWith(t, options{
		public: []string{"other/public"},
		hub: []hubtest.Token{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/app"}},
			{Org: "acme", Label: "reader", Secret: readerSecret, Pull: []string{"acme/app"}, PublicRead: true},
		},
		records: staticTokens{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/app"}, nil)},
			{Org: "acme", Label: "reader", Secret: readerSecret, Active: true, Scopes: pub},
		}})
	for _, repo := range []string{"acme/base", "other/public", "other/private"} {
		if _, err := f.hub.Seed(t.Context(), repo, "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// tokenFor asks the token service through the proxy for scope as agent
// with secret; it returns the status, the bearer token and the body.
func (f *fixture) tokenFor(t *testing.T, agent, secret, scope string) (int, string, string) {
	t.Helper()
	status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?service=registry.docker.io&scope=" + scope,
		header: map[string]string{"Authorization": basic(secret), "User-Agent": agent}})
	var tr struct{ Token string }
	_ = json.Unmarshal([]byte(body), &tr)
	return status, tr.Token, body
}

// asked are the scopes the hub was asked for after its first since
// requests.
func asked(hub *hubtest.Hub, since int) []string {
	var out []string
	for _, r := range hub.Requests()[since:] {
		out = append(out, r.Asked...)
	}
	return out
}

// A push outside the token: crane is refused on the token request;
// skopeo's token request goes on asking for pull only, and its first
// upload is refused with the sentence. The hub is asked for no push.
func TestNarrowedPush(t *testing.T) {
	f := narrowing(t)
	const scope = "repository:acme/app:pull,push"
	const sentence = `token \"ci-pull\" (acme) may not push to acme/app: it has pull only`

	since := len(f.hub.Requests())
	if status, _, body := f.tokenFor(t, agentCrane, pullSecret, scope); status != http.StatusForbidden || !strings.Contains(body, sentence) {
		t.Errorf("crane's token request: %d %s", status, body)
	}
	if got := asked(f.hub, since); len(got) != 0 {
		t.Errorf("crane's refused token request reached the hub: %v", got)
	}

	since = len(f.hub.Requests())
	status, bearer, body := f.tokenFor(t, agentSkopeo, pullSecret, scope)
	if status != http.StatusOK || bearer == "" {
		t.Fatalf("skopeo's token request: %d %s", status, body)
	}
	if got := asked(f.hub, since); !slices.Equal(got, []string{"repository:acme/app:pull"}) {
		t.Errorf("the hub was asked %v, want pull on acme/app only", got)
	}
	var narrowed auditEntry
	for _, e := range auditLines(t, f) {
		if e.Decision == policy.Narrowed {
			narrowed = e
		}
	}
	if narrowed.Label != "ci-pull" || narrowed.Repo != "acme/app" || narrowed.Action != "push" || narrowed.Upstream != http.StatusOK ||
		!strings.Contains(narrowed.Reason, "asked the Hub for repository:acme/app:pull only") {
		t.Errorf("the narrowed token request's audit line: %+v", narrowed)
	}
	auth := map[string]string{"Authorization": "Bearer " + bearer, "User-Agent": agentSkopeo}
	// The bearer pulls what it was issued for.
	if status, body, _ := f.send(t, hostile{method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0", header: auth}); status != http.StatusOK {
		t.Errorf("GET manifest with the narrowed bearer: %d %s", status, body)
	}
	since = len(f.hub.Requests())
	status, body, _ = f.send(t, hostile{method: "POST", url: "https://registry-1.docker.io/v2/acme/app/blobs/uploads/", header: auth})
	if status != http.StatusForbidden || !strings.Contains(body, `"code":"DENIED"`) || !strings.Contains(body, sentence) {
		t.Errorf("skopeo's upload: %d %s", status, body)
	}
	if reached(f.hub, since, "acme/app", "push") {
		t.Errorf("the upload reached the hub")
	}
}

// containerd is refused on the token request, the sentence in the status
// line, which is all it prints.
func TestContainerdRefusedOnTheTokenRequest(t *testing.T) {
	f := narrowing(t)
	since := len(f.hub.Requests())
	req, _ := http.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/base:pull", nil)
	req.Header.Set("Authorization", basic(pullSecret))
	req.Header.Set("User-Agent", agentContainerd)
	resp, err := (&http.Client{Transport: f.client}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `403 token "ci-pull" (acme) may not pull acme/base: it has no access to it.`
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Status, want) || !strings.Contains(string(body), `"code":"DENIED"`) {
		t.Errorf("containerd's token request: %q %s", resp.Status, body)
	}
	if len(f.hub.Requests()) != since {
		t.Errorf("the token request reached the hub: %+v", f.hub.Requests()[since:])
	}
}

// A bearer token issued narrowed, sent for a repository its token may pull
// but that it was not issued for, gets the Hub's challenge, as the Hub
// would answer it: the client asks for a new one.
func TestNarrowedBearerElsewhereIsChallenged(t *testing.T) {
	f := narrowing(t)
	_, bearer, _ := f.tokenFor(t, agentSkopeo, pullSecret, "repository:acme/base:pull")
	since := len(f.hub.Requests())
	status, _, h := f.send(t, hostile{method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0",
		header: map[string]string{"Authorization": "Bearer " + bearer, "User-Agent": agentSkopeo}})
	if status != http.StatusUnauthorized || !strings.Contains(h.Get("Www-Authenticate"), `scope="repository:acme/app:pull"`) {
		t.Errorf("a bearer issued for nothing, on acme/app: %d %q", status, h.Get("Www-Authenticate"))
	}
	if len(f.hub.Requests()) != since {
		t.Errorf("the GET reached the hub: %+v", f.hub.Requests()[since:])
	}
}

// A public-read token pulling outside its list: the Hub's grant says
// whether the repository is public. Crane gets the sentence on the token
// request, skopeo on its first registry request; a public repository
// pulls.
func TestPublicReadGrant(t *testing.T) {
	f := narrowing(t)
	const sentence = `token \"reader\" (acme) may not pull other/private: the repository is private or does not exist`

	status, _, body := f.tokenFor(t, agentCrane, readerSecret, "repository:other/private:pull")
	if status != http.StatusForbidden || !strings.Contains(body, sentence) || !strings.Contains(body, `"code":"DENIED"`) {
		t.Errorf("crane's token request for a private repository: %d %s", status, body)
	}
	var denied auditEntry
	for _, e := range auditLines(t, f) {
		if e.Decision == policy.Denied {
			denied = e
		}
	}
	if denied.Label != "reader" || denied.Repo != "other/private" || denied.Action != "pull" || denied.Upstream != http.StatusOK {
		t.Errorf("the refusal's audit line: %+v", denied)
	}

	for _, agent := range []string{agentCrane, agentSkopeo} {
		status, bearer, body := f.tokenFor(t, agent, readerSecret, "repository:other/public:pull")
		if status != http.StatusOK {
			t.Fatalf("%s: token for a public repository: %d %s", agent, status, body)
		}
		if status, body, _ := f.send(t, hostile{method: "GET", url: "https://registry-1.docker.io/v2/other/public/manifests/1.0",
			header: map[string]string{"Authorization": "Bearer " + bearer, "User-Agent": agent}}); status != http.StatusOK {
			t.Errorf("%s: GET a public manifest: %d %s", agent, status, body)
		}
	}

	status, bearer, body := f.tokenFor(t, agentSkopeo, readerSecret, "repository:other/private:pull")
	if status != http.StatusOK {
		t.Fatalf("skopeo's token request for a private repository: %d %s", status, body)
	}
	since := len(f.hub.Requests())
	status, body, _ = f.send(t, hostile{method: "GET", url: "https://registry-1.docker.io/v2/other/private/manifests/1.0",
		header: map[string]string{"Authorization": "Bearer " + bearer, "User-Agent": agentSkopeo}})
	if status != http.StatusForbidden || !strings.Contains(body, sentence) {
		t.Errorf("skopeo's GET of a private manifest: %d %s", status, body)
	}
	if len(f.hub.Requests()) != since {
		t.Errorf("the GET reached the hub: %+v", f.hub.Requests()[since:])
	}
}

// A write refused for containerd, with a bearer token from before the
// token lost push: the sentence comes as the status line's reason phrase.
func TestRefusedWriteForContainerd(t *testing.T) {
	f := narrowing(t)
	_, bearer, _ := f.tokenFor(t, agentContainerd, pullSecret, "repository:acme/app:pull")
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"schemaVersion":2}`))
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", "https://registry-1.docker.io/v2/acme/app/manifests/x", pr)
	req.ContentLength = 19
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("User-Agent", agentContainerd)
	req.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	since := len(f.hub.Requests())
	resp, err := (&http.Client{Transport: f.client}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `403 token "ci-pull" (acme) may not push to acme/app: it has pull only.`
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Status, want) || !strings.Contains(string(body), `"code":"DENIED"`) {
		t.Errorf("containerd's PUT: %q %s", resp.Status, body)
	}
	if reached(f.hub, since, "acme/app", "push") {
		t.Errorf("the PUT reached the hub")
	}
}

// Injection for containers/image: no token covers the request, so the
// closest is attached and the request narrowed to its scopes; crane is
// refused on the token request, naming the closest tokens.
func TestInjectionNarrowedForContainersImage(t *testing.T) {
	f := injecting(t)
	for _, method := range []string{"GET", "POST"} {
		h := hostile{method: method, url: "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/base:pull,push",
			header: map[string]string{"User-Agent": agentCrane}}
		if method == "POST" {
			h.url = "https://auth.docker.io/token"
			h.header["Content-Type"] = "application/x-www-form-urlencoded"
			h.body = "grant_type=password&service=registry.docker.io&client_id=skopeo&scope=repository%3Aacme%2Fbase%3Apull%2Cpush"
		}
		since := len(f.hub.Requests())
		if status, body, _ := f.send(t, h); status != http.StatusForbidden || !strings.Contains(body, "oat-proxy holds no usable token that may repository:acme/base:pull,push") {
			t.Errorf("%s: crane's token request: %d %s", method, status, body)
		}
		if got := asked(f.hub, since); len(got) != 0 {
			t.Errorf("%s: crane's refused token request reached the hub: %v", method, got)
		}

		h.header["User-Agent"] = agentSkopeo
		since = len(f.hub.Requests())
		status, body, _ := f.send(t, h)
		var tr struct {
			Token       string `json:"token"`
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal([]byte(body), &tr)
		bearer := cmp.Or(tr.Token, tr.AccessToken)
		if status != http.StatusOK || bearer == "" {
			t.Fatalf("%s: skopeo's token request: %d %s", method, status, body)
		}
		if got, labels := asked(f.hub, since), labelsUsed(f.hub, since); !slices.Equal(got, []string{"repository:acme/base:pull"}) || !slices.Equal(labels, []string{"ci-pull"}) {
			t.Errorf("%s: the hub was asked %v by %v, want pull on acme/base by ci-pull", method, got, labels)
		}
		since = len(f.hub.Requests())
		status, body, _ = f.send(t, hostile{method: "POST", url: "https://registry-1.docker.io/v2/acme/base/blobs/uploads/",
			header: map[string]string{"Authorization": "Bearer " + bearer, "User-Agent": agentSkopeo}})
		if status != http.StatusForbidden || !strings.Contains(body, `token \"ci-pull\" (acme) may not push to acme/base: it has pull only`) {
			t.Errorf("%s: skopeo's upload: %d %s", method, status, body)
		}
		if reached(f.hub, since, "acme/base", "push") {
			t.Errorf("%s: the upload reached the hub", method)
		}
	}
	var narrowed int
	for _, e := range auditLines(t, f) {
		if e.Decision == policy.Narrowed && strings.HasPrefix(e.Reason, "injected the token closest to covering it") && e.Label == "ci-pull" {
			narrowed++
		}
	}
	if narrowed != 2 {
		t.Errorf("%d narrowed injections in the audit log, want 2", narrowed)
	}
}

// The reason phrase carries no control character: a label or repository
// cannot add a header line.
func TestReasonPhraseIsOneLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		(&reply{status: http.StatusForbidden, err: errcode.ErrorCodeDenied.WithMessage("token \"a\r\nX-Injected: 1\" may not\x00 pull"), phrase: true}).write(w)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Injected") != "" || resp.Status != `403 token "a  X-Injected: 1" may not  pull` {
		t.Errorf("status %q, header %v", resp.Status, resp.Header)
	}
	if !strings.Contains(string(body), `"code":"DENIED"`) || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("body %s, header %v", body, resp.Header)
	}
}
