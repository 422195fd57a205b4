package proxy

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// TunnelQuiet is how long a tunnel may carry nothing, while the proxy
// drains, before it is taken for idle (a client's kept-alive connection)
// and closed. A blob download in flight moves bytes all the time.
const TunnelQuiet = 2 * time.Second

// conns are the proxy's client connections, the servers of the tunnels it
// intercepts and the upstream connections of the tunnels it passes, so
// that Shutdown can wait for them and close them.
type conns struct {
	mu      sync.Mutex
	clients map[*slotConn]struct{}
	servers map[*http.Server]struct{}
	tunnels map[*tunnelConn]struct{}
	drain   bool
}

func (c *conns) addClient(s *slotConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients == nil {
		c.clients = map[*slotConn]struct{}{}
	}
	c.clients[s] = struct{}{}
}

func (c *conns) removeClient(s *slotConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.clients, s)
}

// addServer notes an intercepted tunnel's server; while draining, it
// serves the request in flight and no other.
func (c *conns) addServer(srv *http.Server) {
	c.mu.Lock()
	if c.servers == nil {
		c.servers = map[*http.Server]struct{}{}
	}
	c.servers[srv] = struct{}{}
	drain := c.drain
	c.mu.Unlock()
	if drain {
		srv.SetKeepAlivesEnabled(false) // closes idle connections: not under c.mu
	}
}

func (c *conns) removeServer(srv *http.Server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.servers, srv)
}

func (c *conns) addTunnel(t *tunnelConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tunnels == nil {
		c.tunnels = map[*tunnelConn]struct{}{}
	}
	c.tunnels[t] = struct{}{}
}

func (c *conns) removeTunnel(t *tunnelConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tunnels, t)
}

// Open is how many client connections are open.
func (p *Proxy) Open() int {
	p.conns.mu.Lock()
	defer p.conns.mu.Unlock()
	return len(p.conns.clients)
}

// Shutdown drains the proxy once its listener is closed (http.Server's
// Shutdown closes it and the connections it still serves itself): every
// request in flight inside an intercepted tunnel finishes and its
// connection closes, a passed tunnel closes once quiet for TunnelQuiet,
// and Shutdown returns when no client connection is left. When ctx ends
// first, the rest are closed: it returns how many, and ctx's error.
func (p *Proxy) Shutdown(ctx context.Context) (closed int, err error) {
	c := &p.conns
	c.mu.Lock()
	c.drain = true
	servers := make([]*http.Server, 0, len(c.servers))
	for srv := range c.servers {
		servers = append(servers, srv)
	}
	c.mu.Unlock()
	// Closing a connection takes c.mu (its slot is given back): never
	// under it.
	for _, srv := range servers {
		srv.SetKeepAlivesEnabled(false)
		go func() { _ = srv.Shutdown(ctx) }() // closes it once idle; ctx bounds it
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		var quiet []*tunnelConn
		c.mu.Lock()
		left := len(c.clients)
		for t := range c.tunnels {
			if now.Sub(time.Unix(0, t.last.Load())) >= TunnelQuiet {
				quiet = append(quiet, t)
			}
		}
		c.mu.Unlock()
		for _, t := range quiet {
			_ = t.Close() // goproxy's copy ends and closes the client's side
		}
		if left == 0 {
			return 0, nil
		}
		select {
		case <-ctx.Done():
			var rest []io.Closer
			c.mu.Lock()
			closed = len(c.clients)
			for s := range c.clients {
				rest = append(rest, s)
			}
			for t := range c.tunnels {
				rest = append(rest, t)
			}
			c.mu.Unlock()
			for _, r := range rest {
				_ = r.Close()
			}
			return closed, ctx.Err()
		case <-tick.C:
		}
	}
}

// touch notes that a tunnel carried bytes.
func (t *tunnelConn) touch() { t.last.Store(time.Now().UnixNano()) }
