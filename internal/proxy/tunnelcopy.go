package proxy

import (
	"io"
	"net"
	"sync"
)

// A tunnel moves bytes between two TCP connections through a large
// buffer, counting them as they pass (the metrics and Shutdown, which
// closes the tunnels that carry nothing, need that live), whichever way
// io.Copy goes: through tunnelConn's ReadFrom or WriteTo. The kernel could
// move them (splice) for a third less CPU, but would say what it moved
// only when the tunnel ends.

// connWrapper is a wrapper of a connection (a limit's or a metric's) that
// names the connection it wraps.
type connWrapper interface{ WrappedConn() net.Conn }

// halves is the connection v is or wraps that closes one way at a time (TCP,
// a Unix socket), nil if there is none. It never looks inside a TLS
// connection: only wrappers that say what they wrap are unwrapped.
func halves(v any) halfCloser {
	for range 8 {
		switch c := v.(type) {
		case *net.TCPConn:
			return c
		case *net.UnixConn:
			return c
		case *tunnelConn:
			v = c.Conn
		case connWrapper:
			v = c.WrappedConn()
		default:
			return nil
		}
	}
	return nil
}

// tunnelBufSize is the buffer a tunnel copies through: eight TLS records,
// an eighth of the system calls io.Copy's 32 KiB makes.
const tunnelBufSize = 256 << 10

// tunnelBufs lends tunnels their copy buffers.
var tunnelBufs = sync.Pool{New: func() any { b := make([]byte, tunnelBufSize); return &b }}

// ReadFrom copies a client's bytes upstream, counted as they go.
func (c *tunnelConn) ReadFrom(r io.Reader) (int64, error) {
	return c.copy(c, r)
}

// WriteTo copies upstream's bytes to a client, counted as they go.
func (c *tunnelConn) WriteTo(w io.Writer) (int64, error) {
	return c.copy(w, c)
}

func (c *tunnelConn) copy(dst io.Writer, src io.Reader) (int64, error) {
	buf := tunnelBufs.Get().(*[]byte)
	defer tunnelBufs.Put(buf)
	// Neither end may take over (a TCP connection's WriteTo would copy
	// through 32 KiB again).
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
}

// WrappedConn is the client's connection.
func (c *slotConn) WrappedConn() net.Conn { return c.Conn }

// WrappedConn is the connection whose requests' framing is checked.
func (c *framedConn) WrappedConn() net.Conn { return c.Conn }
