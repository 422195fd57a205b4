package proxy

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

// Decision is the policy's answer for one request.
type Decision struct {
	Allow  bool
	Reason string // why, for the audit log
	// Message is the sentence a refused client shows; Repo and Action the
	// first access refused.
	Message      string
	Repo, Action string
}

// Decide checks what a request needs against a token's scopes. A token
// with unknown scopes is let through (nothing is known to refuse on).
func Decide(t oat.Token, need []registry.Access) Decision {
	if t.Scopes.Unknown {
		return Decision{Allow: true, Reason: "scopes unknown: not checked"}
	}
	for _, a := range need {
		for _, action := range a.Actions {
			if d, ok := check(t, a.Repo, action); !ok {
				return d
			}
		}
	}
	return Decision{Allow: true, Reason: "within the token's scopes"}
}

func check(t oat.Token, repo, action string) (Decision, bool) {
	switch action {
	case hub.ActionPull:
		if t.Scopes.Allows(repo, hub.ActionPull, false) {
			return Decision{}, true
		}
		// Whether a repository is public is the Hub's to say (official
		// images are): a public-read token is let through to ask.
		if t.Scopes.PublicRead {
			return Decision{}, true
		}
	case hub.ActionPush:
		if t.Scopes.Allows(repo, hub.ActionPush, false) {
			return Decision{}, true
		}
	}
	return deny(t, repo, action), false
}

// deny words the refusal: the token, the repository, what is missing, and
// the fix.
func deny(t oat.Token, repo, action string) Decision {
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
	return Decision{Allow: false, Reason: "outside the token's scopes", Message: msg, Repo: repo, Action: action}
}

// Check decides a classified request (err is Classify's) that carries a
// credential of token t: what the classifier did not fully understand is
// refused, whatever t's scopes; the rest is checked against them.
func Check(t oat.Token, req registry.Request, err error) Decision {
	switch {
	case req.Unknown != "":
		return notUnderstood(t, req.Unknown)
	case err != nil:
		return notUnderstood(t, err.Error())
	}
	switch req.Kind {
	case registry.KindToken, registry.KindRegistry:
		return Decide(t, req.Access)
	case registry.KindAPI:
		return DecideOrg(t, req.Org, req.OrgScope)
	case registry.KindPing, registry.KindLogin:
		return Decision{Allow: true, Reason: "nothing to check"}
	}
	return notUnderstood(t, "the request")
}

// notUnderstood refuses what the classifier did not understand. what
// quotes the request: redacted, in case it quotes a secret.
func notUnderstood(t oat.Token, what string) Decision {
	who := fmt.Sprintf("token %q (%s)", t.Label, t.Org)
	what = redact.String(what)
	return Decision{Reason: "not understood: " + what, Action: "unknown",
		Message: fmt.Sprintf("oat-proxy does not understand %s, so it does not let it through with %s. Send the request without the token, or as Docker's clients send it.", what, who)}
}

// Unread is the refusal of a request whose body the proxy must read and
// did not read in full as the Hub would (Request.Unread says what),
// whoever sends it.
func Unread(req registry.Request) Decision {
	what, fix := "token request", "an uncompressed application/x-www-form-urlencoded form in UTF-8, each field once"
	if req.Kind != registry.KindToken {
		what, fix = "Hub API request", "uncompressed JSON (application/json, UTF-8), each field once"
	}
	why := redact.String(req.Unread)
	return Decision{Reason: "not read in full: " + why, Action: "unknown",
		Message: fmt.Sprintf("oat-proxy refuses this %s: it reads one in full before anything reaches Docker Hub, and it cannot read %s. Send %s, as Docker's clients do.", what, why, fix)}
}

// Retired is the refusal of a request with a token that has expired, or
// that the Hub has deactivated or deleted: why says which (oat's
// Unusable).
func Retired(t oat.Token, why string) Decision {
	fix := "Rotate it (docker-credential-oat token rotate " + t.ID() + "), or use another token (docker-credential-oat token ls)."
	if !t.Gone && !t.Expired(time.Now()) && !t.Active {
		fix = "Activate it (docker-credential-oat token activate " + t.ID() + "), or use another token (docker-credential-oat token ls)."
	}
	return Decision{Reason: "the token " + why, Action: "unknown",
		Message: fmt.Sprintf("token %q (%s) %s, so Docker Hub refuses it. %s", t.Label, t.Org, why, fix)}
}

// Conflicting is the refusal of a request carrying credentials of more
// than one token (or of a token and of something else).
func Conflicting(t oat.Token) Decision {
	return Decision{Reason: "conflicting credentials", Action: "unknown",
		Message: fmt.Sprintf("the request carries credentials of token %q (%s) and others besides: oat-proxy cannot tell which the Hub would use, so it refuses it. Send one credential.", t.Label, t.Org)}
}

// DecideOrg checks a Hub API route's organization scope. org "" is the
// token's own organization (routes that do not name one).
func DecideOrg(t oat.Token, org, scope string) Decision {
	if org == "" {
		org = t.Org
	}
	if scope == registry.AccessTokenRead || scope == registry.AccessTokenEdit {
		return Decision{Reason: "outside any token's scopes", Repo: org, Action: scope,
			Message: fmt.Sprintf("token %q (%s) may not use %s's access token API: organization access tokens cannot manage access tokens. Use an organization owner's personal access token.", t.Label, t.Org, org)}
	}
	if t.Scopes.Unknown {
		return Decision{Allow: true, Reason: "scopes unknown: not checked"}
	}
	edit := strings.Replace(scope, "-read", "-edit", 1)
	if org == t.Org && (slices.Contains(t.Scopes.Org, scope) || slices.Contains(t.Scopes.Org, edit)) {
		return Decision{Allow: true, Reason: "within the token's scopes"}
	}
	msg := fmt.Sprintf("token %q (%s) may not use %s's %s API: it lacks the %s scope. Use a token with organization management access (docker-credential-oat token ls), or ask an organization owner to add the scope.",
		t.Label, t.Org, org, strings.SplitN(scope, "-", 2)[0]+"s", scope)
	return Decision{Allow: false, Reason: "outside the token's scopes", Message: msg, Repo: org, Action: scope}
}
