package demo

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
)

// TestRelay: the relay tunnels a CONNECT to an allowed name to the hub's
// address, bytes untouched, and refuses other names and other methods.
func TestRelay(t *testing.T) {
	t.Parallel()
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer upstream.Close()
	go func() {
		for {
			c, err := upstream.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }() // echo
		}
	}()
	r, err := startRelay(upstream.Addr().String(), func(target string) bool { return target == "registry-1.docker.io:443" })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	ask := func(line string) (*http.Response, net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", r.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(c, line)
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp, c, br
	}
	resp, c, br := ask("CONNECT registry-1.docker.io:443 HTTP/1.1\r\nHost: registry-1.docker.io:443\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT to the hub: %s", resp.Status)
	}
	fmt.Fprint(c, "\x16\x03\x01 any bytes")
	buf := make([]byte, len("\x16\x03\x01 any bytes"))
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "\x16\x03\x01 any bytes" {
		t.Errorf("through the tunnel: %q %v", buf, err)
	}
	c.Close()

	for _, line := range []string{
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"CONNECT registry-1.docker.io:80 HTTP/1.1\r\nHost: registry-1.docker.io:80\r\n\r\n",
		"GET http://registry-1.docker.io/v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n\r\n",
	} {
		resp, c, _ := ask(line)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%q: %s, want 403", line, resp.Status)
		}
		c.Close()
	}
}
