// Package standin is a stand-in for Docker Hub, for tests and the demo: a
// real distribution registry, in-process, behind token auth, with a token
// service that grants organization access token (OAT) scopes the way Docker
// Hub does, all on one TLS listener that answers for the Hub's host names
// with a certificate from a CA made for this hub alone.
package standin

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"

	// The registry's token auth and storage drivers register themselves.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"

	"github.com/oatkit/oat/internal/hub"
)

// The names the registry's token auth is configured with, as Docker Hub's.
const (
	Realm   = "https://auth.docker.io/token"
	Service = "registry.docker.io"
	issuer  = "auth.docker.io (stand-in)"
)

// Token is an organization access token the stand-in hub accepts.
type Token struct {
	Org        string    // the organization: the username clients send
	Label      string    // for the request log
	Secret     string    // "dckr_oat_…"
	Pull       []string  // repositories with pull; "acme/*" is every repository of acme
	Push       []string  // repositories with push (push implies pull)
	PublicRead bool      // "Read public repositories"
	OrgScopes  []string  // organization scopes, such as "member-read"
	Expires    time.Time // zero: never
	Inactive   bool
}

// Options configure a Hub.
type Options struct {
	Addr       string   // listen address; "127.0.0.1:0" if empty
	StorageDir string   // the registry's filesystem root; in memory if empty
	Tokens     []Token  // the tokens accepted
	Public     []string // public repositories besides library/*
	Debug      bool     // registry logs on stderr
}

// Request is one request the hub answered, without any secret.
type Request struct {
	Time      time.Time
	Host      string
	Method    string
	Path      string
	Principal string   // the organization of a token request; "" if anonymous or not a token request
	Label     string   // the token's label
	Asked     []string // scopes asked for, as sent
	Granted   []string // scopes granted, "repository:acme/app:pull,push"
	Status    int
}

// Hub is a running stand-in hub.
type Hub struct {
	opts   Options
	ca     *authority
	signer *ecdsa.PrivateKey
	kid    string
	tmp    string
	ln     net.Listener
	srv    *http.Server
	app    http.Handler
	seed   Token // the hub's own token for Seed

	mu       sync.Mutex
	tokens   []Token
	refresh  map[string]refreshGrant
	requests []Request

	closeOnce sync.Once
	closeErr  error
}

// Start starts a hub; Close stops it.
func Start(ctx context.Context, opts Options) (*Hub, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	h := &Hub{opts: opts, tokens: append([]Token(nil), opts.Tokens...), refresh: map[string]refreshGrant{}}
	var err error
	if h.ca, err = newAuthority(); err != nil {
		return nil, err
	}
	if h.signer, h.kid, err = newSigner(); err != nil {
		return nil, err
	}
	h.seed = Token{Org: "standin-seed", Label: "seed", Secret: randomString(32), Push: []string{"*"}}
	if h.tmp, err = os.MkdirTemp("", "standin-"); err != nil {
		return nil, err
	}
	if err := h.startRegistry(ctx); err != nil {
		os.RemoveAll(h.tmp)
		return nil, err
	}
	if err := h.listen(); err != nil {
		os.RemoveAll(h.tmp)
		return nil, err
	}
	return h, nil
}

func (h *Hub) startRegistry(ctx context.Context) (err error) {
	bundle := filepath.Join(h.tmp, "token-signer.pem")
	certPEM, err := signerCertificate(h.signer)
	if err != nil {
		return err
	}
	if err := os.WriteFile(bundle, certPEM, 0o600); err != nil {
		return err
	}
	storage := configuration.Storage{"inmemory": configuration.Parameters{}}
	if h.opts.StorageDir != "" {
		storage = configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": h.opts.StorageDir}}
	}
	storage["delete"] = configuration.Parameters{"enabled": false}
	storage["maintenance"] = configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}}

	cfg := &configuration.Configuration{Storage: storage}
	cfg.Auth = configuration.Auth{"token": configuration.Parameters{
		"realm": Realm, "service": Service, "issuer": issuer, "rootcertbundle": bundle,
	}}
	cfg.HTTP.Secret = randomString(32)

	if h.opts.Debug {
		logrus.SetOutput(os.Stderr)
		logrus.SetLevel(logrus.DebugLevel)
	} else {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.PanicLevel)
	}
	// NewApp reports configuration errors by panicking.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stand-in registry: %v", r)
		}
	}()
	h.app = handlers.NewApp(ctx, cfg)
	return nil
}

func (h *Hub) listen() error {
	leaf, err := h.ca.leaf(serverNames, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
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

// serverNames are the names the hub's certificate is valid for.
var serverNames = []string{hub.RegistryHost, hub.IndexHost, hub.AuthHost, hub.APIHost, "docker.io", "localhost"}

// route sends a request to the registry, the token service or the org API
// by the host it was sent to.
func (h *Hub) route(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if hostOnly, _, err := net.SplitHostPort(host); err == nil {
		host = hostOnly
	}
	switch strings.ToLower(host) {
	case hub.RegistryHost, hub.IndexHost, "docker.io", "localhost", "127.0.0.1", "::1":
		h.app.ServeHTTP(w, r)
	case hub.AuthHost:
		h.serveToken(w, r)
	case hub.APIHost:
		h.serveAPI(w, r)
	default:
		http.Error(w, "the stand-in hub does not serve "+host, http.StatusMisdirectedRequest)
	}
}

// Addr is the address the hub listens on.
func (h *Hub) Addr() string { return h.ln.Addr().String() }

// CACertPEM is the PEM of the CA that signed the hub's certificate.
func (h *Hub) CACertPEM() []byte { return h.ca.certPEM() }

// CAPool is a pool holding only the hub's CA.
func (h *Hub) CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(h.ca.cert)
	return p
}

// Transport trusts the hub's CA and dials the hub for every Docker Hub host
// name, so Go clients can use the real names without a hosts file. Other
// hosts are refused.
func (h *Hub) Transport() *http.Transport {
	addr := h.Addr()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, target string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(target)
			if err != nil {
				return nil, err
			}
			if port == "443" && isServed(host) {
				return dialer.DialContext(ctx, network, addr)
			}
			if target == addr {
				return dialer.DialContext(ctx, network, addr)
			}
			return nil, fmt.Errorf("the stand-in hub's transport does not reach %s", target)
		},
		TLSClientConfig:     &tls.Config{RootCAs: h.CAPool(), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

func isServed(host string) bool {
	for _, n := range serverNames {
		if strings.EqualFold(host, n) {
			return true
		}
	}
	return false
}

// AddToken makes the hub accept another token.
func (h *Hub) AddToken(t Token) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens = append(h.tokens, t)
}

// Requests returns the requests answered so far.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Request, len(h.requests))
	copy(out, h.requests)
	return out
}

// Close stops the hub and removes its files. It is safe to call twice.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.closeErr = err
			_ = h.srv.Close()
		}
		if err := os.RemoveAll(h.tmp); err != nil && h.closeErr == nil {
			h.closeErr = err
		}
	})
	return h.closeErr
}
