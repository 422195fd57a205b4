// Package proxy is oat-proxy: an HTTP forward proxy that intercepts Docker
// Hub's hosts, checks every token and registry request against the scopes
// of the organization access token in use, and refuses out-of-scope ones
// with a registry error before anything is sent upstream. Every other host
// is tunnelled untouched.
package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/distribution/distribution/v3/registry/api/errcode"
	"github.com/elazarl/goproxy"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
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
	// Inject attaches the least-privileged token that covers it to every
	// token request that comes without credentials.
	Inject bool
	// Metrics counts decisions (nothing if nil).
	Metrics Recorder
	// Limits bound each client's work (defaults for zero fields).
	Limits Limits
	Audit  io.Writer
	Log    *slog.Logger
}

// Proxy is the proxy's handler.
type Proxy struct {
	cfg      Config
	limits   Limits
	gp       *goproxy.ProxyHttpServer
	tr       *http.Transport
	upstream *httputil.ReverseProxy
	tokens   *index
	audit    *auditLog
	log      *slog.Logger
	rejected atomic.Int64
	sent     redirects  // the CDN hosts clients were redirected to
	own      ownBearers // bearer tokens the proxy asked for itself
	conns    conns      // what Shutdown waits for

	serverConfs serverConfigs // the client leg's TLS, by host

	noticeMu sync.Mutex
	noticed  map[string]bool
	refusals refusals // the last sentences refused with, for run
}

// New builds the proxy.
func New(cfg Config) *Proxy {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, limits: cfg.Limits.withDefaults(), tokens: newIndex(cfg.Tokens), audit: &auditLog{w: cfg.Audit, log: cfg.Log, rec: cfg.Metrics}, log: cfg.Log, noticed: map[string]bool{}}
	p.tr = p.upstreamTransport()
	p.upstream = p.newUpstream()
	gp := goproxy.NewProxyHttpServer()
	gp.Verbose = false
	gp.Logger = discardLogger{}
	gp.Tr = p.tr
	gp.ConnectDial = p.dialTunnel
	gp.OnRequest().HandleConnectFunc(p.onConnect)
	gp.OnRequest().DoFunc(p.onRequest)
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
	if !strings.Contains(hostport, ":") {
		return hostport, "" // what SplitHostPort refuses, without its error
	}
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
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || !validHost(host) || !validPort(port) {
		// An empty host or port would dial this machine.
		p.connected(ctx.Req.RemoteAddr, clip(hostport), policy.MalformedConnect)
		return refuseConnectWith(http.StatusBadRequest, fmt.Sprintf("oat-proxy cannot read the CONNECT target %q: send host:port, the port a number from 1 to 65535", clip(hostport))), hostport
	}
	if hub.IsAPIHost(host) {
		if port != "443" {
			p.connected(ctx.Req.RemoteAddr, hostport, policy.HubPort)
			return refuseConnect(fmt.Sprintf("oat-proxy intercepts %s on port 443 only", host)), hostport
		}
		return p.mitm(hub.CanonicalHost(host)), hostport
	}
	now := time.Now()
	var c policy.Cause
	switch {
	case p.sent.followed(clientOf(ctx.Req.RemoteAddr), hostport, now):
		c = policy.FollowsRedirect
	case port == "443" && hub.IsBlobHost(host):
		c = policy.BlobHost
	case p.cfg.DenyOtherHosts:
		p.connected(ctx.Req.RemoteAddr, hostport, policy.OtherHostDenied)
		return refuseConnect("oat-proxy runs with --deny-other-hosts: " + host + " is not a Docker Hub host"), hostport
	default:
		c = policy.OtherHost
	}
	p.connected(ctx.Req.RemoteAddr, hostport, c)
	return goproxy.OkConnect, hostport
}

// connected writes the audit line of a CONNECT the proxy tunnels or
// refuses, for cause c.
func (p *Proxy) connected(client, hostport string, c policy.Cause) {
	e := auditEntry{Time: time.Now(), Client: client, Method: http.MethodConnect, Host: hostport, Kind: "tunnel"}
	e.judge(policy.Of(c, ""))
	p.audit.write(e)
}

// refuseConnect answers a CONNECT with 403 and a reason.
func refuseConnect(reason string) *goproxy.ConnectAction {
	return refuseConnectWith(http.StatusForbidden, reason)
}

func refuseConnectWith(status int, reason string) *goproxy.ConnectAction {
	return &goproxy.ConnectAction{Action: goproxy.ConnectHijack, Hijack: func(_ *http.Request, client net.Conn, _ *goproxy.ProxyCtx) {
		defer client.Close()
		body := reason + "\n"
		fmt.Fprintf(client, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", status, http.StatusText(status), len(body), body)
	}}
}

// validHost is an IP address or a DNS name (letters, digits, hyphens
// inside labels, an optional final dot).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i] | 0x20; !(c >= 'a' && c <= 'z' || label[i] >= '0' && label[i] <= '9' || label[i] == '-') {
				return false
			}
		}
	}
	return true
}

// validPort is a port number from 1 to 65535.
func validPort(p string) bool {
	n, ok := digits(p)
	return ok && len(p) <= 5 && n >= 1 && n <= 65535
}

// upstreamTransport verifies upstream TLS, never uses HTTPS_PROXY, and
// dials --upstream addresses for their hosts. It speaks HTTP/1.1, a
// connection per request in flight, with TLS sessions resumed: through
// HTTP/2's one connection layers and pushes moved slower, and streams held
// the hub's data in its buffers, where HTTP/1.1 leaves it in the kernel
// (BENCHMARKS.md, "HTTP/1.1 upstream").
func (p *Proxy) upstreamTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: p.limits.Dial, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, p.upstreamAddr(addr))
		},
		TLSClientConfig:       &tls.Config{RootCAs: p.cfg.RootCAs, MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(64)},
		TLSHandshakeTimeout:   min(15*time.Second, p.limits.Upstream),
		ResponseHeaderTimeout: p.limits.Upstream,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
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
	c, err := (&net.Dialer{Timeout: p.limits.Dial}).Dial(network, p.upstreamAddr(addr))
	if err != nil {
		return nil, err
	}
	t := &tunnelConn{Conn: c, rec: p.cfg.Metrics, conns: &p.conns}
	t.touch()
	p.conns.addTunnel(t)
	return t, nil
}

// onRequest sees the plain HTTP requests (CONNECT tunnels to the Hub's
// hosts are served by serveHub): the Hub's hosts are refused, others pass
// or, with --deny-other-hosts, are refused.
func (p *Proxy) onRequest(r *http.Request, _ *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	host, _ := splitHost(r.URL.Host)
	if hub.IsAPIHost(host) {
		host = hub.CanonicalHost(host)
		p.plain(r, host, policy.PlainHTTP)
		return r, textResponse(r, http.StatusForbidden, "oat-proxy refuses plain HTTP to "+host+": use https")
	}
	if p.cfg.DenyOtherHosts {
		p.plain(r, host, policy.OtherHostDenied)
		return r, textResponse(r, http.StatusForbidden, "oat-proxy runs with --deny-other-hosts: "+host+" is not a Docker Hub host")
	}
	return r, nil
}

// plain writes the audit line of a plain HTTP request the proxy refuses,
// for cause c.
func (p *Proxy) plain(r *http.Request, host string, c policy.Cause) {
	e := auditEntry{Time: time.Now(), Client: r.RemoteAddr, Agent: r.UserAgent(), Method: r.Method, Host: host, Path: r.URL.Path, Kind: "other"}
	e.judge(policy.Of(c, ""))
	p.audit.write(e)
}

func (p *Proxy) noticeOnce(t oat.Token) {
	p.noticeMu.Lock()
	defer p.noticeMu.Unlock()
	if !p.noticed[t.ID()] {
		p.noticed[t.ID()] = true
		p.log.Warn("token scopes unknown: its requests are not checked; record them with docker-credential-oat token edit or token import", "label", t.Label, "org", t.Org)
	}
}

// reply is an answer the proxy gives itself: a registry error body, with
// headers.
type reply struct {
	status     int
	err        errcode.Error
	header     http.Header
	closeAfter bool // the client's body was not read
	// phrase puts the message in the status line's reason phrase too,
	// for a client that prints the status line and nothing else.
	phrase bool
}

// challenge is the 401 Docker Hub answers a request without a usable
// bearer token with, for a request needing scopes.
func challenge(scopes []string) *reply {
	h := http.Header{}
	h.Set("Www-Authenticate", fmt.Sprintf(`Bearer realm=%q,service=%q,scope=%q`, hub.Realm, hub.Service, strings.Join(scopes, " ")))
	return &reply{status: http.StatusUnauthorized, err: errcode.ErrorCodeUnauthorized.WithMessage("authentication required"), header: h}
}

func (rp *reply) body() []byte {
	body, _ := json.Marshal(errcode.Errors{rp.err})
	return append(body, '\n')
}

func (rp *reply) write(w http.ResponseWriter) {
	if rp.phrase && rp.writeRaw(w) {
		return
	}
	body := rp.body()
	for k, v := range rp.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if rp.closeAfter {
		w.Header().Set("Connection", "close")
	}
	w.WriteHeader(rp.status)
	_, _ = w.Write(body)
}

// writeRaw writes the reply with its message as the reason phrase (net/http
// writes the standard one only), on the hijacked connection, and closes it.
func (rp *reply) writeRaw(w http.ResponseWriter) bool {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	defer conn.Close()
	body := rp.body()
	phrase := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, rp.err.Message)
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rp.status, phrase)
	h := http.Header{}
	for k, v := range rp.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body)
	_ = buf.Flush()
	return true
}

func textResponse(r *http.Request, status int, msg string) *http.Response {
	return goproxy.NewResponse(r, goproxy.ContentTypeText, status, msg+"\n")
}
