package proxy

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oatkit/oat/internal/hub"
)

// redirectTTL is how long a client may open a tunnel to the host of a
// Location the proxy relayed to it. Clients follow a redirect at once; a
// later download gets a redirect of its own.
const redirectTTL = time.Minute

// maxRedirects bounds the hosts remembered; beyond it the oldest entries
// are dropped first (the map is pruned of expired ones on every note).
const maxRedirects = 4096

// redirects remembers, per client, the hosts Docker Hub's registry sent it
// to in a redirect the proxy relayed from an intercepted blob download, so
// that --deny-other-hosts can tunnel a CDN host Docker adds before
// hub.BlobHosts names it. A client is its IP address: a client's redirect
// does not open the host to other machines (on loopback, every local
// process is one client).
type redirects struct {
	mu sync.Mutex
	m  map[redirectKey]time.Time // → when the entry expires
}

type redirectKey struct{ client, hostport string }

// clientOf is the client a request's RemoteAddr names: its IP address.
func clientOf(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// redirectTarget is the host:port of a redirect's Location that a client
// will CONNECT to: an absolute https URL on a host the proxy does not
// intercept, without userinfo. It is "" for anything else.
func redirectTarget(resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return ""
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return ""
	}
	host, port := u.Hostname(), u.Port()
	if host == "" || hub.IsAPIHost(host) {
		return ""
	}
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(strings.ToLower(host), port)
}

// note remembers that client was sent to hostport.
func (r *redirects) note(client, hostport string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[redirectKey]time.Time{}
	}
	for k, exp := range r.m {
		if !now.Before(exp) {
			delete(r.m, k)
		}
	}
	for len(r.m) >= maxRedirects {
		var oldest redirectKey
		var first time.Time
		for k, exp := range r.m {
			if first.IsZero() || exp.Before(first) {
				oldest, first = k, exp
			}
		}
		delete(r.m, oldest)
	}
	r.m[redirectKey{client, hostport}] = now.Add(redirectTTL)
}

// followed reports whether client was sent to hostport within redirectTTL.
func (r *redirects) followed(client, hostport string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	exp, ok := r.m[redirectKey{client, strings.ToLower(hostport)}]
	return ok && now.Before(exp)
}
