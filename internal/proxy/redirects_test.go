package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/policy"
)

// pullLayers pulls acme/app:1.0 through the proxy, layers included.
func pullLayers(t *testing.T, f *fixture, secret string) string {
	t.Helper()
	img, err := remote.Image(ref(t, "registry-1.docker.io/acme/app:1.0"), f.opts(secret)...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatalf("layer: %v", err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("layer: %v", err)
		}
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// connect sends a CONNECT for hostport to the proxy from the local address
// from (any if empty) and returns the status code.
func connect(t *testing.T, f *fixture, from, hostport string) int {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", strings.TrimPrefix(f.proxy.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", hostport, hostport)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatalf("CONNECT %s: %v", hostport, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// auditLines are the audit log's entries.
func auditLines(t *testing.T, f *fixture) []auditEntry {
	t.Helper()
	var out []auditEntry
	for _, l := range strings.Split(strings.TrimSpace(f.audit.String()), "\n") {
		var e auditEntry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// tunnelReason is the reason of the audit log's last tunnel to hostport
// with decision, or "".
func tunnelReason(t *testing.T, f *fixture, hostport string, decision policy.Outcome) string {
	t.Helper()
	reason := ""
	for _, e := range auditLines(t, f) {
		if e.Kind == "tunnel" && e.Host == hostport && e.Decision == decision {
			reason = e.Reason
		}
	}
	return reason
}

func TestBlobRedirectRelayedUntouched(t *testing.T) {
	f := setup(t, true)
	// Layers come from the CDN host through a tunnel, --deny-other-hosts
	// notwithstanding.
	digest := pullLayers(t, f, pullSecret)
	cdn := hubpkg.CloudflareBlobHost + ":443"
	if r := tunnelReason(t, f, cdn, policy.Passed); !strings.Contains(r, "follows a Docker Hub redirect") {
		t.Errorf("tunnel to %s: reason %q; audit log:\n%s", cdn, r, f.audit)
	}

	// The 307 reaches the client as the hub wrote it: the CDN accepts
	// its signature.
	bearer := bearerThrough(t, f, pushSecret, "repository:acme/app:pull")
	noFollow := &http.Client{Transport: f.client, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u, bearer string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := get("https://registry-1.docker.io/v2/acme/app/blobs/"+digest, bearer)
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if resp.StatusCode != http.StatusTemporaryRedirect || err != nil || u.Host != hubpkg.CloudflareBlobHost || u.Query().Get("signature") == "" {
		t.Fatalf("blob GET through the proxy: %d, Location %q", resp.StatusCode, loc)
	}
	if resp := get(loc, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("the relayed Location: %d from the CDN, want 200 (a valid signature)", resp.StatusCode)
	}
	// The audit line names the Location's host, never its signature.
	var logged bool
	for _, e := range auditLines(t, f) {
		logged = logged || e.Kind == "registry" && e.Upstream == http.StatusTemporaryRedirect && e.Redirect == cdn
	}
	if !logged || strings.Contains(f.audit.String(), u.Query().Get("signature")) {
		t.Errorf("audit log: redirect host logged %v, or the signature is in it:\n%s", logged, f.audit)
	}

	// A refused blob GET never reaches the hub, so it gets no redirect.
	before := len(f.hub.Requests())
	resp = get("https://registry-1.docker.io/v2/acme/base/blobs/"+digest, bearer)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Errorf("a refused blob GET: %d, Location %q; want 403 without one", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(f.hub.Requests()) != before {
		t.Errorf("the hub saw the refused blob GET: %+v", f.hub.Requests()[before:])
	}

	// A documented blob host is tunnelled for a client that was not
	// redirected there too.
	if code := connect(t, f, "127.0.0.2", cdn); code != http.StatusOK {
		t.Errorf("CONNECT %s from another client: %d, want 200 (a Docker Hub blob host)", cdn, code)
	}
	if r := tunnelReason(t, f, cdn, policy.Passed); r != "a Docker Hub blob host: tunnelled untouched" {
		t.Errorf("tunnel to %s for another client: reason %q", cdn, r)
	}

	// Every other host is still refused.
	other := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	for _, hp := range []string{strings.TrimPrefix(other.URL, "https://"), hubpkg.CloudflareBlobHost + ":8443", "evil." + hubpkg.CloudflareBlobHost + ":443"} {
		if code := connect(t, f, "", hp); code != http.StatusForbidden {
			t.Errorf("CONNECT %s with --deny-other-hosts: %d, want 403", hp, code)
		}
	}
}

func TestRelayedLocationOpensItsHostForThatClient(t *testing.T) {
	const host = "blobs.new-region.test"
	f := setupCDN(t, true, host)
	if code := connect(t, f, "", host+":443"); code != http.StatusForbidden {
		t.Fatalf("CONNECT %s before any redirect: %d, want 403", host, code)
	}
	pullLayers(t, f, pullSecret)
	if r := tunnelReason(t, f, host+":443", policy.Passed); !strings.Contains(r, "follows a Docker Hub redirect") {
		t.Errorf("tunnel to %s: reason %q; audit log:\n%s", host, r, f.audit)
	}
	if code := connect(t, f, "127.0.0.1", host+":443"); code != http.StatusOK {
		t.Errorf("CONNECT %s from the redirected client: %d, want 200", host, code)
	}
	// Another client (another loopback address) was not sent there.
	if code := connect(t, f, "127.0.0.2", host+":443"); code != http.StatusForbidden {
		t.Errorf("CONNECT %s from another client: %d, want 403", host, code)
	}
	if code := connect(t, f, "127.0.0.1", host+":8443"); code != http.StatusForbidden {
		t.Errorf("CONNECT %s:8443: %d, want 403", host, code)
	}
}

func TestRedirectsExpireAndAreBounded(t *testing.T) {
	t.Parallel()
	var r redirects
	t0 := time.Now()
	r.note("10.0.0.1", "cdn.test:443", t0)
	for _, tt := range []struct {
		client, hostport string
		at               time.Duration
		want             bool
	}{
		{"10.0.0.1", "cdn.test:443", 0, true},
		{"10.0.0.1", "CDN.test:443", redirectTTL - time.Second, true},
		{"10.0.0.1", "cdn.test:443", redirectTTL, false},
		{"10.0.0.2", "cdn.test:443", 0, false},
		{"10.0.0.1", "cdn.test:8443", 0, false},
	} {
		if got := r.followed(tt.client, tt.hostport, t0.Add(tt.at)); got != tt.want {
			t.Errorf("followed(%s, %s) after %v = %v, want %v", tt.client, tt.hostport, tt.at, got, tt.want)
		}
	}
	for i := range maxRedirects + 10 {
		r.note(fmt.Sprintf("10.1.%d.%d", i/256, i%256), "cdn.test:443", t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(r.m); n > maxRedirects {
		t.Errorf("%d entries kept, want at most %d", n, maxRedirects)
	}
	if r.followed("10.0.0.1", "cdn.test:443", t0) {
		t.Error("the oldest entry was kept over the bound")
	}
}

func TestRedirectTarget(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status   int
		location string
		want     string
	}{
		{307, "https://production.cloudflare.docker.com/registry-v2/x?sig=1", "production.cloudflare.docker.com:443"},
		{302, "https://Blobs.Example:8443/x", "blobs.example:8443"},
		{307, "http://cdn.example/x", ""},
		{307, "/v2/acme/app/blobs/x", ""},
		{307, "https://registry-1.docker.io/v2/", ""},
		{307, "https://user:pw@cdn.example/x", ""},
		{200, "https://cdn.example/x", ""},
		{307, "https://[::1]/x", "[::1]:443"},
	} {
		resp := &http.Response{StatusCode: tt.status, Header: http.Header{"Location": {tt.location}}}
		if got := redirectTarget(resp); got != tt.want {
			t.Errorf("redirectTarget(%d %q) = %q, want %q", tt.status, tt.location, got, tt.want)
		}
	}
}
