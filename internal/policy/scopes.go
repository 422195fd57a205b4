package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/registry"
)

// allowed is the verdict of a request the scopes cover.
func allowed(t *oat.Token, c Cause) Verdict {
	return Verdict{Outcome: Allowed, Cause: c, Token: t}
}

// Scopes checks what a request needs against a token's scopes. A token
// with unknown scopes is let through (nothing is known to refuse on).
func Scopes(t *oat.Token, need []registry.Access) Verdict {
	if t.Scopes.Unknown {
		return allowed(t, ScopesUnknown)
	}
	for _, a := range need {
		for _, action := range a.Actions {
			if !permits(t, a.Repo, action) {
				return outside(t, a.Repo, action)
			}
		}
	}
	return allowed(t, InScope)
}

// permits reports whether t's scopes let it ask for action on repo. A
// pull a token may make by public read is let through: whether a
// repository is public is the Hub's to say (official images are).
func permits(t *oat.Token, repo, action string) bool {
	switch action {
	case hub.ActionPull:
		return t.Scopes.Allows(repo, hub.ActionPull, false) || t.Scopes.PublicRead
	case hub.ActionPush:
		return t.Scopes.Allows(repo, hub.ActionPush, false)
	}
	return false
}

// outside words the refusal of action on repo: the token, the
// repository, what is missing, and the fix.
func outside(t *oat.Token, repo, action string) Verdict {
	has := "no access to it"
	for _, rs := range t.Scopes.Repos {
		if oat.MatchRepo(rs.Repo, repo) {
			has = "pull only"
			if rs.Push {
				has = "pull and push"
			}
		}
	}
	who := fmt.Sprintf("token %q (%s)", t.Label, t.Org)
	var msg string
	switch action {
	case hub.ActionPull:
		scope := "Image Pull on " + repo
		if strings.HasPrefix(repo, "library/") {
			scope = "Read public repositories"
			has = "no public read"
		}
		msg = fmt.Sprintf("%s may not pull %s: it has %s. Use a token with %s (docker-credential-oat token ls), or ask an organization owner to add the scope.", who, repo, has, scope)
	case hub.ActionPush:
		msg = fmt.Sprintf("%s may not push to %s: it has %s. Use a token with Image Push on %s (docker-credential-oat token ls), or ask an organization owner to add the scope.", who, repo, has, repo)
	case hub.ActionDelete:
		msg = fmt.Sprintf("%s may not delete in %s: organization access tokens cannot delete images; delete them in Docker Hub.", who, repo)
	default:
		msg = fmt.Sprintf("%s may not %s %s: organization access tokens grant pull and push only.", who, action, repo)
	}
	return Verdict{Outcome: Denied, Cause: OutsideScopes, Token: t, Message: msg, Repo: repo, Action: action}
}

// Check judges a classified request that carries a credential of token t
// (invalid is the classifier's error, "" if none): what the classifier
// did not fully understand is refused, whatever t's scopes; the rest is
// checked against them.
func Check(t *oat.Token, req registry.Request, invalid string) Verdict {
	switch {
	case req.Unknown != "":
		return notUnderstood(t, req.Unknown)
	case invalid != "":
		return notUnderstood(t, invalid)
	}
	switch req.Kind {
	case registry.KindToken, registry.KindRegistry:
		return Scopes(t, req.Access)
	case registry.KindAPI:
		return Org(t, req.Org, req.OrgScope)
	case registry.KindPing, registry.KindLogin:
		return allowed(t, NothingToCheck)
	}
	return notUnderstood(t, "the request")
}

// notUnderstood refuses what the classifier did not understand. what
// quotes the request: redacted, in case it quotes a secret.
func notUnderstood(t *oat.Token, what string) Verdict {
	who := fmt.Sprintf("token %q (%s)", t.Label, t.Org)
	what = redact.String(what)
	return Verdict{Outcome: Denied, Cause: NotUnderstood, Token: t, Detail: what, Action: "unknown",
		Message: fmt.Sprintf("oat-proxy does not understand %s, so it does not let it through with %s. Send the request without the token, or as Docker's clients send it.", what, who)}
}

// unread is the refusal of a request whose body the proxy must read and
// did not read in full as the Hub would (Request.Unread says what),
// whoever sends it.
func unread(req registry.Request) Verdict {
	what, fix := "token request", "an uncompressed application/x-www-form-urlencoded form in UTF-8, each field once"
	if req.Kind != registry.KindToken {
		what, fix = "Hub API request", "uncompressed JSON (application/json, UTF-8), each field once"
	}
	why := redact.String(req.Unread)
	return Verdict{Outcome: Denied, Cause: Unread, Detail: why, Action: "unknown",
		Message: fmt.Sprintf("oat-proxy refuses this %s: it reads one in full before anything reaches Docker Hub, and it cannot read %s. Send %s, as Docker's clients do.", what, why, fix)}
}

// retired is the refusal of a request with a token that has expired, or
// that the Hub has deactivated or deleted; ok is false for a token that
// is none of these. A token without a secret is not refused here: the
// Hub answers its requests.
func retired(t *oat.Token, now time.Time) (_ Verdict, ok bool) {
	why := t.Unusable(now)
	if why == "" || why == oat.NoSecret {
		return Verdict{}, false
	}
	c, fix := TokenExpired, "Rotate it (docker-credential-oat token rotate "+t.ID()+"), or use another token (docker-credential-oat token ls)."
	switch {
	case t.Expired(now):
	case t.Gone:
		c = TokenDeleted
	case !t.Active:
		c = TokenInactive
		fix = "Activate it (docker-credential-oat token activate " + t.ID() + "), or use another token (docker-credential-oat token ls)."
	}
	return Verdict{Outcome: Denied, Cause: c, Token: t, Detail: why, Action: "unknown",
		Message: fmt.Sprintf("token %q (%s) %s, so Docker Hub refuses it. %s", t.Label, t.Org, why, fix)}, true
}

// conflicting is the refusal of a request carrying credentials of more
// than one token (or of a token and of something else).
func conflicting(t *oat.Token) Verdict {
	return Verdict{Outcome: Denied, Cause: Conflict, Token: t, Action: "unknown",
		Message: fmt.Sprintf("the request carries credentials of token %q (%s) and others besides: oat-proxy cannot tell which the Hub would use, so it refuses it. Send one credential.", t.Label, t.Org)}
}

// Org checks a Hub API route's organization scope. org "" is the token's
// own organization (routes that do not name one).
func Org(t *oat.Token, org, scope string) Verdict {
	if org == "" {
		org = t.Org
	}
	if scope == registry.AccessTokenRead || scope == registry.AccessTokenEdit {
		return Verdict{Outcome: Denied, Cause: AccessTokenAPI, Token: t, Repo: org, Action: scope,
			Message: fmt.Sprintf("token %q (%s) may not use %s's access token API: organization access tokens cannot manage access tokens. Use an organization owner's personal access token.", t.Label, t.Org, org)}
	}
	if t.Scopes.Unknown {
		return allowed(t, ScopesUnknown)
	}
	edit := strings.Replace(scope, "-read", "-edit", 1)
	if org == t.Org && (slices.Contains(t.Scopes.Org, scope) || slices.Contains(t.Scopes.Org, edit)) {
		return allowed(t, InScope)
	}
	msg := fmt.Sprintf("token %q (%s) may not use %s's %s API: it lacks the %s scope. Use a token with organization management access (docker-credential-oat token ls), or ask an organization owner to add the scope.",
		t.Label, t.Org, org, strings.SplitN(scope, "-", 2)[0]+"s", scope)
	return Verdict{Outcome: Denied, Cause: OutsideScopes, Token: t, Message: msg, Repo: org, Action: scope}
}

// noTokenCovers words the refusal of a request no token covers: what was
// asked, and the tokens that came closest.
func noTokenCovers(req registry.Request, closest []oat.Token) Verdict {
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
	v := Verdict{Outcome: Denied, Cause: NoTokenCovers, Message: msg}
	if len(req.Access) > 0 {
		v.Repo, v.Action = req.Access[0].Repo, strings.Join(req.Access[0].Actions, ",")
	}
	return v
}
