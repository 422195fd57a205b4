package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
)

// Limits bound the work one client can make the proxy do. Zero fields
// take the defaults.
type Limits struct {
	// MaxConns is how many client connections are served at once; past
	// it a connection is answered 503 and closed.
	MaxConns int
	// MaxHeaderBytes bounds a request's header, on the proxy's own
	// listener and inside every tunnel alike.
	MaxHeaderBytes int
	// Header is how long a request's header may take to arrive; Idle how
	// long a connection may wait for its next request; Stall how long a
	// body may go without a byte moving either way; Handshake how long a
	// tunnel's TLS handshake may take.
	Header, Idle, Stall, Handshake time.Duration
	// Upstream is how long the Hub may take to answer a request (its
	// response header); its TLS handshake gets at most 15 s of it. An
	// answer's body gets Stall between bytes. Dial is how long a
	// connection to the Hub, or to a tunnelled host, may take to open.
	Upstream, Dial time.Duration
}

// Default limits.
const (
	DefaultMaxConns       = 512
	DefaultMaxHeaderBytes = 64 << 10
)

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	def(&l.Header, 30*time.Second)
	def(&l.Idle, 2*time.Minute)
	def(&l.Stall, 2*time.Minute)
	def(&l.Handshake, 15*time.Second)
	def(&l.Upstream, 2*time.Minute)
	def(&l.Dial, 30*time.Second)
	return l
}

// http1 is the one protocol the proxy serves: the proxy's own listener
// speaks plain HTTP/1.1, and a tunnel's client is offered http/1.1 alone.
// Said outright, a server does not set up HTTP/2 for itself on its first
// Serve, which it would for every tunnel otherwise.
var http1 = func() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	return &p
}()

// Server is the http.Server to serve the proxy with, its header size and
// timeouts the proxy's limits.
func (p *Proxy) Server() *http.Server {
	return &http.Server{Handler: p, ReadHeaderTimeout: p.limits.Header, IdleTimeout: p.limits.Idle,
		MaxHeaderBytes: p.limits.MaxHeaderBytes, ErrorLog: log.New(io.Discard, "", 0), Protocols: http1}
}

// mitm intercepts a tunnel to host: the proxy terminates TLS with its
// own certificate and serves the requests inside with the same limits as
// its own listener, each checked by serveHub.
func (p *Proxy) mitm(host string) *goproxy.ConnectAction {
	return &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: func(r *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
		conn, ok := p.handshake(host, client)
		if !ok {
			client.Close()
			return
		}
		// The connection is served on a goroutine of its own, and this one,
		// the listener's, ends: its stack grown by the handshake and the
		// CONNECT's buffers go with it, not kept for as long as the client
		// stays.
		go p.serveIntercepted(host, r.RemoteAddr, client, conn)
	}}
}

// handshake answers the CONNECT and does the TLS handshake with the
// client, as host.
func (p *Proxy) handshake(host string, client net.Conn) (*tls.Conn, bool) {
	if _, err := io.WriteString(client, "HTTP/1.1 200 OK\r\n\r\n"); err != nil {
		return nil, false
	}
	cfg, err := p.serverTLS(host, onThisMachine(client.RemoteAddr()))
	if err != nil {
		p.log.Warn("no certificate for an intercepted host", "host", host, "error", err)
		return nil, false
	}
	conn := tls.Server(client, cfg)
	_ = client.SetDeadline(time.Now().Add(p.limits.Handshake))
	if err := conn.Handshake(); err != nil {
		return nil, false
	}
	_ = client.SetDeadline(time.Time{})
	return conn, true
}

// serveIntercepted serves the requests inside an intercepted tunnel,
// each checked by serveHub, until the connection closes.
func (p *Proxy) serveIntercepted(host, remote string, client net.Conn, conn *tls.Conn) {
	defer client.Close()
	ln := &connListener{done: make(chan struct{})}
	// The listener closes with its connection, whoever closes it: the
	// server, or a reply that hijacked it (writeRaw).
	ln.conn = &remoteAddrConn{Conn: newFramedConn(conn, p.limits.MaxHeaderBytes), remote: remote, closed: ln}
	srv := p.Server()
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serveHub(host, w, r) })
	closed := make(chan struct{})
	var once sync.Once
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			ln.Close()
			once.Do(func() { close(closed) })
		}
	}
	p.conns.addServer(srv)
	defer p.conns.removeServer(srv)
	_ = srv.Serve(ln)
	if ln.accepted.Load() {
		// Serve returns at once when Shutdown closes ln; the request in
		// flight is still being served: the connection is closed
		// (deferred above) only once it is done.
		<-closed
	}
}

// newUpstream is the reverse proxy serveHub sends allowed requests to the
// Hub with.
func (p *Proxy) newUpstream() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "https"
			pr.Out.URL.Host = pr.In.Host
			if h, port := splitHost(pr.In.Host); port == "" || port == "443" {
				pr.Out.URL.Host = h
			}
			pr.Out.Host = pr.Out.URL.Host
		},
		Transport:      p.tr,
		BufferPool:     &bufferPool{},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.upstreamError,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
}

// copyBufSize is the size of the buffers responses are copied through:
// one TLS record.
const copyBufSize = 16 << 10

// bufferPool lends the reverse proxy its copy buffers, instead of a new
// one for every response. It holds them as arrays: a buffer goes back
// without a pointer to a slice made for it.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[copyBufSize]byte); ok {
		return v[:]
	}
	return new([copyBufSize]byte)[:]
}

// Put takes back a buffer Get lent; any other is left to the collector.
func (b *bufferPool) Put(buf []byte) {
	if len(buf) == copyBufSize {
		b.p.Put((*[copyBufSize]byte)(buf))
	}
}

// remoteAddrConn reports the client's address as the proxy saw it, and
// closes its listener when it is closed.
type remoteAddrConn struct {
	net.Conn
	remote string
	closed *connListener
}

func (c *remoteAddrConn) Close() error {
	err := c.Conn.Close()
	if c.closed != nil {
		c.closed.Close()
	}
	return err
}

type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }

func (c *remoteAddrConn) RemoteAddr() net.Addr { return addrString(c.remote) }

// connListener accepts one connection, then waits for it to close.
type connListener struct {
	conn     net.Conn
	once     sync.Once
	shut     sync.Once
	done     chan struct{}
	accepted atomic.Bool
}

func (l *connListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.conn; l.accepted.Store(true) })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *connListener) Close() error {
	l.shut.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.conn.LocalAddr() }

// stallReader gives every read of a request body the stall deadline, and
// takes it away at the end so the server's own reads are not cut.
type stallReader struct {
	io.ReadCloser
	rc *http.ResponseController
	d  time.Duration
}

func (s *stallReader) Read(b []byte) (int, error) {
	_ = s.rc.SetReadDeadline(time.Now().Add(s.d))
	n, err := s.ReadCloser.Read(b)
	if err != nil {
		_ = s.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// stallWriter gives every write of a response the stall deadline.
type stallWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (s *stallWriter) Write(b []byte) (int, error) {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.d))
	return s.ResponseWriter.Write(b)
}

// upstreamBody cuts an answer's body that goes stall without a byte
// arriving: it cancels the request with a stallError, which reads as a
// timeout.
type upstreamBody struct {
	io.ReadCloser
	d     time.Duration
	timer *time.Timer
	fired atomic.Bool
}

func newUpstreamBody(rc io.ReadCloser, d time.Duration, cancel context.CancelCauseFunc) *upstreamBody {
	b := &upstreamBody{ReadCloser: rc, d: d}
	b.timer = time.AfterFunc(d, func() {
		b.fired.Store(true)
		cancel(stallError{d})
	})
	b.timer.Stop()
	return b
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.d)
	n, err := b.ReadCloser.Read(p)
	b.timer.Stop()
	if err != nil && b.fired.Load() {
		return n, stallError{b.d}
	}
	return n, err
}

// stallError is an answer from the Hub that stopped arriving.
type stallError struct{ d time.Duration }

func (e stallError) Error() string {
	return fmt.Sprintf("its answer stopped arriving for %s", e.d)
}

func (stallError) Timeout() bool { return true }

// Unwrap lets http.ResponseController reach the connection.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Listener caps the client connections ln accepts at the proxy's
// MaxConns: past it, a connection is answered 503 with a sentence and
// closed.
func (p *Proxy) Listener(ln net.Listener) net.Listener {
	return &capListener{Listener: ln, p: p, slots: make(chan struct{}, p.limits.MaxConns)}
}

type capListener struct {
	net.Listener
	p     *Proxy
	slots chan struct{}
	peak  atomic.Int64 // the most connections open at once since none were
}

// burstConns is how many connections at once make a burst: when the last
// of them closes, the proxy lets go of what it held for them.
const burstConns = 64

// release gives a connection's slot back; the last of a burst frees what
// the burst left behind.
func (l *capListener) release() {
	<-l.slots
	if len(l.slots) == 0 && l.peak.Load() >= burstConns && l.peak.Swap(0) >= burstConns {
		go l.p.afterBurst()
	}
}

// afterBurst closes the idle upstream connections a burst of clients
// opened and returns the memory their buffers held to the OS, so that a
// proxy that served hundreds of connections goes back to its resting
// size instead of keeping the heap of its busiest moment.
func (p *Proxy) afterBurst() {
	p.tr.CloseIdleConnections()
	runtime.GC() // the buffer pool's victims, freed by the next
	debug.FreeOSMemory()
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			if n := int64(len(l.slots)); n > l.peak.Load() {
				l.peak.Store(n)
			}
			s := &slotConn{Conn: newFramedConn(c, l.p.limits.MaxHeaderBytes)}
			s.release = func() { l.p.conns.removeClient(s); l.release() }
			l.p.conns.addClient(s)
			return s, nil
		default:
			l.p.rejected.Add(1)
			go l.p.tooMany(c)
		}
	}
}

// tooMany answers a connection past the cap.
func (p *Proxy) tooMany(c net.Conn) {
	defer c.Close()
	p.log.Warn("connection refused: too many connections", "client", c.RemoteAddr().String(), "max_conns", p.limits.MaxConns)
	body := fmt.Sprintf("oat-proxy serves at most %d connections at once (--max-conns): try again shortly\n", p.limits.MaxConns)
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// slotConn gives its slot back when closed, hijacked or not.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite and CloseRead keep a tunnel's half-close, as goproxy does
// for TCP connections, through the wrappers between (a metric's).
func (c *slotConn) CloseWrite() error { return closeWrite(c.Conn, c) }
func (c *slotConn) CloseRead() error  { return closeRead(c.Conn, c) }

// halfCloser is a connection that closes one way at a time.
type halfCloser interface {
	CloseWrite() error
	CloseRead() error
}

// closeWrite closes the writing half of the connection c is or wraps, or
// whole when it has no halves.
func closeWrite(c net.Conn, whole io.Closer) error {
	if h := halves(c); h != nil {
		return h.CloseWrite()
	}
	return whole.Close()
}

// closeRead closes the reading half of the connection c is or wraps, or
// whole when it has no halves.
func closeRead(c net.Conn, whole io.Closer) error {
	if h := halves(c); h != nil {
		return h.CloseRead()
	}
	return whole.Close()
}

// Rejected is how many connections were refused past the cap.
func (p *Proxy) Rejected() int64 { return p.rejected.Load() }
