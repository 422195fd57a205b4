// Package standin is a stand-in for Docker Hub, for tests and the demo: a
// real distribution registry, in-process, behind token auth, with a token
// service that grants organization access token (OAT) scopes the way Docker
// Hub does, all on one TLS listener that answers for the Hub's host names
// with a certificate from a CA made for this hub alone. Like the Hub, it
// answers an authorised blob GET with a 307 to a signed, expiring URL on a
// CDN host (also on that listener) unless Options.DirectBlobs is set.
package hubtest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/registry/handlers"

	"github.com/oatkit/oat/internal/hub"
)

// issuer signs the stand-in's bearer tokens; the realm, service and host
// names it answers for are Docker Hub's own (package hub).
const issuer = "auth.docker.io (stand-in)"

// Token is an organization access token the stand-in hub accepts.
type Token struct {
	Org        string    // the organization: the username clients send, e.g. "acme"
	Label      string    // for the request log
	Secret     string    // "dckr_oat_…"
	Pull       []string  // repositories with pull; "acme/*" is every repository of acme
	Push       []string  // repositories with push (push implies pull)
	PublicRead bool      // "Read public repositories": pull of public repositories
	OrgScopes  []string  // organization scopes, such as "member-read"
	Expires    time.Time // zero: never
	Inactive   bool

	// The Hub API's record of the token (Start makes one for the tokens
	// of Options.Tokens that have none).
	ID          string
	Description string
	CreatedBy   string
	Created     time.Time
	LastUsed    time.Time // zero: never used
	Resources   []Resource
}

// Options configure a Hub.
type Options struct {
	Addr       string   // listen address; "127.0.0.1:0" if empty
	StorageDir string   // the registry's filesystem root; in memory if empty
	Tokens     []Token  // the tokens accepted
	Public     []string // public repositories besides library/*
	Debug      bool     // registry logs on stderr; silenced otherwise
	// DirectBlobs serves blobs from the registry host, as a registry
	// without a CDN or a mirror does. By default the hub does what Docker
	// Hub does: an authorised blob GET is answered with a 307 to a signed,
	// expiring URL on Options.CDNHost, so every test sees the redirect
	// real pulls see unless it asks not to.
	DirectBlobs bool
	// CDNHost is the host blob GETs are redirected to;
	// hub.CloudflareBlobHost (one of Docker Hub's real blob hosts) if
	// empty. Another name stands for a CDN host Docker adds.
	CDNHost string
	// Owners may sign in to the Hub API and manage their organizations'
	// access tokens there.
	Owners []Owner
	// TokenLimit is how many access tokens an organization may hold
	// (DefaultTokenLimit if 0).
	TokenLimit int
}

// Request is one request the hub answered, without any secret.
type Request struct {
	Time      time.Time
	Host      string // as sent, with the port if the client sent one
	Method    string
	Path      string // without the query
	Principal string // the token's organization; "" if anonymous
	Label     string // the token's label
	// SecretHash names the secret a token request carried, accepted or
	// not (see SecretHash); "" when it carried none.
	SecretHash string
	Asked      []string // scopes asked of the token service, as sent
	Granted    []string // scopes the token service granted, "repository:acme/app:pull,push"
	// Needs is what the hub's own reading of a registry or API request
	// says it needs: "repository:acme/app:push", "org:acme:member-edit",
	// or "unknown:…" for what it cannot place.
	Needs  []string
	Status int
}

// Hub is a running stand-in hub.
type Hub struct {
	opts   Options
	ca     *authority
	signer *ecdsa.PrivateKey
	kid    string
	tmp    string
	app    *handlers.App
	cdn    *cdn // nil with DirectBlobs
	ln     net.Listener
	srv    *http.Server
	seed   Token           // the hub's own token, for Seed
	client *http.Transport // the hub's own client transport, for Seed

	mu         sync.Mutex
	tokens     []Token
	refresh    map[string]credentials  // refresh token → the token it stands for
	apiTokens  map[string]credentials  // Hub API JWT → the token that logged in
	owners     map[string]ownerSession // Hub API JWT → the owner that signed in
	failures   []int                   // statuses the access token API answers next
	padding    int                     // bytes of padding in token responses
	issued     map[string]principal    // bearer token ID → the token it was issued to
	requests   []Request
	transports []*http.Transport // handed out by Transport, closed by Close

	closeOnce sync.Once
	closeErr  error
}

// credentials name a token by organization and secret.
type credentials struct {
	org, secret string
}

// principal names a token in the request log.
type principal struct {
	org, label string
}

// Start starts a hub; Close stops it.
func Start(ctx context.Context, opts Options) (*Hub, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.CDNHost == "" {
		opts.CDNHost = hub.CloudflareBlobHost
	}
	opts.CDNHost = strings.ToLower(opts.CDNHost)
	h := &Hub{
		opts:      opts,
		tokens:    append([]Token(nil), opts.Tokens...),
		refresh:   map[string]credentials{},
		apiTokens: map[string]credentials{},
		owners:    map[string]ownerSession{},
		issued:    map[string]principal{},
		seed:      Token{Org: "standin-seed", Label: "seed", Secret: randomString(32), Push: []string{"*"}},
	}
	for i := range h.tokens {
		h.tokens[i].record()
	}
	if err := h.start(ctx); err != nil {
		h.cleanup()
		return nil, err
	}
	return h, nil
}

// start makes the keys, the registry and the listener.
func (h *Hub) start(ctx context.Context) error {
	var err error
	if h.ca, err = newAuthority(); err != nil {
		return err
	}
	if h.signer, h.kid, err = newSigner(); err != nil {
		return err
	}
	if h.tmp, err = os.MkdirTemp("", "standin-"); err != nil {
		return err
	}
	if !h.opts.DirectBlobs {
		h.cdn = newCDN(h.opts.CDNHost)
	}
	if h.app, err = h.newRegistry(ctx); err != nil {
		return err
	}
	if err := h.listen(); err != nil {
		return err
	}
	h.client = h.Transport()
	return nil
}

// AddToken makes the hub accept another token.
func (h *Hub) AddToken(t Token) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens = append(h.tokens, t)
}

// PadTokenResponses adds n bytes to every token response, as a hub gone
// wrong would.
func (h *Hub) PadTokenResponses(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.padding = n
}

// Requests returns the requests answered so far.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

// ForgetRequests empties the request log, for long runs whose memory
// should stay flat.
func (h *Hub) ForgetRequests() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = nil
}

// Close stops the hub and removes its files. It is safe to call twice.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		h.closeErr = h.shutdown()
		if err := h.cleanup(); err != nil && h.closeErr == nil {
			h.closeErr = err
		}
	})
	return h.closeErr
}

// shutdown closes the idle connections of the transports the hub handed
// out, so that HTTP/2 connections need not wait out their GOAWAY, then
// shuts the server down.
func (h *Hub) shutdown() error {
	h.mu.Lock()
	transports := h.transports
	h.mu.Unlock()
	for _, t := range transports {
		t.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.srv.Shutdown(ctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = h.srv.Close()
		return err
	}
	return nil
}

// cleanup stops the registry app and removes the hub's temporary files.
func (h *Hub) cleanup() error {
	if h.app != nil {
		_ = h.app.Shutdown()
	}
	if h.tmp == "" {
		return nil
	}
	return os.RemoveAll(h.tmp)
}
