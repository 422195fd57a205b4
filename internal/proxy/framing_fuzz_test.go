package proxy

import (
	"bytes"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// chunkedConn is a connection whose reads return its input in pieces cut
// where cuts say, and whose writes are kept.
type chunkedConn struct {
	net.Conn
	in      []byte
	cuts    []byte
	written bytes.Buffer
}

func (c *chunkedConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := len(c.in)
	if len(c.cuts) > 0 {
		n = min(n, 1+int(c.cuts[0]))
		c.cuts = c.cuts[1:]
	}
	n = copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *chunkedConn) Write(p []byte) (int, error) { return c.written.Write(p) }

// readIn reads r to its end in reads of the sizes given in turn, 1 to 256
// bytes (32 KiB each when none are given): the framing check reads a
// body into the reader's own buffer, whatever its size.
func readIn(r io.Reader, sizes []byte) ([]byte, error) {
	var out []byte
	for i := 0; ; i++ {
		n := 32 << 10
		if len(sizes) > 0 {
			n = 1 + int(sizes[i%len(sizes)])
		}
		buf := make([]byte, n)
		m, err := r.Read(buf)
		out = append(out, buf[:m]...)
		switch {
		case err == io.EOF:
			return out, nil
		case err != nil:
			return out, err
		case m == 0 && i > 1<<16:
			return out, io.ErrNoProgress
		}
	}
}

// FuzzFraming: the framing check passes the bytes it is given unchanged,
// however they arrive, or stops them and answers 400; a request whose
// framing is plain (one Content-Length or chunked, CRLF lines) is never
// stopped.
func FuzzFraming(f *testing.F) {
	f.Add([]byte("GET /v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: registry-1.docker.io\r\n\r\n"), []byte{3, 200})
	f.Add([]byte("POST /token HTTP/1.1\r\nHost: auth.docker.io\r\nContent-Length: 5\r\n\r\nabcdePOST /token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n"), []byte{0, 1, 2})
	f.Add([]byte("CONNECT registry-1.docker.io:443 HTTP/1.1\r\nHost: registry-1.docker.io:443\r\n\r\n\x16\x03\x01\n\n"), []byte{})
	for _, s := range smuggling {
		f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\n"+s.header+"\r\n0\r\n\r\n"), []byte{7})
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		sizes := slices.Clone(cuts)
		slices.Reverse(sizes)
		c := &chunkedConn{in: bytes.Clone(in), cuts: cuts}
		out, err := readIn(newFramedConn(c, 1<<10), sizes)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(in, out) {
			t.Fatalf("the bytes passed were changed:\n%q\n%q", in, out)
		}
		refused := c.written.Len() > 0
		if refused && !strings.HasPrefix(c.written.String(), "HTTP/1.1 400 Bad Request\r\n") {
			t.Fatalf("refused with %q", c.written.String())
		}
		if !refused && len(out) != len(in) {
			t.Fatalf("%d of %d bytes passed, none refused", len(out), len(in))
		}
		// A plain request is never refused, however it arrives.
		plain := "PUT /v2/acme/app/blobs/uploads/x HTTP/1.1\r\nHost: r\r\nContent-Length: " + strconv.Itoa(len(in)) + "\r\n\r\n" + string(in)
		c = &chunkedConn{in: []byte(plain), cuts: cuts}
		if out, _ := readIn(newFramedConn(c, 1<<10), sizes); string(out) != plain || c.written.Len() > 0 {
			t.Fatalf("a plain request was stopped: %q", c.written.String())
		}
	})
}

// repeatConn answers every Read with the same request.
type repeatConn struct {
	net.Conn
	req []byte
}

func (c repeatConn) Read(p []byte) (int, error) { return copy(p, c.req), nil }

// TestFramingAllocatesNothingPerRequest: on a keep-alive connection, the
// framing check of each request after the first allocates nothing: its
// header is read where it lies, and the connection's buffers are reused.
func TestFramingAllocatesNothingPerRequest(t *testing.T) {
	if raceBuild {
		t.Skip("the race detector allocates")
	}
	req := []byte("HEAD /v2/acme/app/manifests/1 HTTP/1.1\r\nHost: registry-1.docker.io\r\nUser-Agent: crane/v0.20.2\r\nAuthorization: Bearer eyJh.e30.c2ln\r\nAccept: application/vnd.oci.image.index.v1+json\r\nContent-Length: 0\r\n\r\n")
	c := newFramedConn(repeatConn{req: req}, 64<<10)
	buf := make([]byte, 4096)
	read := func() {
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], req) {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
	}
	read()
	if n := testing.AllocsPerRun(100, read); n != 0 {
		t.Errorf("%v allocations per request, want 0", n)
	}
}
