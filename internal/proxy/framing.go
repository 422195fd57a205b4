package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// framedConn reads a client connection's requests before the proxy's
// server does and refuses, with 400 and a sentence, one whose framing
// another server on the way could read differently (RFC 9112 §6.3,
// §11.2): Transfer-Encoding with Content-Length, more than one of either,
// a coding other than chunked, a Content-Length that is not digits,
// obs-fold, a bare CR or LF, a space in a field name. Go's server reads
// some of these one way where a front proxy may read them another; a
// request both can read alike is the only one that passes. It follows
// each request's body (its length or its chunks) to find the next
// request's header, and stops looking at a CONNECT: a tunnel's bytes are
// not HTTP.
type framedConn struct {
	net.Conn
	max   int    // header bytes held at most; past them the server's own limit answers
	out   []byte // bytes checked, read from off on
	off   int    // out[:off] were read; out is emptied once all are
	hdr   []byte // a header block being read
	state frameState
	left  int64 // body or chunk bytes still to pass
	err   error
}

type frameState int

const (
	frameHeader    frameState = iota
	frameBody                 // left bytes of a Content-Length body
	frameChunkSize            // a chunk-size line
	frameChunkData            // left bytes of a chunk, then its CRLF
	frameTrailer              // trailer lines, to the empty one
	framePass                 // a tunnel, or past the header limit
)

// passing reports whether the connection's bytes now pass untouched (a
// tunnel's) and none are held: a reader may then read beneath it.
func (c *framedConn) passing() bool {
	return c.state == framePass && len(c.hdr) == 0 && len(c.out) == 0 && c.err == nil
}

func newFramedConn(c net.Conn, maxHeader int) *framedConn {
	return &framedConn{Conn: c, max: maxHeader + 4<<10}
}

// Read reads into p itself, with no buffer of its own: a body's bytes
// (a length's or a chunk's) and a tunnel's pass as they are read; header
// and chunk lines are checked and handed back once whole.
func (c *framedConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		if len(c.hdr) == 0 {
			switch c.state {
			case framePass:
				return c.Conn.Read(p)
			case frameBody, frameChunkData:
				n, err := c.Conn.Read(p[:min(int64(len(p)), c.left)])
				c.passed(int64(n))
				if err != nil && !isTimeout(err) {
					c.err = err
				}
				return n, err
			}
		}
		n, err := c.Conn.Read(p)
		if n > 0 {
			if why := c.feed(p[:n]); why != "" {
				c.refuse(why)
				return 0, io.EOF
			}
		}
		switch {
		case err == nil:
		case isTimeout(err):
			// A deadline: the server may set another and read on.
			if len(c.out) == 0 {
				return 0, err
			}
		default:
			if len(c.hdr) > 0 && c.state == frameHeader {
				c.out, c.hdr = append(c.out, c.hdr...), nil // the server reports what is cut short
			}
			c.err = err
		}
	}
	n := copy(p, c.out[c.off:])
	if c.off += n; c.off == len(c.out) {
		c.out, c.off = keep(c.out), 0
	}
	return n, nil
}

// keepBuf bounds the buffer a connection keeps between requests: a
// header of the usual size, not the largest one it was sent.
const keepBuf = 4 << 10

// keep is b emptied, its array kept for the next request if small.
func keep(b []byte) []byte {
	if cap(b) > keepBuf {
		return nil
	}
	return b[:0]
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// passed counts n bytes of a body or a chunk's data as passed; after the
// last, the next request's header or the chunk's CRLF follows.
func (c *framedConn) passed(n int64) {
	if c.left -= n; c.left > 0 {
		return
	}
	if c.state == frameBody {
		c.state = frameHeader
	} else {
		c.state, c.left = frameChunkSize, -2 // the chunk's CRLF, then a size line
	}
}

// refuse answers the request that breaks the framing rules and ends the
// connection.
func (c *framedConn) refuse(why string) {
	body := "oat-proxy refuses a request whose length another server could read differently: " + why + ".\n"
	fmt.Fprintf(c.Conn, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	c.err = io.EOF
}

// feed moves b through the framing: bytes of bodies and checked headers
// to out. It returns why a request is refused.
func (c *framedConn) feed(b []byte) string {
	for len(b) > 0 {
		switch c.state {
		case framePass:
			c.out = append(c.out, b...)
			return ""
		case frameBody, frameChunkData:
			n := min(int64(len(b)), c.left)
			c.out = append(c.out, b[:n]...)
			b = b[n:]
			c.passed(n)
		case frameChunkSize, frameTrailer:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				c.hdr = append(c.hdr, b...)
				if len(c.hdr) > c.max {
					return "a chunk line too long"
				}
				return ""
			}
			line := append(c.hdr, b[:i+1]...)
			c.hdr = nil
			c.out = append(c.out, line...)
			b = b[i+1:]
			if why := c.chunkLine(line); why != "" {
				return why
			}
		case frameHeader:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				c.hdr = append(c.hdr, b...)
				if len(c.hdr) > c.max {
					c.state = framePass // the server answers 431
					c.out, c.hdr = append(c.out, c.hdr...), nil
				}
				return ""
			}
			c.hdr = append(c.hdr, b[:i+1]...)
			b = b[i+1:]
			if len(c.hdr) > c.max {
				c.state = framePass
				c.out, c.hdr = append(c.out, c.hdr...), nil
				continue
			}
			end, why := headerEnds(c.hdr)
			if why != "" {
				return why
			}
			if !end {
				continue
			}
			block := c.hdr
			if why := c.header(block); why != "" {
				return why
			}
			c.out = append(c.out, block...)
			c.hdr = keep(block) // copied to out: the next header reuses it
		}
	}
	return ""
}

// headerEnds checks the header block's last line and reports whether it
// is the empty line that ends the block.
func headerEnds(block []byte) (bool, string) {
	line := block[bytes.LastIndexByte(block[:len(block)-1], '\n')+1:]
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return false, "a line ending in a bare LF"
	}
	if bytes.IndexByte(line[:len(line)-2], '\r') >= 0 {
		return false, "a bare CR"
	}
	if len(line) == 2 {
		// An empty line before the request line is allowed (RFC 9112
		// §2.2) and is not the block's end.
		return len(block) > 2, ""
	}
	return false, ""
}

// header checks a complete header block and sets the state for its body.
// It reads the block where it lies: a request costs no allocation here.
func (c *framedConn) header(block []byte) string {
	rest := bytes.TrimRight(bytes.TrimLeft(block, "\r\n"), "\r\n")
	requestLine, rest, _ := bytes.Cut(rest, crlf)
	method, _, _ := bytes.Cut(requestLine, []byte(" "))
	var lengths, codings int
	var length, coding []byte // the first of each
	for len(rest) > 0 {
		var f []byte
		f, rest, _ = bytes.Cut(rest, crlf)
		if len(f) == 0 {
			continue
		}
		if f[0] == ' ' || f[0] == '\t' {
			return "a header line folded onto the one before (obs-fold)"
		}
		name, value, ok := bytes.Cut(f, []byte(":"))
		if !ok || bytes.ContainsAny(name, " \t") {
			return fmt.Sprintf("the header line %q", clip(string(f)))
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, contentLength):
			if lengths++; lengths == 1 {
				length = value
			}
		case bytes.EqualFold(name, transferEncoding):
			if codings++; codings == 1 {
				coding = value
			}
		}
	}
	switch {
	case lengths > 0 && codings > 0:
		return "both Transfer-Encoding and Content-Length"
	case lengths > 1:
		return "Content-Length given more than once"
	case codings > 1:
		return "Transfer-Encoding given more than once"
	case codings == 1 && !bytes.EqualFold(coding, []byte("chunked")):
		return fmt.Sprintf("the transfer coding %q (only chunked is read)", clip(string(coding)))
	case codings == 1 && bytes.HasSuffix(requestLine, []byte(" HTTP/1.0")):
		return "Transfer-Encoding in an HTTP/1.0 request"
	}
	switch {
	case string(method) == "CONNECT":
		c.state = framePass
	case codings == 1:
		c.state, c.left = frameChunkSize, 0
	case lengths == 1:
		n, ok := digits(string(length))
		if !ok {
			return fmt.Sprintf("the Content-Length %q", clip(string(length)))
		}
		if n > 0 {
			c.state, c.left = frameBody, n
		}
	}
	return ""
}

var (
	crlf             = []byte("\r\n")
	contentLength    = []byte("Content-Length")
	transferEncoding = []byte("Transfer-Encoding")
)

// chunkLine reads a line of a chunked body: the CRLF after a chunk's
// data, a chunk-size line, or a trailer line.
func (c *framedConn) chunkLine(line []byte) string {
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "a chunk line ending in a bare LF"
	}
	text := string(line[:len(line)-2])
	switch {
	case c.state == frameTrailer:
		if text == "" {
			c.state = frameHeader
		}
		return ""
	case c.left == -2: // the CRLF that ends a chunk's data
		if text != "" {
			return "chunk data longer than its size"
		}
		c.left = 0
		return ""
	}
	size, _, _ := strings.Cut(text, ";")
	size = strings.TrimRight(size, " \t")
	n, ok := hexDigits(size)
	if !ok {
		return fmt.Sprintf("the chunk size %q", clip(size))
	}
	if n == 0 {
		c.state = frameTrailer
		return ""
	}
	c.state, c.left = frameChunkData, n
	return ""
}

func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func hexDigits(s string) (int64, bool) {
	if s == "" || len(s) > 15 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		var d byte
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
