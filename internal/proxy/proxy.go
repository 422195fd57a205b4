// Package proxy is oat-proxy: an HTTP forward proxy that intercepts Docker
// Hub's hosts, checks every token and registry request against the scopes
// of the organization access token in use, and refuses out-of-scope ones
// with a registry error before anything is sent upstream. Every other host
// is tunnelled untouched.
package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/elazarl/goproxy"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// Config configures a Proxy.
type Config struct {
	Tokens TokenSource
	CA     *CA
	// Upstream maps an intercepted host to the address to dial for it
	// (host:port), keeping the host for SNI, certificates and Host.
	Upstream map[string]string
	// RootCAs verify upstream servers (the system's, honouring
	// SSL_CERT_FILE and SSL_CERT_DIR, if nil).
	RootCAs *x509.CertPool
	// DenyOtherHosts refuses CONNECT to hosts that are not intercepted.
	DenyOtherHosts bool
	Audit          io.Writer
	Log            *slog.Logger
}

// Proxy is the proxy's handler.
type Proxy struct {
	cfg    Config
	gp     *goproxy.ProxyHttpServer
	tokens *index
	audit  *auditLog
	log    *slog.Logger
	sent   redirects // the CDN hosts clients were redirected to

	noticeMu sync.Mutex
	noticed  map[string]bool
}

// maxForm bounds a token POST's body.
const maxForm = 64 << 10

// New builds the proxy.
func New(cfg Config) *Proxy {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, tokens: newIndex(cfg.Tokens), audit: &auditLog{w: cfg.Audit}, log: cfg.Log, noticed: map[string]bool{}}
	gp := goproxy.NewProxyHttpServer()
	gp.Verbose = false
	gp.Logger = discardLogger{}
	gp.Tr = p.upstreamTransport()
	gp.ConnectDial = p.dialTunnel
	gp.OnRequest().HandleConnectFunc(p.onConnect)
	gp.OnRequest().DoFunc(p.onRequest)
	gp.OnResponse().DoFunc(p.onResponse)
	gp.NonproxyHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "oat-proxy is a forward proxy: set HTTPS_PROXY=http://"+r.Host, http.StatusBadRequest)
	})
	p.gp = gp
	return p
}

// ServeHTTP serves proxy requests.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.gp.ServeHTTP(w, r) }

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

func splitHost(hostport string) (host, port string) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, ""
	}
	return h, p
}

// onConnect intercepts the Hub's hosts on 443, tunnels or refuses others.
// With --deny-other-hosts it still tunnels Docker Hub's blob hosts: those
// of hub.BlobHosts on 443, and the host of a Location the proxy relayed to
// this client in a redirect from a blob download, for redirectTTL. They
// are never intercepted: the URL is pre-signed, and the scope check
// happened on the registry request that produced the redirect.
func (p *Proxy) onConnect(hostport string, ctx *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	host, port := splitHost(hostport)
	if hub.IsAPIHost(host) {
		if port != "443" {
			return refuseConnect(fmt.Sprintf("oat-proxy intercepts %s on port 443 only", host)), hostport
		}
		return &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: p.tlsFor}, hostport
	}
	now := time.Now()
	entry := auditEntry{Time: now, Client: ctx.Req.RemoteAddr, Method: "CONNECT", Host: hostport, Kind: "tunnel", Decision: "passed"}
	switch {
	case p.sent.followed(clientOf(ctx.Req.RemoteAddr), hostport, now):
		entry.Reason = "follows a Docker Hub redirect the proxy relayed to this client: tunnelled untouched"
	case port == "443" && hub.IsBlobHost(host):
		entry.Reason = "a Docker Hub blob host: tunnelled untouched"
	case p.cfg.DenyOtherHosts:
		entry.Decision, entry.Reason = "denied", "--deny-other-hosts"
		p.audit.write(entry)
		return refuseConnect("oat-proxy runs with --deny-other-hosts: " + host + " is not a Docker Hub host"), hostport
	default:
		entry.Reason = "not a Docker Hub host: tunnelled untouched"
	}
	p.audit.write(entry)
	return goproxy.OkConnect, hostport
}

// refuseConnect answers a CONNECT with 403 and a reason.
func refuseConnect(reason string) *goproxy.ConnectAction {
	return &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: func(_ *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
		defer client.Close()
		body := reason + "\n"
		fmt.Fprintf(client, "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	}}
}

func (p *Proxy) tlsFor(host string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
	h, _ := splitHost(host)
	leaf, err := p.cfg.CA.Leaf(strings.ToLower(h))
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{*leaf}, MinVersion: tls.VersionTLS12}, nil
}

// upstreamTransport verifies upstream TLS, never uses HTTPS_PROXY, and
// dials --upstream addresses for their hosts.
func (p *Proxy) upstreamTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, p.upstreamAddr(addr))
		},
		TLSClientConfig:       &tls.Config{RootCAs: p.cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
		DisableCompression:    true,
	}
}

func (p *Proxy) upstreamAddr(addr string) string {
	host, _ := splitHost(addr)
	if a, ok := p.cfg.Upstream[strings.ToLower(host)]; ok {
		return a
	}
	return addr
}

// dialTunnel dials a tunnelled host directly (never through HTTPS_PROXY).
func (p *Proxy) dialTunnel(network, addr string) (net.Conn, error) {
	return (&net.Dialer{Timeout: 30 * time.Second}).Dial(network, p.upstreamAddr(addr))
}

// state travels from a request to its response.
type state struct {
	entry    auditEntry
	tok      *oat.Token
	kind     registry.Kind
	download bool // a blob GET, which Docker Hub answers with a redirect
}

func (p *Proxy) onRequest(r *http.Request, ctx *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	host, _ := splitHost(r.URL.Host)
	if !hub.IsAPIHost(host) {
		if p.cfg.DenyOtherHosts {
			return r, textResponse(r, http.StatusForbidden, "oat-proxy runs with --deny-other-hosts: "+host+" is not a Docker Hub host")
		}
		return r, nil
	}
	entry := auditEntry{Time: time.Now(), Client: r.RemoteAddr, Agent: r.UserAgent(), Method: r.Method, Host: host, Path: r.URL.Path}
	if r.URL.Scheme != "https" {
		entry.Decision, entry.Reason = "denied", "plain HTTP to a Docker Hub host"
		p.audit.write(entry)
		return r, textResponse(r, http.StatusForbidden, "oat-proxy refuses plain HTTP to "+host+": use https")
	}
	var form url.Values
	if host == hub.AuthHost && r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
		if err != nil || len(body) > maxForm {
			return r, registryError(r, http.StatusBadRequest, "UNSUPPORTED", "token request body too large or unreadable", nil)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ = url.ParseQuery(string(body))
	}
	req, err := registry.Classify(host, r, form)
	if err != nil {
		entry.Decision, entry.Reason = "denied", err.Error()
		p.audit.write(entry)
		return r, registryError(r, http.StatusBadRequest, "NAME_INVALID", err.Error(), nil)
	}
	entry.Kind = req.Kind.String()
	if len(req.Access) > 0 {
		entry.Repo = req.Access[0].Repo
		entry.Action = strings.Join(req.Access[0].Actions, ",")
	}
	if req.Kind == registry.KindRegistry && r.Header.Get("Authorization") == "" {
		// Docker Hub answers every registry request without a bearer
		// token with this challenge; answering it here keeps probes for
		// repositories a token may not touch from reaching the Hub.
		entry.Decision, entry.Reason = "challenged", "no bearer token: answered with the Hub's challenge"
		p.audit.write(entry)
		return r, challenge(r, req)
	}
	tok, how := p.tokenFor(req)
	st := &state{entry: entry, kind: req.Kind, download: req.BlobDownload}
	ctx.UserData = st
	if tok == nil {
		st.entry.Decision, st.entry.Reason = "passed", how
		return r, nil
	}
	st.tok = tok
	st.entry.Label, st.entry.Org = tok.Label, tok.Org
	var d Decision
	switch req.Kind {
	case registry.KindToken, registry.KindRegistry:
		d = Decide(*tok, req.Access)
	case registry.KindAPI:
		d = DecideOrg(*tok, req.Org, req.OrgScope)
	default:
		d = Decision{Allow: true, Reason: "nothing to check"}
	}
	if tok.Scopes.Unknown {
		p.noticeOnce(tok)
	}
	if d.Allow {
		st.entry.Decision, st.entry.Reason = "allowed", d.Reason
		return r, nil
	}
	st.entry.Decision, st.entry.Reason = "denied", d.Reason
	st.entry.Repo, st.entry.Action = d.Repo, d.Action
	p.audit.write(st.entry)
	ctx.UserData = nil
	p.log.Info("refused: "+d.Message, "label", tok.Label, "org", tok.Org, "repository", d.Repo, "action", d.Action, "client", r.RemoteAddr)
	resp := registryError(r, http.StatusForbidden, "DENIED", d.Message, map[string]string{
		"token": tok.Label, "org": tok.Org, "repository": d.Repo, "action": d.Action,
	})
	if r.ContentLength != 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp.Close = true // the client's body is not read
		resp.Header.Set("Connection", "close")
	}
	return r, resp
}

// tokenFor finds the token a request uses: by the secret sent, or by the
// refresh or bearer token the proxy saw it obtain.
func (p *Proxy) tokenFor(req registry.Request) (*oat.Token, string) {
	if req.Secret != "" {
		if t, ok := p.tokens.lookup(req.Secret); ok {
			return &t, ""
		}
		return nil, "credentials of no token in the store: not ours to judge"
	}
	for _, v := range []string{req.RefreshToken, req.Bearer} {
		if t, ok := p.tokens.obtainedBy(v); ok {
			return &t, ""
		}
	}
	if req.RefreshToken != "" || req.Bearer != "" {
		return nil, "a token the proxy did not see issued: not ours to judge"
	}
	return nil, "no credentials"
}

func (p *Proxy) noticeOnce(t *oat.Token) {
	p.noticeMu.Lock()
	defer p.noticeMu.Unlock()
	if !p.noticed[t.ID()] {
		p.noticed[t.ID()] = true
		p.log.Warn("token scopes unknown: its requests are not checked; record them with docker-credential-oat token edit or token import", "label", t.Label, "org", t.Org)
	}
}

// onResponse remembers the bearer and refresh tokens an allowed token
// request obtained and the host a blob download was redirected to, and
// writes the audit line.
func (p *Proxy) onResponse(resp *http.Response, ctx *goproxy.ProxyCtx) *http.Response {
	st, ok := ctx.UserData.(*state)
	if !ok || st == nil {
		return resp
	}
	if resp != nil {
		st.entry.Upstream = resp.StatusCode
		if target := redirectTarget(resp); st.download && target != "" {
			// The Location goes to the client untouched; only its host
			// is kept (and logged): its query is a signature.
			p.sent.note(clientOf(st.entry.Client), target, time.Now())
			st.entry.Redirect = target
		}
	}
	p.audit.write(st.entry)
	if resp == nil || st.tok == nil || st.kind != registry.KindToken || resp.StatusCode != http.StatusOK {
		return resp
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp
	}
	var tr struct {
		Token        string `json:"token"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
	}
	if json.Unmarshal(body, &tr) == nil {
		ttl := time.Duration(tr.ExpiresIn) * time.Second
		if ttl <= 0 {
			ttl = 5 * time.Minute
		}
		p.tokens.remember(tr.Token, *st.tok, ttl+time.Minute)
		p.tokens.remember(tr.AccessToken, *st.tok, ttl+time.Minute)
		p.tokens.remember(tr.RefreshToken, *st.tok, 90*24*time.Hour)
	}
	return resp
}

// Realm and Service are Docker Hub's token service, as its registry names
// them in challenges.
const (
	Realm   = "https://auth.docker.io/token"
	Service = "registry.docker.io"
)

// challenge is the 401 Docker Hub's registry answers a request without a
// bearer token with.
func challenge(r *http.Request, req registry.Request) *http.Response {
	resp := registryError(r, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required", nil)
	resp.Header.Set("Www-Authenticate", fmt.Sprintf(`Bearer realm=%q,service=%q,scope=%q`, Realm, Service, strings.Join(req.Scopes(), " ")))
	return resp
}

// registryError is a registry API error response.
func registryError(r *http.Request, status int, code, msg string, detail any) *http.Response {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": code, "message": msg, "detail": detail}}})
	resp := goproxy.NewResponse(r, "application/json; charset=utf-8", status, string(body)+"\n")
	resp.Header.Set("Docker-Distribution-API-Version", "registry/2.0")
	return resp
}

func textResponse(r *http.Request, status int, msg string) *http.Response {
	return goproxy.NewResponse(r, goproxy.ContentTypeText, status, msg+"\n")
}
