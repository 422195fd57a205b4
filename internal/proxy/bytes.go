package proxy

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// The bytes the proxy moves, for Recorder.Bytes: in from clients, out to
// clients. An intercepted request counts its bodies (the request's as the
// proxy reads it, the response's as it writes it, its own refusals
// included) once it has ended, under its kind; a tunnel counts everything
// it carries as it carries it, under "tunnel".

// countingReader counts what is read from a request body.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n += int64(n)
	return n, err
}

// countingWriter counts the body bytes of a response.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// tunnelConn is a passed tunnel's upstream connection: what is read from
// it goes out to the client, what is written to it came in from the
// client (counted if rec is not nil). It notes when it last carried bytes,
// and is known to the proxy's Shutdown while open.
type tunnelConn struct {
	net.Conn
	rec   Recorder
	last  atomic.Int64 // Unix nanoseconds
	conns *conns
	once  sync.Once
}

func (c *tunnelConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.count(int64(n), false)
	}
	return n, err
}

func (c *tunnelConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.count(int64(n), true)
	}
	return n, err
}

// count notes n bytes the tunnel carried: sent upstream if up, else read
// from upstream for the client.
func (c *tunnelConn) count(n int64, up bool) {
	c.touch()
	if c.rec == nil {
		return
	}
	if up {
		c.rec.Bytes("tunnel", n, 0)
	} else {
		c.rec.Bytes("tunnel", 0, n)
	}
}

func (c *tunnelConn) Close() error {
	c.once.Do(func() { c.conns.removeTunnel(c) })
	return c.Conn.Close()
}

// CloseWrite and CloseRead keep the tunnel's half-close, which goproxy
// uses for TCP connections.
func (c *tunnelConn) CloseWrite() error { return closeWrite(c.Conn, c) }
func (c *tunnelConn) CloseRead() error  { return closeRead(c.Conn, c) }
