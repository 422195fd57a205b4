package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// faulty stands in for some of the Hub's hosts and misbehaves: it speaks
// TLS with the certificate cert picks, reads one request per connection
// and hands it to behave, which answers (or not) on the raw connection.
type faulty struct {
	addr     string
	plain    atomic.Int32 // connections that did not open with a TLS record
	requests atomic.Int32
	done     chan struct{} // closed at the test's end: stalls end
}

func startFaulty(t *testing.T, cert func(*tls.ClientHelloInfo) (*tls.Certificate, error), behave func(c net.Conn, tcp *net.TCPConn, r *http.Request)) *faulty {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &faulty{addr: ln.Addr().String(), done: make(chan struct{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(fs.done)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				if first, err := br.Peek(1); err != nil || first[0] != 0x16 { // a TLS handshake record
					fs.plain.Add(1)
					return
				}
				tc := tls.Server(&peekedConn{Conn: c, r: br}, &tls.Config{GetCertificate: cert, NextProtos: []string{"http/1.1"}})
				if tc.Handshake() != nil {
					return
				}
				r, err := http.ReadRequest(bufio.NewReader(tc))
				if err != nil {
					return
				}
				fs.requests.Add(1)
				behave(tc, c.(*net.TCPConn), r)
			}()
		}
	}()
	return fs
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// reset closes c with a TCP reset.
func reset(tcp *net.TCPConn) {
	_ = tcp.SetLinger(0)
	tcp.Close()
}

// leaves returns a GetCertificate giving the name's leaf from ca, or
// host's when host is set.
func leaves(ca *CA, host string) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if host != "" {
			return ca.Leaf(host)
		}
		return ca.Leaf(hello.ServerName)
	}
}

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, _, err := LoadOrCreateCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// healthy is what another client does while a fault is under way: a token
// and a manifest, through the proxy from the real hub.
func (f *fixture) healthy(t *testing.T) error {
	t.Helper()
	status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/app:pull",
		header: map[string]string{"Authorization": basic(pullSecret)}})
	if status != http.StatusOK {
		return fmt.Errorf("token: %d %s", status, body)
	}
	tok := strings.Split(strings.Split(body, `"token":"`)[1], `"`)[0]
	status, body, _ = f.send(t, hostile{method: "GET", url: "https://registry-1.docker.io/v2/acme/app/manifests/1.0",
		header: map[string]string{"Authorization": "Bearer " + tok, "Accept": "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json"}})
	if status != http.StatusOK {
		return fmt.Errorf("manifest: %d %.200s", status, body)
	}
	return nil
}

// goroutinesSettle waits for the goroutines to come back to at most base
// plus a few (the runtime's and the transports' own).
func goroutinesSettle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+8 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every way the Hub can fail a request, each answered to the client with
// a registry error or a cut connection within the proxy's limits, never
// a hang; the proxy goes on serving another client meanwhile, and leaks
// nothing.
func TestUpstreamFaults(t *testing.T) {
	faultCA := newCA(t)
	upstreamClosed := make(chan string, 16)
	// waitClosed blocks until the proxy closes its side of c, or the test
	// ends, and says which.
	var fs *faulty
	waitClosed := func(c net.Conn, what string) {
		got := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c); close(got) }()
		select {
		case <-got:
			upstreamClosed <- what
		case <-fs.done:
		}
	}
	fs = startFaulty(t, leaves(faultCA, ""), func(c net.Conn, tcp *net.TCPConn, r *http.Request) {
		switch tag := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]; {
		case tag == "reset-before":
			reset(tcp)
		case tag == "reset-mid" || r.URL.Path == "/v2/auth/token" && r.Header.Get("X-Fault") == "reset-mid":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"access_token\":\"")
			time.Sleep(50 * time.Millisecond)
			reset(tcp)
		case tag == "stall-header":
			waitClosed(c, "stall-header")
		case tag == "stall-body" || r.URL.Path == "/v2/auth/token":
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"access_token\":\"")
			waitClosed(c, "stall-body")
		case tag == "busy" || tag == "limited":
			status, after := 503, "7"
			if tag == "limited" {
				status, after = 429, "30"
			}
			body := `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`
			fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nRetry-After: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", status, http.StatusText(status), after, len(body), body)
		}
	})
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	f := setupWith(t, options{
		hub:      []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}}},
		records:  staticTokens{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/*"}, nil)}},
		roots:    []*x509.Certificate{faultCA.Cert},
		upstream: map[string]string{"index.docker.io": fs.addr, "hub.docker.com": fs.addr, "registry.hub.docker.com": deadAddr},
		limits:   Limits{Upstream: 400 * time.Millisecond, Stall: 400 * time.Millisecond, Dial: 400 * time.Millisecond},
	})
	bearer := f.pullBearer(t)
	if err := f.healthy(t); err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	manifest := func(host, tag string) hostile {
		return hostile{method: "GET", url: "https://" + host + "/v2/acme/app/manifests/" + tag, header: map[string]string{"Authorization": "Bearer " + bearer}}
	}
	login := func(fault string) hostile {
		return hostile{method: "POST", url: "https://hub.docker.com/v2/auth/token", body: `{"identifier":"acme","secret":"` + pullSecret + `"}`,
			header: map[string]string{"Content-Type": "application/json", "X-Fault": fault}}
	}
	for _, tt := range []struct {
		name    string
		req     hostile
		status  int    // 0: the answer is cut
		message string // in the registry error
		closed  string // the upstream connection the proxy must close
	}{
		{name: "connection refused", req: manifest("registry.hub.docker.com", "1.0"), status: 502, message: "connection refused"},
		{name: "reset before the answer", req: manifest("index.docker.io", "reset-before"), status: 502, message: "could not get an answer from index.docker.io"},
		{name: "reset mid-body, relayed", req: manifest("index.docker.io", "reset-mid"), status: 0},
		{name: "reset mid-body, a login the proxy reads", req: login("reset-mid"), status: 502, message: "could not get an answer from hub.docker.com"},
		{name: "header stall", req: manifest("index.docker.io", "stall-header"), status: 504, message: "timeout awaiting response headers", closed: "stall-header"},
		{name: "body stall, relayed", req: manifest("index.docker.io", "stall-body"), status: 0, closed: "stall-body"},
		{name: "body stall, a login the proxy reads", req: login("stall"), status: 504, message: "its answer stopped arriving for 400ms", closed: "stall-body"},
		{name: "503 with Retry-After", req: manifest("index.docker.io", "busy"), status: 503, message: "TOOMANYREQUESTS"},
		{name: "429 with Retry-After", req: manifest("index.docker.io", "limited"), status: 429, message: "slow down"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				status int
				body   string
				header http.Header
				err    error
				took   time.Duration
			}
			out := make(chan result, 1)
			go func() {
				start := time.Now()
				res := result{}
				res.status, res.body, res.header, res.err = f.sendRaw(tt.req)
				res.took = time.Since(start)
				out <- res
			}()
			if err := f.healthy(t); err != nil {
				t.Errorf("another client during the fault: %v", err)
			}
			var res result
			select {
			case res = <-out:
			case <-time.After(10 * time.Second):
				t.Fatal("the client hangs")
			}
			switch {
			case tt.status == 0:
				if res.err == nil {
					t.Errorf("a cut answer read whole: %d %q", res.status, res.body)
				}
			case res.err != nil || res.status != tt.status || !strings.Contains(res.body, tt.message):
				t.Errorf("%d %q %v, want %d with %q", res.status, res.body, res.err, tt.status, tt.message)
			case tt.status >= 500 && tt.status != 503 && !strings.Contains(res.body, `"code":"UNAVAILABLE"`):
				t.Errorf("not a registry error: %s", res.body)
			}
			if tt.status == 503 || tt.status == 429 {
				if want := map[int]string{503: "7", 429: "30"}[tt.status]; res.header.Get("Retry-After") != want {
					t.Errorf("Retry-After %q, want %q", res.header.Get("Retry-After"), want)
				}
			}
			if strings.Contains(res.body, pullSecret) || strings.Contains(res.body, bearer) {
				t.Errorf("the answer quotes a secret: %s", res.body)
			}
			if tt.closed != "" {
				select {
				case what := <-upstreamClosed:
					if what != tt.closed {
						t.Errorf("closed %s, want %s", what, tt.closed)
					}
				case <-time.After(5 * time.Second):
					t.Error("the proxy holds the stalled upstream connection open")
				}
			}
		})
	}
	if n := fs.plain.Load(); n != 0 {
		t.Errorf("%d plain connections to the hub", n)
	}
	f.client.CloseIdleConnections()
	goroutinesSettle(t, base)
}

// sendRaw is send that reads the body itself, so a cut answer is an
// error.
func (f *fixture) sendRaw(h hostile) (int, string, http.Header, error) {
	req, err := http.NewRequest(h.method, h.url, strings.NewReader(h.body))
	if err != nil {
		return 0, "", nil, err
	}
	if h.body == "" {
		req.Body, req.ContentLength = nil, 0
	}
	for k, v := range h.header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: f.client}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, err
}

// An upstream whose certificate is not from a trusted CA, or is for
// another host, is refused: 502 with the reason, nothing sent to it, and
// never retried in the clear.
func TestUpstreamCertificates(t *testing.T) {
	trusted, untrusted := newCA(t), newCA(t)
	var got atomic.Int32
	answer := func(c net.Conn, _ *net.TCPConn, _ *http.Request) {
		got.Add(1)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
	}
	unknown := startFaulty(t, leaves(untrusted, ""), answer)
	otherHost := startFaulty(t, leaves(trusted, "hub.docker.com"), answer)
	f := setupWith(t, options{
		hub:      []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}}},
		records:  staticTokens{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/*"}, nil)}},
		roots:    []*x509.Certificate{trusted.Cert},
		upstream: map[string]string{"index.docker.io": unknown.addr, "registry.hub.docker.com": otherHost.addr},
	})
	bearer := f.pullBearer(t)
	for host, want := range map[string]string{"index.docker.io": "certificate signed by unknown authority", "registry.hub.docker.com": "certificate is valid for hub.docker.com, not registry.hub.docker.com"} {
		status, body, _, err := f.sendRaw(hostile{method: "GET", url: "https://" + host + "/v2/acme/app/manifests/1.0", header: map[string]string{"Authorization": "Bearer " + bearer}})
		if err != nil || status != http.StatusBadGateway || !strings.Contains(body, want) || !strings.Contains(body, `"code":"UNAVAILABLE"`) {
			t.Errorf("%s: %d %s %v, want 502 with %q", host, status, body, err, want)
		}
		if err := f.healthy(t); err != nil {
			t.Errorf("another client after %s: %v", host, err)
		}
	}
	if got.Load() != 0 || unknown.requests.Load() != 0 || otherHost.requests.Load() != 0 {
		t.Errorf("a request reached an upstream with a bad certificate")
	}
	if unknown.plain.Load() != 0 || otherHost.plain.Load() != 0 {
		t.Errorf("the proxy retried in the clear")
	}
}
