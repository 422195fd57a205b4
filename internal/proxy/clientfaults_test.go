package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Clients that misbehave get a clear answer or a closed connection within
// the limits, the proxy serves others meanwhile, and nothing is left
// running after.
func TestClientFaults(t *testing.T) {
	f := limited(t, 0)
	if err := f.healthy(t); err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	line := "X-Big: " + strings.Repeat("a", 1<<20) + "\r\n"

	t.Run("slowloris header on the listener", func(t *testing.T) {
		c := f.raw(t)
		done := make(chan bool)
		go func() { done <- closedWithin(c, 3*time.Second) }()
		for i := 0; i < 20; i++ {
			if _, err := fmt.Fprintf(c, "X-%d: a\r\n", i); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := f.healthy(t); err != nil {
			t.Errorf("another client meanwhile: %v", err)
		}
		if !<-done {
			t.Error("a header sent a line at a time holds the connection")
		}
	})
	t.Run("slowloris header in a tunnel", func(t *testing.T) {
		tc, _ := f.tunnel(t, "registry-1.docker.io")
		done := make(chan bool)
		go func() { done <- closedWithin(tc, 3*time.Second) }()
		io.WriteString(tc, "GET /v2/ HTTP/1.1\r\n")
		for i := 0; i < 20; i++ {
			if _, err := fmt.Fprintf(tc, "X-%d: a\r\n", i); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !<-done {
			t.Error("a header sent a line at a time holds the tunnel")
		}
	})
	t.Run("1 MiB header line on the listener", func(t *testing.T) {
		c := f.raw(t)
		go io.WriteString(c, "CONNECT registry-1.docker.io:443 HTTP/1.1\r\nHost: registry-1.docker.io:443\r\n"+line+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a 1 MiB header line: %v %v", resp, err)
		}
	})
	t.Run("1 MiB header line in a tunnel", func(t *testing.T) {
		tc, br := f.tunnel(t, "registry-1.docker.io")
		go io.WriteString(tc, "GET /v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n"+line+"\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a 1 MiB header line: %v %v", resp, err)
		}
	})
	t.Run("malformed CONNECT targets", func(t *testing.T) {
		for _, target := range []string{":443", "", "registry-1.docker.io", "registry-1.docker.io:abc", "registry-1.docker.io:443:443", "[::1",
			"other.test", "other.test:0", "other.test:99999", "-x.test:443", "a_b.test:443", "registry-1.docker.io%00:443", "http://registry-1.docker.io:443/", "a b:443"} {
			c := f.raw(t)
			io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Errorf("%q: %v", target, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode/100 != 4 || resp.StatusCode == http.StatusOK {
				t.Errorf("%q: %s %q, want a 4xx", target, resp.Status, body)
			}
		}
		for _, l := range strings.Split(f.audit.String(), "\n") {
			if strings.Contains(l, `"kind":"tunnel"`) && !strings.Contains(l, `"reason":"malformed CONNECT target"`) {
				t.Errorf("a malformed target was tunnelled: %s", l)
			}
		}
	})
	t.Run("disconnect mid-upload", func(t *testing.T) {
		tc, _ := f.tunnel(t, "auth.docker.io")
		io.WriteString(tc, "POST /token HTTP/1.1\r\nHost: auth.docker.io\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\ngrant_type=password&username=acme&password=")
		tc.Close()
		tc2, _ := f.tunnel(t, "registry-1.docker.io")
		io.WriteString(tc2, "PATCH /v2/acme/app/blobs/uploads/abc HTTP/1.1\r\nHost: registry-1.docker.io\r\nAuthorization: Bearer x\r\nContent-Length: 10485760\r\n\r\n"+strings.Repeat("x", 1<<16))
		tc2.Close()
		if err := f.healthy(t); err != nil {
			t.Errorf("another client after: %v", err)
		}
	})
	f.client.CloseIdleConnections()
	f.p.tr.CloseIdleConnections()
	goroutinesSettle(t, base)
}

// A client that goes away mid-download has its upstream request ended:
// the proxy closes its connection to the Hub and keeps nothing.
func TestClientGoesAwayMidDownload(t *testing.T) {
	faultCA := newCA(t)
	closed := make(chan struct{}, 1)
	var fs *faulty
	fs = startFaulty(t, leaves(faultCA, ""), func(c net.Conn, _ *net.TCPConn, _ *http.Request) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", 1<<30)
		chunk := make([]byte, 32<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				closed <- struct{}{}
				return
			}
			select {
			case <-fs.done:
				return
			default:
			}
		}
	})
	f := setupWith(t, options{hub: nil, records: staticTokens{}, roots: []*x509.Certificate{faultCA.Cert}, upstream: map[string]string{"index.docker.io": fs.addr}})
	base := runtime.NumGoroutine()
	c := f.raw(t)
	io.WriteString(c, "CONNECT index.docker.io:443 HTTP/1.1\r\nHost: index.docker.io:443\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(&peekedConn{Conn: c, r: br}, &tls.Config{ServerName: "index.docker.io", RootCAs: f.client.TLSClientConfig.RootCAs})
	io.WriteString(tc, "GET /v2/acme/app/blobs/sha256:"+strings.Repeat("a", 64)+" HTTP/1.1\r\nHost: index.docker.io\r\nAuthorization: Basic eDp5\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download: %v %v", resp, err)
	}
	if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the proxy goes on downloading for a client that went away")
	}
	f.p.tr.CloseIdleConnections()
	goroutinesSettle(t, base)
}
