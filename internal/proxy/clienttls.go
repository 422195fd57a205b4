package proxy

import (
	"crypto/tls"
	"net"
	"strings"
	"sync"
)

// The client leg's TLS: one configuration per intercepted host and kind
// of client, made once and kept while the CA's leaf for the host is the
// same. Kept, it keeps its session ticket keys (rotated by crypto/tls), so
// a client that offers a ticket from an earlier connection resumes instead
// of a full handshake; and no connection pays for a new configuration.
//
// A client on this machine (loopback, a Unix socket) gets X25519 alone:
// the hybrid post-quantum exchange (X25519MLKEM768, which Go otherwise
// prefers whenever a client offers it) guards traffic someone records on a
// network to decrypt later, and this leg crosses none; it is a large part
// of the proxy's side of each handshake. Any other client, as behind
// --allow-remote, gets Go's defaults. docs/security.md says the same.

// localCurves are the key exchanges offered to a client on this machine.
var localCurves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}

type serverKey struct {
	host  string
	local bool
}

type serverConfig struct {
	leaf *tls.Certificate // the CA's leaf the configuration holds
	cfg  *tls.Config
}

// serverConfigs are the client leg's configurations, by host and kind of
// client.
type serverConfigs struct {
	mu sync.Mutex
	m  map[serverKey]serverConfig
}

// maxServerConfigs bounds the configurations kept: the intercepted hosts
// are Docker Hub's few.
const maxServerConfigs = 64

// serverTLS is the configuration to terminate a client's TLS for host
// with; local says the client is on this machine.
func (p *Proxy) serverTLS(host string, local bool) (*tls.Config, error) {
	h, _ := splitHost(host)
	h = strings.ToLower(h)
	leaf, err := p.cfg.CA.Leaf(h)
	if err != nil {
		return nil, err
	}
	k := serverKey{host: h, local: local}
	s := &p.serverConfs
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[k]; ok && c.leaf == leaf {
		return c.cfg, nil
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{*leaf}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	if local {
		cfg.CurvePreferences = localCurves
	}
	if s.m == nil || len(s.m) >= maxServerConfigs {
		s.m = map[serverKey]serverConfig{}
	}
	s.m[k] = serverConfig{leaf: leaf, cfg: cfg}
	return cfg, nil
}

// onThisMachine reports whether a client's address is on this machine:
// loopback, or a Unix socket.
func onThisMachine(a net.Addr) bool {
	if a == nil {
		return false
	}
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	if a.Network() == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
