package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/classify"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/metrics"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
)

// benchTokens makes n tokens of org acme, each with pull on repos
// repositories (acme/t<i>-r<j>).
func benchTokens(tb testing.TB, n, repos int) []oat.Token {
	tb.Helper()
	out := make([]oat.Token, n)
	for i := range out {
		var pull []string
		for j := range repos {
			pull = append(pull, fmt.Sprintf("acme/t%d-r%d", i, j))
		}
		s, err := oat.NewScopes(pull, nil, false, nil)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = oat.Token{Org: "acme", Label: fmt.Sprintf("t%d", i), Active: true, Secret: fmt.Sprintf("dckr_oat_%032d", i), Scopes: s}
	}
	return out
}

const benchDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// BenchmarkDecision is the pure classifier and policy on a typical
// registry request (a blob GET) with a token of 50 repositories, the one
// asked for last among them.
func BenchmarkDecision(b *testing.B) {
	tok := benchTokens(b, 1, 50)[0]
	r := httptest.NewRequest(http.MethodGet, "https://"+hub.RegistryHost+"/v2/acme/t0-r49/blobs/"+benchDigest, nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln")
	b.ReportAllocs()
	for b.Loop() {
		req, err := classify.Request(hub.RegistryHost, r, nil)
		if err != nil {
			b.Fatal(err)
		}
		if v := policy.Check(&tok, req, ""); v.Outcome != policy.Allowed {
			b.Fatal(v.Message)
		}
	}
}

// BenchmarkCheckGrowth is the proxy's whole check of a registry request
// (canonical form, classification, whose bearer token it is, the policy)
// as the tokens held and their repositories grow.
func BenchmarkCheckGrowth(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		for _, repos := range []int{1, 50} {
			b.Run(fmt.Sprintf("tokens=%d/repos=%d", n, repos), func(b *testing.B) {
				toks := benchTokens(b, n, repos)
				p := New(Config{Tokens: staticTokens(toks), Audit: io.Discard})
				last := toks[n-1]
				bearer := "eyJhbGciOiJFUzI1NiJ9.bench.c2ln"
				p.tokens.remember(bearer, holder{ours: true, id: identityOf(last)}, time.Hour)
				r := httptest.NewRequest(http.MethodGet, "https://"+hub.RegistryHost+fmt.Sprintf("/v2/acme/t%d-r%d/blobs/", n-1, repos-1)+benchDigest, nil)
				r.Header.Set("Authorization", "Bearer "+bearer)
				r.Header.Set("User-Agent", "docker/28.0.1 go/go1.23.6 git-commit/bbd0a17 kernel/6.1.0 os/linux arch/amd64")
				b.ReportAllocs()
				for b.Loop() {
					st := &state{}
					rp := p.check(st, hub.RegistryHost, r)
					if rp != nil || st.entry.Decision != policy.Allowed {
						b.Fatalf("not allowed: %+v %+v", st, rp)
					}
				}
			})
		}
	}
}

// answerAtOnce is an upstream that answers every request with a
// manifest's HEAD answer, with no sockets.
type answerAtOnce struct{}

func (answerAtOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/vnd.oci.image.index.v1+json")
	h.Set("Content-Length", "1609")
	h.Set("Docker-Content-Digest", benchDigest)
	h.Set("Docker-Distribution-Api-Version", "registry/2.0")
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: http.NoBody, ContentLength: 1609, Request: r}, nil
}

// BenchmarkServeHEAD is the proxy's whole work on a manifest HEAD inside
// an intercepted tunnel but for the sockets and TLS: the check, the
// reverse proxy to an upstream that answers at once, the audit line and
// the metrics. Against the proxy's CPU per HEAD that `make bench-proxy`
// prints, it says how much of that is the proxy's own.
func BenchmarkServeHEAD(b *testing.B) {
	toks := benchTokens(b, 1, 50)
	p := New(Config{Tokens: staticTokens(toks), Audit: io.Discard, Metrics: metrics.New()})
	p.upstream.Transport = answerAtOnce{}
	bearer := "eyJhbGciOiJFUzI1NiJ9.bench.c2ln"
	p.tokens.remember(bearer, holder{ours: true, id: identityOf(toks[0])}, time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodHead, "https://"+hub.RegistryHost+"/v2/acme/t0-r49/manifests/1", nil)
		r.Header.Set("Authorization", "Bearer "+bearer)
		r.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
		r.Header.Set("User-Agent", "crane/v0.20.2 go-containerregistry/v0.20.2")
		w := httptest.NewRecorder()
		p.serveHub(hub.RegistryHost, w, r)
		if w.Code != http.StatusOK || w.Header().Get("Docker-Content-Digest") != benchDigest {
			b.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
		}
	}
}

// BenchmarkNewConnection is a client's new tunnel on loopback: the
// CONNECT, the TLS handshake with the proxy's leaf and the first HEAD, to
// an upstream that answers at once. The client's side of the work is in
// the figures too; a change to the proxy's per-connection work shows in
// them all the same.
func BenchmarkNewConnection(b *testing.B) {
	toks := benchTokens(b, 1, 50)
	ca, _, err := LoadOrCreateCA(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	p := New(Config{Tokens: staticTokens(toks), CA: ca, Audit: io.Discard, Metrics: metrics.New()})
	p.upstream.Transport = answerAtOnce{}
	bearer := "eyJhbGciOiJFUzI1NiJ9.bench.c2ln"
	p.tokens.remember(bearer, holder{ours: true, id: identityOf(toks[0])}, time.Hour)
	srv := httptest.NewUnstartedServer(p)
	srv.Config = p.Server()
	srv.Listener = p.Listener(srv.Listener)
	srv.Start()
	b.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	head := "HEAD /v2/acme/t0-r49/manifests/1 HTTP/1.1\r\nHost: " + hub.RegistryHost + "\r\nAuthorization: Bearer " + bearer +
		"\r\nAccept: application/vnd.oci.image.index.v1+json\r\nUser-Agent: crane/v0.20.2 go-containerregistry/v0.20.2\r\n\r\n"
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.WriteString(c, "CONNECT "+hub.RegistryHost+":443 HTTP/1.1\r\nHost: "+hub.RegistryHost+":443\r\n\r\n"); err != nil {
			b.Fatal(err)
		}
		connected, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || connected.StatusCode != http.StatusOK {
			b.Fatalf("CONNECT: %v %v", connected, err)
		}
		tc := tls.Client(c, &tls.Config{RootCAs: roots, ServerName: hub.RegistryHost, NextProtos: []string{"http/1.1"}})
		if _, err := io.WriteString(tc, head); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(tc), &http.Request{Method: http.MethodHead})
		if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != benchDigest {
			b.Fatalf("HEAD: %v %v", resp, err)
		}
		tc.Close()
	}
}
