package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// A tunnel's bytes move in the kernel (splice) when both ends are plain TCP
// connections or Unix sockets beneath their wrappers, and nothing the
// framing check read is still held: no copy through user memory, so 512
// tunnels hold no buffers. They move in chunks, counted after each (the
// metrics and Shutdown, which closes the tunnels that carry nothing, need
// the counts live): at most spliceChunk bytes, or what passed in
// spliceTick. Anything else copies through a pooled buffer, counted as it
// goes. Both ways go through tunnelConn's ReadFrom or WriteTo, whichever
// io.Copy takes.

// spliceChunk is the most a tunnel moves between counts.
const spliceChunk = 1 << 20

// spliceTick is the longest a tunnel's count waits while bytes trickle.
const spliceTick = time.Second

// connWrapper is a wrapper of a connection (a limit's or a metric's) that
// names the connection it wraps.
type connWrapper interface{ WrappedConn() net.Conn }

// beneath is the TCP connection or Unix socket v is or wraps, nil if there
// is none. It never looks inside a TLS connection: only wrappers that say
// what they wrap are unwrapped. For reading, a framing check is seen
// through only once it passes bytes untouched and holds none.
func beneath(v any, reading bool) net.Conn {
	for range 8 {
		switch c := v.(type) {
		case *net.TCPConn:
			return c
		case *net.UnixConn:
			return c
		case *tunnelConn:
			v = c.Conn
		case *framedConn:
			if reading && !c.passing() {
				return nil
			}
			v = c.Conn
		case connWrapper:
			v = c.WrappedConn()
		default:
			return nil
		}
	}
	return nil
}

// halves is the connection v is or wraps that closes one way at a time (TCP,
// a Unix socket), nil if there is none.
func halves(v any) halfCloser {
	if c, ok := beneath(v, false).(halfCloser); ok {
		return c
	}
	return nil
}

// tunnelBufSize is the buffer a tunnel copies through when the kernel
// cannot: two TLS records.
const tunnelBufSize = 32 << 10

// tunnelBufs lends tunnels their copy buffers.
var tunnelBufs = sync.Pool{New: func() any { b := make([]byte, tunnelBufSize); return &b }}

// ReadFrom copies a client's bytes upstream, counted as they go.
func (c *tunnelConn) ReadFrom(r io.Reader) (int64, error) {
	return c.copy(c, r, true)
}

// WriteTo copies upstream's bytes to a client, counted as they go.
func (c *tunnelConn) WriteTo(w io.Writer) (int64, error) {
	return c.copy(w, c, false)
}

func (c *tunnelConn) copy(dst io.Writer, src io.Reader, up bool) (int64, error) {
	// Only a TCP connection splices what it is written (a Unix socket's
	// ReadFrom is a datagram's).
	if d, ok := beneath(dst, false).(*net.TCPConn); ok {
		if s := beneath(src, true); s != nil {
			return c.splice(d, s, up)
		}
	}
	buf := tunnelBufs.Get().(*[]byte)
	defer tunnelBufs.Put(buf)
	// Neither end may take over (a TCP connection's WriteTo would copy
	// without counting).
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
}

// splice moves src's bytes to dst in the kernel, a chunk at a time, each
// counted: sent upstream if up, else to the client.
func (c *tunnelConn) splice(dst, src net.Conn, up bool) (int64, error) {
	defer func() { _ = src.SetReadDeadline(time.Time{}) }()
	var total int64
	for {
		// A deadline ends a chunk that trickles, so that it is counted;
		// what was read by then has been written (splice writes out all it
		// read before it waits again).
		_ = src.SetReadDeadline(time.Now().Add(spliceTick))
		n, err := io.CopyN(dst, src, spliceChunk)
		if n > 0 {
			total += n
			c.count(n, up)
		}
		var ne net.Error
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return total, nil
		case errors.As(err, &ne) && ne.Timeout():
		default:
			return total, err
		}
	}
}

// WrappedConn is the client's connection.
func (c *slotConn) WrappedConn() net.Conn { return c.Conn }
