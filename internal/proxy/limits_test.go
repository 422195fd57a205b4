package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// raw dials the proxy.
func (f *fixture) raw(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.proxy.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// tunnel opens a CONNECT tunnel to host through the proxy and speaks TLS
// in it, trusting the proxy's CA.
func (f *fixture) tunnel(t *testing.T, host string) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	c := f.raw(t)
	if _, err := io.WriteString(c, "CONNECT "+host+":443 HTTP/1.1\r\nHost: "+host+":443\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)
	tc := tls.Client(c, &tls.Config{ServerName: host, RootCAs: pool})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc, bufio.NewReader(tc)
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func limited(t *testing.T, maxConns int) *fixture {
	return setupWith(t, options{hub: []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}}},
		records: staticTokens{},
		limits:  Limits{MaxConns: maxConns, MaxHeaderBytes: 8 << 10, Header: 300 * time.Millisecond, Idle: 300 * time.Millisecond, Stall: 300 * time.Millisecond, Handshake: 300 * time.Millisecond}})
}

func TestTunnelLimits(t *testing.T) {
	f := limited(t, 0)
	big := "X-Big: " + strings.Repeat("a", 64<<10) + "\r\n"

	t.Run("header size inside a tunnel", func(t *testing.T) {
		tc, br := f.tunnel(t, "registry-1.docker.io")
		if _, err := io.WriteString(tc, "GET /v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n"+big+"\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a 64 KiB header in a tunnel: %v %v", resp, err)
		}
	})
	t.Run("header size on the listener", func(t *testing.T) {
		c := f.raw(t)
		if _, err := io.WriteString(c, "CONNECT registry-1.docker.io:443 HTTP/1.1\r\nHost: registry-1.docker.io:443\r\n"+big+"\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a 64 KiB header on CONNECT: %v %v", resp, err)
		}
	})
	t.Run("header deadline inside a tunnel", func(t *testing.T) {
		tc, _ := f.tunnel(t, "registry-1.docker.io")
		if _, err := io.WriteString(tc, "GET /v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n"); err != nil {
			t.Fatal(err)
		}
		if !closedWithin(tc, 3*time.Second) {
			t.Error("a header that never ends holds the tunnel")
		}
	})
	t.Run("idle tunnel", func(t *testing.T) {
		tc, br := f.tunnel(t, "registry-1.docker.io")
		if _, err := io.WriteString(tc, "GET /v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if !closedWithin(tc, 3*time.Second) {
			t.Error("an idle tunnel is held open")
		}
	})
	t.Run("a body that stops", func(t *testing.T) {
		tc, br := f.tunnel(t, "auth.docker.io")
		if _, err := io.WriteString(tc, "POST /token HTTP/1.1\r\nHost: auth.docker.io\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type="); err != nil {
			t.Fatal(err)
		}
		_ = tc.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
			t.Errorf("a token POST whose body stops: %v %v", resp, err)
		}
	})
	t.Run("handshake deadline", func(t *testing.T) {
		c := f.raw(t)
		if _, err := io.WriteString(c, "CONNECT auth.docker.io:443 HTTP/1.1\r\nHost: auth.docker.io:443\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		if !closedWithin(c, 3*time.Second) {
			t.Error("a tunnel without a TLS handshake is held open")
		}
	})
}

func TestConnectionCap(t *testing.T) {
	f := limited(t, 3)
	var held []net.Conn
	for range 3 {
		c := f.raw(t)
		// A byte of a request, so the connection is past accept and in
		// the server, holding its slot.
		if _, err := io.WriteString(c, "G"); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	time.Sleep(50 * time.Millisecond)
	c := f.raw(t)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection past the cap: %v %v", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "at most 3 connections") || f.p.Rejected() != 1 {
		t.Errorf("503 body %q, %d rejected", body, f.p.Rejected())
	}
	for _, h := range held {
		h.Close()
	}
	time.Sleep(50 * time.Millisecond)
	if _, br := f.tunnel(t, "registry-1.docker.io"); br == nil {
		t.Error("no tunnel once the slots are free")
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	f := setupWith(t, options{hub: []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}}},
		records: staticTokens{}, upstream: map[string]string{"auth.docker.io": dead}})
	status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?scope=repository:library/alpine:pull"})
	if status != http.StatusBadGateway || !strings.Contains(body, `"code":"UNAVAILABLE"`) || !strings.Contains(body, "could not get an answer from auth.docker.io") {
		t.Errorf("upstream down: %d %s", status, body)
	}
	var e auditEntry
	if err := json.Unmarshal([]byte(strings.TrimSpace(f.audit.String())), &e); err != nil || e.Upstream != http.StatusBadGateway || !strings.Contains(e.Reason, "upstream failed") {
		t.Errorf("audit line %+v %v", e, err)
	}
}

func TestUpstreamSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	f := setupWith(t, options{hub: []hubtest.Token{}, records: staticTokens{},
		upstream: map[string]string{"auth.docker.io": ln.Addr().String()}, limits: Limits{Upstream: 300 * time.Millisecond}})
	status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token"})
	if status != http.StatusGatewayTimeout || !strings.Contains(body, `"code":"UNAVAILABLE"`) {
		t.Errorf("a silent upstream: %d %s", status, body)
	}
	if !strings.Contains(f.audit.String(), `"upstream_status":504`) {
		t.Errorf("audit: %s", f.audit.String())
	}
}

func TestOversizedTokenResponse(t *testing.T) {
	f := setupWith(t, options{hub: []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}}},
		records: staticTokens{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: true, Scopes: mustScopes(t, []string{"acme/*"}, nil)}}})
	f.hub.PadTokenResponses(2 << 20)
	status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?scope=repository:acme/app:pull", header: map[string]string{"Authorization": basic(pullSecret)}})
	if status != http.StatusBadGateway || !strings.Contains(body, "over 1 MiB") {
		t.Errorf("a 2 MiB token response: %d %.300s", status, body)
	}
	if !strings.Contains(f.audit.String(), `"upstream_status":502`) {
		t.Errorf("audit: %s", f.audit.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestAuditFailuresAreCounted(t *testing.T) {
	f := setupWith(t, options{hub: []hubtest.Token{}, records: staticTokens{}, audit: failingWriter{}})
	f.send(t, hostile{method: "GET", url: "http://registry-1.docker.io/v2/"})
	f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token"})
	if n := f.p.AuditFailures(); n != 2 {
		t.Errorf("%d audit failures counted, want 2", n)
	}
}
