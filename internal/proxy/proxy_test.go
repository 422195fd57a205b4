package proxy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
)

const (
	pullSecret = "dckr_oat_ProxyPullOnly000000000001"
	pushSecret = "dckr_oat_ProxyPush00000000000000002"
	unknSecret = "dckr_oat_ProxyUnknown000000000003"
)

type staticTokens []oat.Token

func (s staticTokens) Tokens() ([]oat.Token, error) { return s, nil }

func mustScopes(t *testing.T, pull, push []string) oat.Scopes {
	t.Helper()
	s, err := oat.NewScopes(pull, push, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lockedBuffer is an audit log the test can read while the proxy writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	hub    *hubtest.Hub
	ca     *CA
	proxy  *httptest.Server
	audit  *lockedBuffer
	p      *Proxy
	client *http.Transport // through the proxy, trusting its CA
	cfg    Config          // the proxy's, for replicas
	pool   *x509.CertPool  // what clients trust
}

// replica starts another proxy with the fixture's configuration (its own
// audit log), in front of the same hub, and returns a client through it.
func (f *fixture) replica(t *testing.T) (*http.Transport, *lockedBuffer) {
	t.Helper()
	cfg := f.cfg
	audit := &lockedBuffer{}
	cfg.Audit = audit
	p := New(cfg)
	srv := httptest.NewUnstartedServer(p)
	srv.Config = p.Server()
	srv.Listener = p.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	proxyURL, _ := url.Parse(srv.URL)
	return &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: f.pool}}, audit
}

func setup(t *testing.T, deny bool) *fixture {
	t.Helper()
	return setupCDN(t, deny, "")
}

// setupCDN is setup with a hub that redirects blob downloads to cdnHost
// (hubpkg.CloudflareBlobHost if empty).
func setupCDN(t *testing.T, deny bool, cdnHost string) *fixture {
	t.Helper()
	return setupWith(t, options{deny: deny, cdnHost: cdnHost,
		hub: []hubtest.Token{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}},
			{Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}, Push: []string{"acme/*"}},
			{Org: "acme", Label: "login", Secret: unknSecret, Pull: []string{"acme/*"}, Push: []string{"acme/*"}},
		},
		records: staticTokens{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/*"}, nil)},
			{Org: "acme", Label: "release", Secret: pushSecret, Active: true, Scopes: mustScopes(t, nil, []string{"acme/app"})},
			{Org: "acme", Label: "login", Secret: unknSecret, Active: true, Scopes: oat.UnknownScopes()},
		}})
}

// options configure a fixture: the tokens the stand-in hub accepts (with
// the scopes the Hub gives them), the proxy's records of them, limits.
type options struct {
	deny     bool
	hub      []hubtest.Token
	records  TokenSource
	limits   Limits
	upstream map[string]string // overrides, host → address
	audit    io.Writer
	inject   bool
	cdnHost  string              // the hub's CDN host (hubpkg.CloudflareBlobHost if empty)
	public   []string            // the hub's public repositories besides library/*
	metrics  Recorder            // nil: none
	roots    []*x509.Certificate // trusted upstream, besides the hub's CA
}

func setupWith(t *testing.T, o options) *fixture {
	t.Helper()
	ctx := context.Background()
	hub, err := hubtest.Start(ctx, hubtest.Options{Tokens: o.hub, CDNHost: o.cdnHost, Public: o.public})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	if _, err := hub.Seed(ctx, "acme/app", "1.0"); err != nil {
		t.Fatal(err)
	}
	ca, created, err := LoadOrCreateCA(filepath.Join(t.TempDir(), "cfg"))
	if err != nil || !created {
		t.Fatalf("CA: %v %v", created, err)
	}
	up := map[string]string{}
	for _, h := range hubpkg.APIHosts {
		up[h] = hub.Addr()
	}
	cdn := o.cdnHost
	if cdn == "" {
		cdn = hubpkg.CloudflareBlobHost
	}
	up[cdn] = hub.Addr()
	maps.Copy(up, o.upstream)
	audit := &lockedBuffer{}
	var w io.Writer = audit
	if o.audit != nil {
		w = o.audit
	}
	roots := hub.CAPool()
	for _, c := range o.roots {
		roots.AddCert(c)
	}
	cfg := Config{Tokens: o.records, CA: ca, Upstream: up, RootCAs: roots, DenyOtherHosts: o.deny, Limits: o.limits, Audit: w, Inject: o.inject, Metrics: o.metrics}
	p := New(cfg)
	srv := httptest.NewUnstartedServer(p)
	srv.Config = p.Server()
	srv.Listener = p.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)
	// The client trusts the proxy's CA for the intercepted hosts and the
	// hub's for its CDN host, which is tunnelled.
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	pool.AppendCertsFromPEM(hub.CACertPEM())
	proxyURL, _ := url.Parse(srv.URL)
	return &fixture{hub: hub, ca: ca, proxy: srv, audit: audit, p: p, cfg: cfg, pool: pool,
		client: &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func (f *fixture) opts(secret string) []remote.Option {
	return []remote.Option{remote.WithTransport(f.client), remote.WithAuth(&authn.Basic{Username: "acme", Password: secret})}
}

func ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// reached reports whether the hub saw, after its first since requests, a
// token request asking action on repo, or a push request on repo.
func reached(hub *hubtest.Hub, since int, repo, action string) bool {
	for _, r := range hub.Requests()[since:] {
		if strings.HasPrefix(r.Path, "/v2/"+repo+"/") && action == "push" && r.Method != http.MethodGet && r.Method != http.MethodHead {
			return true
		}
		for _, s := range r.Asked {
			if strings.HasPrefix(s, "repository:"+repo+":") && strings.Contains(s, action) {
				return true
			}
		}
	}
	return false
}

func TestPullAllowedPushRefused(t *testing.T) {
	f := setup(t, false)
	if _, err := remote.Image(ref(t, "registry-1.docker.io/acme/app:1.0"), f.opts(pullSecret)...); err != nil {
		t.Fatalf("pull with the pull token: %v", err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.hub.Requests())
	err = remote.Write(ref(t, "registry-1.docker.io/acme/app:2.0"), img, f.opts(pullSecret)...)
	want := `token "ci-pull" (acme) may not push to acme/app: it has pull only. Use a token with Image Push on acme/app`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("push with the pull token: %v\nwant %q", err, want)
	}
	if reached(f.hub, before, "acme/app", "push") {
		t.Errorf("the hub saw a push request for acme/app: %+v", f.hub.Requests())
	}
	// The release token may push to acme/app, not to acme/base.
	if err := remote.Write(ref(t, "registry-1.docker.io/acme/app:2.0"), img, f.opts(pushSecret)...); err != nil {
		t.Fatalf("push with the release token: %v", err)
	}
	before = len(f.hub.Requests())
	err = remote.Write(ref(t, "registry-1.docker.io/acme/base:2.0"), img, f.opts(pushSecret)...)
	if err == nil || !strings.Contains(err.Error(), `token "release" (acme) may not push to acme/base: it has no access to it`) {
		t.Fatalf("push outside the release token: %v", err)
	}
	if reached(f.hub, before, "acme/base", "push") {
		t.Errorf("the hub saw a push request for acme/base")
	}
	// Unknown scopes pass: the hub decides.
	if err := remote.Write(ref(t, "registry-1.docker.io/acme/other:1"), img, f.opts(unknSecret)...); err != nil {
		t.Fatalf("push with a token of unknown scopes: %v", err)
	}

	log := f.audit.String()
	for _, s := range []string{pullSecret, pushSecret, unknSecret, "Basic ", "Bearer ", "eyJ"} {
		if strings.Contains(log, s) {
			t.Errorf("the audit log holds %q", s)
		}
	}
	var denied int
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var e auditEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.Decision == policy.Denied {
			denied++
			if e.Label == "" || e.Repo == "" || e.Action != "push" || e.Upstream != 0 {
				t.Errorf("denied entry %+v", e)
			}
		}
	}
	if denied != 2 {
		t.Errorf("%d denied entries, want 2:\n%s", denied, log)
	}
}

// bearerThrough is a bearer token for scope, asked of the token service
// through the proxy as acme with secret.
func bearerThrough(t *testing.T, f *fixture, secret, scope string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope="+url.QueryEscape(scope), nil)
	req.SetBasicAuth("acme", secret)
	resp, err := (&http.Client{Transport: f.client}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	if tr.Token == "" {
		t.Fatalf("no token for %s: %s", scope, resp.Status)
	}
	return tr.Token
}

// A client that reuses a bearer token the proxy saw issued is checked on
// the registry request too.
func TestBearerReuseIsChecked(t *testing.T) {
	f := setup(t, false)
	c := &http.Client{Transport: f.client}
	up, _ := http.NewRequest("POST", "https://registry-1.docker.io/v2/acme/app/blobs/uploads/", nil)
	up.Header.Set("Authorization", "Bearer "+bearerThrough(t, f, pullSecret, "repository:acme/app:pull"))
	resp, err := c.Do(up)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"code":"DENIED"`) || !strings.Contains(string(body), "may not push") {
		t.Errorf("upload with a pull-only bearer: %s %s", resp.Status, body)
	}
}

func TestRequestShapes(t *testing.T) {
	f := setup(t, true)
	c := &http.Client{Transport: f.client}
	// a malformed registry path: a registry error, not a crash
	resp, err := c.Get("https://registry-1.docker.io/v2/Acme/App/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "NAME_INVALID") {
		t.Errorf("bad path: %s %s", resp.Status, body)
	}
	// plain HTTP to a Hub host
	resp, err = c.Get("http://registry-1.docker.io/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("plain HTTP: %s", resp.Status)
	}
	// another host under --deny-other-hosts
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "other") }))
	defer other.Close()
	_, err = (&http.Client{Transport: &http.Transport{Proxy: f.client.Proxy, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}).Get(other.URL)
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CONNECT to another host with --deny-other-hosts: %v", err)
	}
}

func TestOtherHostsAreTunnelled(t *testing.T) {
	f := setup(t, false)
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "untouched") }))
	defer other.Close()
	pool := x509.NewCertPool()
	pool.AddCert(other.Certificate())
	c := &http.Client{Transport: &http.Transport{Proxy: f.client.Proxy, TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(other.URL)
	if err != nil {
		t.Fatalf("tunnel: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "untouched" {
		t.Errorf("tunnelled body %q", body)
	}
}

func TestCANameConstraints(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cfg")
	ca, _, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, CAKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	leaf, err := ca.Leaf("registry-1.docker.io")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: "registry-1.docker.io", Roots: pool}); err != nil {
		t.Errorf("intercepted host: %v", err)
	}
	again, _ := ca.Leaf("registry-1.docker.io")
	if again != leaf {
		t.Error("leaf not cached")
	}
	// A leaf for another site, signed with the CA's key, fails verification.
	for _, host := range []string{"example.com", "docker.io", "evil.registry-1.docker.io.example.com"} {
		cert := signAny(t, ca, host)
		_, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pool})
		if _, ok := err.(x509.CertificateInvalidError); !ok {
			t.Errorf("a leaf for %s verified: %v", host, err)
		}
	}
	// Reloading gives the same CA; a key readable by others is refused.
	ca2, created, err := LoadOrCreateCA(dir)
	if err != nil || created || !ca2.Cert.Equal(ca.Cert) {
		t.Errorf("reload: %v %v", created, err)
	}
	if err := os.Chmod(filepath.Join(dir, CAKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("open key: %v", err)
	}
}

// signAny issues a certificate for any name with the CA's key, as a thief
// of the key would.
func signAny(t *testing.T, ca *CA, host string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
