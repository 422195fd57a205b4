package hubtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"github.com/oatkit/oat/internal/hub"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// hubNames are the Docker Hub API names the hub's certificate is valid for
// and Transport dials the hub for; its CDN host is the other.
var hubNames = []string{hub.RegistryHost, hub.IndexHost, hub.AuthHost, hub.APIHost, hub.DockerIOHost, hub.RegistryHubHost}

// names are the names the hub answers for: hubNames and its CDN host.
func (h *Hub) names() []string { return append(slices.Clone(hubNames), h.opts.CDNHost) }

// registryNames are the hosts whose requests go to the registry.
var registryNames = []string{hub.RegistryHost, hub.IndexHost, hub.DockerIOHost, hub.RegistryHubHost, "localhost", "127.0.0.1", "::1"}

// listen starts serving TLS on the configured address.
func (h *Hub) listen() error {
	names := append(h.names(), "localhost")
	leaf, err := h.ca.leaf(names, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", h.opts.Addr)
	if err != nil {
		return err
	}
	h.ln = ln
	h.srv = &http.Server{
		Handler:           h.logged(http.HandlerFunc(h.route)),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{leaf}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          discardLog,
	}
	go func() { _ = h.srv.ServeTLS(ln, "", "") }()
	return nil
}

// hostOnly is the request's host without its port, in lower case.
func hostOnly(r *http.Request) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}

// route sends a request to the registry, the token service, the org API or
// the CDN by the host it was sent to.
func (h *Hub) route(w http.ResponseWriter, r *http.Request) {
	switch host := hostOnly(r); {
	case slices.Contains(registryNames, host):
		h.noteBearer(r)
		requestEntry(r).Needs = registryNeeds(r)
		h.app.ServeHTTP(w, r)
	case host == hub.AuthHost:
		h.serveToken(w, r)
	case host == hub.APIHost:
		h.serveAPI(w, r)
	case host == h.opts.CDNHost && h.cdn != nil:
		h.cdn.ServeHTTP(w, r)
	default:
		http.Error(w, "the stand-in hub does not serve "+host, http.StatusMisdirectedRequest)
	}
}

// Addr is the address the hub listens on, host:port.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// CACertPEM is the PEM of the CA that signed the hub's certificate.
func (h *Hub) CACertPEM() []byte { return h.ca.certPEM() }

// CAPool is a pool holding only the hub's CA.
func (h *Hub) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(h.ca.cert)
	return p
}

// CertFile writes the hub's CA certificate to dir, readable by all, for
// SSL_CERT_FILE bundles and Docker's certs.d, and returns its path.
func (h *Hub) CertFile(dir string) (string, error) {
	path := filepath.Join(dir, "standin-ca.pem")
	if err := os.WriteFile(path, h.CACertPEM(), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// Transport trusts the hub's CA and dials the hub for every Docker Hub host
// name (and its CDN host) on port 443, so Go clients can use the real names without a hosts
// file. It refuses other hosts. Close closes its idle connections.
func (h *Hub) Transport() *http.Transport {
	addr := h.Addr()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	t := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, target string) (net.Conn, error) {
			if target != addr && !h.isHubTarget(target) {
				return nil, fmt.Errorf("the stand-in hub's transport does not reach %s", target)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: h.CAPool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     30 * time.Second,
	}
	h.mu.Lock()
	h.transports = append(h.transports, t)
	h.mu.Unlock()
	return t
}

// isHubTarget reports whether host:port is one of the hub's names on port
// 443.
func (h *Hub) isHubTarget(target string) bool {
	host, port, err := net.SplitHostPort(target)
	return err == nil && port == "443" && slices.Contains(h.names(), strings.ToLower(host))
}
