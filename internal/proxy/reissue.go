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
	"github.com/oatkit/oat/internal/policy"
	"github.com/oatkit/oat/internal/registry"
)

// The bearer tokens the proxy asks for itself, for a request whose
// bearer it did not see issued (policy.Reissued).

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
		Kind: registry.KindToken.String(), Label: t.Label, Org: t.Org, Decision: policy.Injected, Cause: policy.Reissued,
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
