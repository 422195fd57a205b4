package proxy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// Replicas share nothing: a bearer token issued through one replica is
// unknown to another, which may not pass it unchecked. Without injection it
// answers with the Hub's challenge and the client fetches a new one. With
// injection the client holds no credentials of its own, and a challenge
// does not help it: its token requests go on its own connection, which a
// balancer may have sent to the first replica again, and most clients
// retry a challenge once. So an injecting replica treats the request as
// anonymous instead: it chooses the least-privileged token that covers the
// request, checks the request against it, and sends it upstream with a
// bearer token of its own, asked of the token service for that token and
// the request's scopes, kept until it expires. The client's bearer never
// reaches the Hub.

// ownBearers are the bearer tokens the proxy asked for itself, by token
// and scopes.
type ownBearers struct {
	mu sync.Mutex
	m  map[[32]byte]ownBearer
}

type ownBearer struct {
	value   string
	expires time.Time
}

// maxOwnBearers bounds how many are kept; expired ones are dropped first.
const maxOwnBearers = 1000

func bearerKey(t oat.Token, scopes []string) [32]byte {
	id := identityOf(t)
	return sha256.Sum256([]byte(id.org + "\x00" + id.label + "\x00" + string(id.secret[:]) + "\x00" + strings.Join(scopes, " ")))
}

func (b *ownBearers) get(k [32]byte, now time.Time) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	if !ok || !now.Before(v.expires) {
		return "", false
	}
	return v.value, true
}

func (b *ownBearers) put(k [32]byte, v ownBearer, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[[32]byte]ownBearer{}
	}
	if len(b.m) >= maxOwnBearers {
		for k, v := range b.m {
			if !now.Before(v.expires) {
				delete(b.m, k)
			}
		}
		if len(b.m) >= maxOwnBearers {
			clear(b.m)
		}
	}
	b.m[k] = v
}

// reissue serves a registry request whose bearer the proxy did not see
// issued, with injection on: checked against the least-privileged token
// that covers it, sent on with a bearer of the proxy's own. A nil reply
// sends it upstream.
func (p *Proxy) reissue(r *http.Request, req registry.Request, st *state) (*state, *reply) {
	c := Choose(p.tokens.all(), req.Access, time.Now())
	switch {
	case c.Anonymous:
		// Not a repository of ours: the client's own token requests are
		// anonymous and go through the checked path.
		st.entry.Decision, st.entry.Reason = "challenged", "a bearer or refresh token the proxy did not see issued"
		p.audit.write(st.entry)
		return nil, challenge(req)
	case c.Token == nil:
		return p.refuse(st, noTokenCovers(req, c.Closest))
	}
	tok := *c.Token
	st.entry.Label, st.entry.Org = tok.Label, tok.Org
	d := Check(tok, req, nil)
	if !d.Allow {
		return p.refuse(st, d)
	}
	bearer, err := p.ownBearer(r.Context(), tok, req.Scopes(), st.entry.Client)
	if err != nil {
		st.entry.Decision, st.entry.Reason = "denied", "a bearer the proxy did not see issued; the proxy's own token request failed: "+err.Error()
		p.audit.write(st.entry)
		return nil, &reply{status: http.StatusBadGateway, code: "UNAVAILABLE",
			msg: fmt.Sprintf("oat-proxy could not get a token from %s for this request: %s. Try again.", hub.AuthHost, err)}
	}
	r.Header.Set("Authorization", "Bearer "+bearer)
	st.holder = holder{ours: true, id: identityOf(tok)}
	st.entry.Decision = "injected"
	st.entry.Reason = "a bearer the proxy did not see issued (another replica's?): sent with the proxy's own, for the least-privileged token that covers it: " + d.Reason
	return st, nil
}

// ownBearer is a bearer token for t and scopes: kept, or asked of the
// token service now (its own audit line, for client).
func (p *Proxy) ownBearer(ctx context.Context, t oat.Token, scopes []string, client string) (string, error) {
	k := bearerKey(t, scopes)
	if v, ok := p.own.get(k, time.Now()); ok {
		return v, nil
	}
	q := url.Values{"service": {hub.Service}, "scope": scopes}
	u := hub.Realm + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(t.Org, t.Secret)
	entry := auditEntry{Time: time.Now(), Client: client, Agent: "oat-proxy", Method: http.MethodGet, Host: hub.AuthHost, Path: req.URL.Path,
		Kind: registry.KindToken.String(), Label: t.Label, Org: t.Org, Decision: "injected",
		Reason: "the proxy's own token request, for a bearer it did not see issued"}
	if len(scopes) > 0 {
		entry.Repo, entry.Action, _ = strings.Cut(strings.TrimPrefix(scopes[0], "repository:"), ":")
	}
	start := time.Now()
	resp, err := p.tr.RoundTrip(req)
	if err != nil {
		entry.Upstream, entry.Reason = http.StatusBadGateway, entry.Reason+"; upstream failed: "+upstreamCause(err)
		p.audit.write(entry)
		return "", fmt.Errorf("%s", upstreamCause(err))
	}
	defer resp.Body.Close()
	entry.Upstream = resp.StatusCode
	p.audit.write(entry)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("the token service answered %s", resp.Status)
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxTokenResponse)).Decode(&tr); err != nil {
		return "", fmt.Errorf("the token service's answer: %w", err)
	}
	v := tr.Token
	if v == "" {
		v = tr.AccessToken
	}
	if v == "" {
		return "", fmt.Errorf("the token service's answer holds no token")
	}
	// Docker Hub's last 300 s; kept for less, so that it never expires in
	// flight.
	ttl := 60 * time.Second
	if tr.ExpiresIn > 0 {
		ttl = time.Duration(tr.ExpiresIn) * time.Second
	}
	ttl -= min(ttl/4, 30*time.Second)
	p.own.put(k, ownBearer{value: v, expires: start.Add(ttl)}, time.Now())
	return v, nil
}
