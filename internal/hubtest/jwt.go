package hubtest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"github.com/oatkit/oat/internal/hub"
	"net/http"
	"strings"
	"time"

	"github.com/distribution/distribution/v3/registry/auth/token"
)

// b64 is the base64 of JWTs.
var b64 = base64.RawURLEncoding

// sign issues an ES256 JWT the registry's token auth accepts, and returns
// it with its ID. The registry finds the verification key by the header's
// key ID, the JWK thumbprint of the key in its root certificate bundle,
// and checks iss, aud, exp and nbf (each with a minute's leeway).
func (h *Hub) sign(subject string, access []resourceActions, now time.Time) (jwt, id string, err error) {
	header, err := json.Marshal(map[string]string{"typ": "JWT", "alg": "ES256", "kid": h.kid})
	if err != nil {
		return "", "", err
	}
	id = randomString(12)
	claims, err := json.Marshal(token.ClaimSet{
		Issuer: issuer, Subject: subject, Audience: token.AudienceList{hub.Service},
		Expiration: now.Add(tokenLifetime).Unix(), NotBefore: now.Add(-time.Minute).Unix(), IssuedAt: now.Unix(),
		JWTID: id, Access: claimAccess(access),
	})
	if err != nil {
		return "", "", err
	}
	signing := b64.EncodeToString(header) + "." + b64.EncodeToString(claims)
	sig, err := es256(h.signer, []byte(signing))
	if err != nil {
		return "", "", err
	}
	return signing + "." + b64.EncodeToString(sig), id, nil
}

// claimAccess is access as the registry reads it; never null.
func claimAccess(access []resourceActions) []*token.ResourceActions {
	out := []*token.ResourceActions{}
	for _, a := range access {
		out = append(out, &token.ResourceActions{Type: a.Type, Name: a.Name, Actions: a.Actions})
	}
	return out
}

// es256 is the JWS ES256 signature: r and s, 32 bytes each.
func es256(key *ecdsa.PrivateKey, data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, nil
}

// bearerID is the ID (jti) of the bearer token r carries, unverified, or "".
// It only names the token's holder in the request log; the registry
// verifies the token.
func bearerID(r *http.Request) string {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ID string `json:"jti"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.ID
}

// noteBearer names, in r's log entry, the token whose bearer token r
// carries.
func (h *Hub) noteBearer(r *http.Request) {
	id := bearerID(r)
	if id == "" {
		return
	}
	h.mu.Lock()
	p, ok := h.issued[id]
	h.mu.Unlock()
	if ok {
		e := requestEntry(r)
		e.Principal, e.Label = p.org, p.label
	}
}
