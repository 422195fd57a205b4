package proxy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// inject attaches the least-privileged token that covers an anonymous
// token request to it. It returns the token attached (nil: none needed,
// the request goes on as it came) and the body it sent, or a refusal when
// no token covers it. With closest set (a client that shows no refused
// token request: the caller narrows the request to the token's scopes)
// the closest token is attached when none covers it. The secret goes only
// to the token service, over the verified upstream TLS the request is
// sent with.
func (p *Proxy) inject(r *http.Request, req registry.Request, body []byte, closest bool) (*oat.Token, []byte, *Decision) {
	c := Choose(p.tokens.all(), req.Access, time.Now())
	switch {
	case c.Anonymous:
		return nil, body, nil
	case c.Token == nil && closest && len(c.Closest) > 0:
		c.Token = &c.Closest[0]
	case c.Token == nil:
		d := noTokenCovers(req, c.Closest)
		return nil, body, &d
	}
	t := c.Token
	if r.Method == http.MethodPost {
		form, _ := url.ParseQuery(string(body)) // read strictly by the classifier already
		form.Set("grant_type", "password")
		form.Set("username", t.Org)
		form.Set("password", t.Secret)
		enc := form.Encode()
		r.Body = nopCloser{bytes.NewReader([]byte(enc))}
		r.ContentLength = int64(len(enc))
		r.Header.Set("Content-Length", strconv.Itoa(len(enc)))
		return t, []byte(enc), nil
	}
	r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(t.Org+":"+t.Secret)))
	return t, body, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// noTokenCovers words the refusal of a request no token covers: what was
// asked, and the tokens that came closest.
func noTokenCovers(req registry.Request, closest []oat.Token) Decision {
	asked := strings.Join(req.Scopes(), " ")
	msg := fmt.Sprintf("oat-proxy holds no usable token that may %s.", asked)
	if len(closest) > 0 {
		var names []string
		for i, t := range closest {
			if i == 3 {
				break
			}
			names = append(names, fmt.Sprintf("%q (%s: %s)", t.Label, t.Org, t.Scopes.Summary()))
		}
		msg += " Closest: " + strings.Join(names, ", ") + "."
	}
	msg += " Add a token with those scopes (docker-credential-oat token add), or ask an organization owner to add them to one."
	d := Decision{Reason: "no token covers the request", Message: msg}
	if len(req.Access) > 0 {
		d.Repo, d.Action = req.Access[0].Repo, strings.Join(req.Access[0].Actions, ",")
	}
	return d
}
