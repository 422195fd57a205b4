package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/registry"
)

// Request is what the proxy read of an intercepted request: classified,
// its credentials resolved.
type Request struct {
	registry.Request
	// Invalid is the classifier's error ("" if none): a name or reference
	// it could not read.
	Invalid string
	// Client is what the client shows of a refusal (Recognise).
	Client Client
	Creds  Credentials
	// Inject is set when the proxy attaches tokens to requests that come
	// without credentials (--inject); Tokens are then the records to
	// choose from.
	Inject bool
	Tokens []oat.Token
	Now    time.Time
}

// Credentials are whose credentials a request carries.
type Credentials struct {
	// Token is the token of the proxy's a credential belongs to, as its
	// record is now (nil: none).
	Token *oat.Token
	// Limit is what the bearer token sent was issued for, when less than
	// the token's scopes.
	Limit *Limit
	// Conflict: credentials of more than one token, or of a token and of
	// something else besides.
	Conflict bool
	// Unseen: a bearer or refresh token the proxy did not see issued.
	Unseen bool
	// Others: credentials of no token the proxy holds.
	Others bool
}

// Decide judges an intercepted request. Whatever it did not fully read is
// refused; what carries a token of the proxy's is checked against its
// scopes; what carries none is answered as the Hub would, or, with
// injection, given the least-privileged token that covers it.
func Decide(in Request) Verdict {
	req := in.Request
	if req.Unread != "" {
		// Read or not, whoever sends it: a server that reads it another
		// way could find credentials the proxy never checked.
		return unread(req)
	}
	creds := in.Creds
	var attach bool
	anonymous := creds.Token == nil && !creds.Unseen && !creds.Others
	if in.Inject && anonymous && req.Kind == registry.KindToken && in.Invalid == "" {
		c := Choose(in.Tokens, req.Access, in.Now)
		switch {
		case c.Anonymous:
		case c.Token == nil && in.Client == ShowsRegistryBody && len(c.Closest) > 0:
			// Narrowed below to what the closest token has.
			creds.Token, attach = &c.Closest[0], true
		case c.Token == nil:
			return noTokenCovers(req, c.Closest)
		default:
			creds.Token, attach = c.Token, true
		}
	}
	switch {
	case creds.Unseen && creds.Token == nil && in.Inject && req.Kind == registry.KindRegistry && in.Invalid == "":
		return reissue(in)
	case creds.Unseen && creds.Token == nil:
		// Docker Hub answers a token it does not know with its challenge;
		// so does the proxy for one it did not see issued, and the client
		// fetches a new one through the checked path.
		return Verdict{Outcome: Challenged, Cause: UnseenBearer}
	case creds.Token == nil && in.Invalid != "":
		msg := redact.String(in.Invalid)
		return Verdict{Outcome: Denied, Cause: InvalidName, Detail: msg, Message: msg}
	case creds.Token == nil && req.Kind == registry.KindRegistry && len(req.Creds) == 0:
		// Docker Hub answers every registry request without a bearer
		// token with this challenge; answering it here keeps probes for
		// repositories a token may not touch from reaching the Hub.
		return Verdict{Outcome: Challenged, Cause: NoBearer}
	case creds.Token == nil && creds.Others:
		return Verdict{Outcome: Passed, Cause: NotOurs}
	case creds.Token == nil:
		return Verdict{Outcome: Passed, Cause: NoCredentials}
	}
	tok := creds.Token
	if v, ok := retired(tok, in.Now); ok {
		// The Hub would refuse it too, with its own words: say which, and
		// the fix, before it hears of it.
		return v
	}
	v := Check(tok, req, in.Invalid)
	if v.Outcome == Allowed && creds.Conflict {
		v = conflicting(tok)
	}
	if req.Kind == registry.KindToken {
		if v.Outcome == Denied && v.Cause == OutsideScopes && in.Client == ShowsRegistryBody && !creds.Conflict && in.Invalid == "" && req.Unknown == "" {
			if kept, ok := narrow(tok, req.Access); ok {
				return narrowed(v, kept, attach)
			}
		}
		if v.Outcome != Denied {
			v.PublicOnly = publicOnly(tok, req.Access)
		}
	}
	if v.Outcome == Denied {
		return v
	}
	if creds.Limit != nil && req.Kind == registry.KindRegistry {
		if lv, ok := checkLimit(tok, creds.Limit, req.Access); !ok {
			return lv
		}
	}
	if attach {
		v.Outcome, v.Attach = Injected, true
	}
	return v
}

// narrowed is the verdict of a token request refused for a client that
// does not show a refused token request: sent on asking only for kept,
// what the token has; the bearer token issued is limited to kept, and the
// first registry request needing what was cut is refused with d's
// sentence.
func narrowed(d Verdict, kept []registry.Access, attach bool) Verdict {
	asked := strings.Join(registry.Request{Access: kept}.Scopes(), " ")
	if asked == "" {
		asked = "no repository scope"
	}
	d.Outcome, d.Attach, d.Kept = Narrowed, attach, kept
	d.PublicOnly = publicOnly(d.Token, kept)
	d.Detail = fmt.Sprintf("asked the Hub for %s only; the first registry request that needs %s on %s is refused (its client shows no refused token request)",
		asked, d.Action, d.Repo)
	return d
}

// reissue judges a registry request whose bearer the proxy did not see
// issued, with injection on. Replicas share nothing: a bearer issued
// through one is unknown to another, which may not pass it unchecked.
// Without injection the Hub's challenge sends the client for a new one;
// with injection the client holds no credentials of its own, and a
// challenge does not help it (its token requests may reach the first
// replica again; most clients retry a challenge once). So the request is
// judged as anonymous: against the least-privileged token that covers it,
// sent on with a bearer the proxy asks for that token (the verdict's
// cause is Reissued). The client's bearer never reaches the Hub.
func reissue(in Request) Verdict {
	c := Choose(in.Tokens, in.Access, in.Now)
	switch {
	case c.Anonymous:
		// Not a repository of ours: the client's own token requests are
		// anonymous and go through the checked path.
		return Verdict{Outcome: Challenged, Cause: UnseenBearer}
	case c.Token == nil:
		return noTokenCovers(in.Request, c.Closest)
	}
	v := Check(c.Token, in.Request, "")
	if v.Outcome == Denied {
		return v
	}
	return Verdict{Outcome: Injected, Cause: Reissued, Token: c.Token, Attach: true, Detail: v.Reason()}
}

// NoOwnToken is the refusal of a Reissued request whose bearer the proxy
// could not get: err says why, host is the token service's.
func NoOwnToken(v Verdict, host string, err error) Verdict {
	return Verdict{Outcome: Denied, Cause: OwnTokenFailed, Token: v.Token, Detail: err.Error(),
		Message: fmt.Sprintf("oat-proxy could not get a token from %s for this request: %s. Try again.", host, err)}
}

// Bearer is what the bearer token a Narrowed token request obtains is
// issued for: nil when as the Hub granted what was asked.
func (v Verdict) Bearer() *Limit {
	if v.Outcome != Narrowed {
		return nil
	}
	return &Limit{Access: v.Kept}
}
