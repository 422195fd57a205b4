package proxy

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// smuggling are request framings two servers may read differently: each
// a header block to put after a request line and a Host header, and a
// body that holds a second request.
var smuggling = []struct{ name, header string }{
	{"Transfer-Encoding and Content-Length", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"},
	{"Content-Length and Transfer-Encoding", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"},
	{"two Content-Lengths", "Content-Length: 0\r\nContent-Length: 5\r\n"},
	{"the same Content-Length twice", "Content-Length: 5\r\nContent-Length: 5\r\n"},
	{"Content-Length list", "Content-Length: 5, 5\r\n"},
	{"Transfer-Encoding chunked, identity", "Transfer-Encoding: chunked, identity\r\n"},
	{"two Transfer-Encodings", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"},
	{"Transfer-Encoding with a space before the colon", "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n"},
	{"obs-fold", "Content-Length: 5\r\nX-Pad: a\r\n Transfer-Encoding: chunked\r\n"},
	{"obs-fold of Transfer-Encoding", "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n"},
	{"bare LF", "Content-Length: 5\nTransfer-Encoding: chunked\n"},
	{"signed Content-Length", "Content-Length: +5\r\n"},
}

// smuggle sends one smuggling shape on c: a POST whose body, read one
// way, is a second request for second. It returns the first answer.
func smuggle(c io.ReadWriter, target, host, header, second string) (*http.Response, error) {
	req := "POST " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + header + "\r\n" + "0\r\n\r\n" + second
	if strings.Contains(header, "\n") && !strings.Contains(header, "\r\n") {
		req = strings.ReplaceAll(req, "\r\n", "\n")
	}
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	return http.ReadResponse(bufio.NewReader(c), nil)
}

// A smuggling shape is refused with 400 (501 for a transfer coding the
// proxy does not know, as HTTP says) on the proxy's own listener and in a
// tunnel alike, and never becomes two requests upstream.
func TestSmuggling(t *testing.T) {
	var smuggled atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/smuggled") {
			smuggled.Add(1)
		}
	}))
	defer other.Close()
	f := limited(t, 0)
	seeded := len(f.hub.Requests())
	base := runtime.NumGoroutine()
	for _, s := range smuggling {
		t.Run("listener/"+s.name, func(t *testing.T) {
			c := f.raw(t)
			second := "GET " + other.URL + "/smuggled HTTP/1.1\r\nHost: " + other.Listener.Addr().String() + "\r\n\r\n"
			resp, err := smuggle(c, other.URL+"/", other.Listener.Addr().String(), s.header, second)
			checkRefused(t, resp, err)
		})
		t.Run("tunnel/"+s.name, func(t *testing.T) {
			tc, _ := f.tunnel(t, "registry-1.docker.io")
			second := "GET /v2/acme/base/manifests/smuggled HTTP/1.1\r\nHost: registry-1.docker.io\r\n\r\n"
			resp, err := smuggle(tc, "/v2/acme/app/blobs/uploads/", "registry-1.docker.io", s.header, second)
			checkRefused(t, resp, err)
		})
	}
	time.Sleep(100 * time.Millisecond)
	if n := smuggled.Load(); n > 0 {
		t.Errorf("%d smuggled requests reached another host", n)
	}
	for _, r := range f.hub.Requests()[seeded:] {
		if strings.Contains(r.Path, "smuggled") || strings.HasPrefix(r.Path, "/v2/acme/app/blobs/uploads") {
			t.Errorf("the hub saw %s %s", r.Method, r.Path)
		}
	}
	goroutinesSettle(t, base)
}

func checkRefused(t *testing.T, resp *http.Response, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotImplemented || !resp.Close {
		t.Errorf("%s %q, want 400 and the connection closed", resp.Status, body)
	}
}
