package proxy

import (
	"io"
	"net"
)

// A tunnel moves bytes between two TCP connections. When both ends are
// plain TCP the kernel moves them (splice), without a copy through the
// proxy's buffers; io.Copy gets there through tunnelConn's ReadFrom and
// WriteTo, whichever way it copies.

// connWrapper is a wrapper of a connection (a limit's or a metric's) that
// names the connection it wraps.
type connWrapper interface{ WrappedConn() net.Conn }

// plainTCP is the TCP connection v is or wraps, nil if there is none.
// It never looks inside a TLS connection: only wrappers that say what
// they wrap are unwrapped.
func plainTCP(v any) *net.TCPConn {
	for range 8 {
		switch c := v.(type) {
		case *net.TCPConn:
			return c
		case tunnelConn:
			return c.TCPConn
		case connWrapper:
			v = c.WrappedConn()
		default:
			return nil
		}
	}
	return nil
}

// tunnelConn is the upstream end of a tunnel.
type tunnelConn struct{ *net.TCPConn }

// ReadFrom copies a client's bytes upstream.
func (c tunnelConn) ReadFrom(r io.Reader) (int64, error) {
	if src := plainTCP(r); src != nil {
		return c.TCPConn.ReadFrom(src)
	}
	return c.TCPConn.ReadFrom(r)
}

// WriteTo copies upstream's bytes to a client.
func (c tunnelConn) WriteTo(w io.Writer) (int64, error) {
	if dst := plainTCP(w); dst != nil {
		return dst.ReadFrom(c.TCPConn)
	}
	return io.Copy(w, struct{ io.Reader }{c.TCPConn})
}

// WrappedConn is the client's connection.
func (c *slotConn) WrappedConn() net.Conn { return c.Conn }
