package policy

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// A refusal goes where the client shows it (Client):
//   - a client that shows a refused token request's body is refused on
//     the token request: nothing more reaches the Hub, not even a HEAD;
//   - containerd too, with the sentence as the status line's reason
//     phrase as well as in the body;
//   - containers/image gets its token request forwarded narrowed to the
//     scopes the token has (never more), the bearer token issued is
//     remembered as issued for those scopes only, and the first registry
//     request needing what was cut is refused with the sentence: for a
//     pull the manifest GET, for a push the upload's POST or the
//     manifest's PUT (it checks blobs with HEAD, which the narrowed
//     token still may).
//
// What each client shows, and how it is recognised: client.go.

// Limit is what a bearer token was issued for when the proxy asked the
// Hub for less than the client did, or the Hub granted less: a registry
// request with the bearer is checked against it besides the token's
// scopes.
type Limit struct {
	Access []registry.Access
	// private are repositories the token may pull only by "Read public
	// repositories", on which the Hub granted no pull: private, or missing.
	Private []string
}

// has reports whether the limit covers action on repo.
func (l *Limit) has(repo, action string) bool {
	for _, a := range l.Access {
		if a.Repo == repo && slices.Contains(a.Actions, action) {
			return true
		}
	}
	return false
}

// narrow cuts need to what t's scopes allow (a pull the token may make by
// public read is kept: only the Hub knows whether the repository is
// public). ok is false when something other than pull or push would be cut:
// that is refused on the token request whoever the client is.
func narrow(t *oat.Token, need []registry.Access) (kept []registry.Access, ok bool) {
	for _, a := range need {
		var acts []string
		for _, action := range a.Actions {
			if permits(t, a.Repo, action) {
				acts = append(acts, action)
			} else if action != hub.ActionPull && action != hub.ActionPush {
				return nil, false
			}
		}
		if len(acts) == 0 {
			continue
		}
		// One entry a repository, as the Hub would grant it.
		if i := slices.IndexFunc(kept, func(k registry.Access) bool { return k.Repo == a.Repo }); i >= 0 {
			for _, action := range acts {
				if !slices.Contains(kept[i].Actions, action) {
					kept[i].Actions = append(slices.Clip(kept[i].Actions), action)
				}
			}
			continue
		}
		kept = append(kept, registry.Access{Repo: a.Repo, Actions: acts})
	}
	return kept, true
}

// publicOnly are the repositories of access that t may pull only by
// "Read public repositories".
func publicOnly(t *oat.Token, access []registry.Access) []string {
	if !t.Scopes.PublicRead || t.Scopes.Unknown {
		return nil
	}
	var out []string
	for _, a := range access {
		if slices.Contains(a.Actions, hub.ActionPull) && !t.Scopes.Allows(a.Repo, hub.ActionPull, false) {
			out = append(out, a.Repo)
		}
	}
	return out
}

// grantedPull reads, from a token response, which of repos the Hub granted
// pull on: the access claim of its JWT, decoded and not verified. It is
// used for nothing else than to tell the user early what the registry
// would refuse; the registry verifies the token. ok is false when the
// answer holds no JWT the proxy can read.
func grantedPull(body []byte, repos []string) (denied []string, ok bool) {
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &tr) != nil {
		return nil, false
	}
	jwt := cmp.Or(tr.Token, tr.AccessToken)
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims struct {
		Access *[]struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"access"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Access == nil {
		// Without an access claim nothing says the pull was not granted.
		return nil, false
	}
	for _, repo := range repos {
		granted := false
		for _, a := range *claims.Access {
			name, err := registry.NormalizeName(a.Name)
			if err == nil && a.Type == "repository" && name == repo && (slices.Contains(a.Actions, hub.ActionPull) || slices.Contains(a.Actions, "*")) {
				granted = true
			}
		}
		if !granted {
			denied = append(denied, repo)
		}
	}
	return denied, true
}

// notPublic is the refusal of a pull that a token may make only if the
// repository is public, when the Hub granted none: it is private, or it
// does not exist.
func notPublic(t *oat.Token, repo string) Verdict {
	msg := fmt.Sprintf("token %q (%s) may not pull %s: the repository is private or does not exist, and the token reads only public repositories outside its list. Check the name, or use a token with Image Pull on %s (docker-credential-oat token ls), or ask an organization owner to add the scope.",
		t.Label, t.Org, repo, repo)
	return Verdict{Outcome: Denied, Cause: NotPublic, Token: t, Message: msg, Repo: repo, Action: hub.ActionPull}
}

// checkLimit judges a registry request that carries a bearer token
// issued under l; ok is true when l covers it. Otherwise a pull the Hub
// did not grant by public read is refused with a sentence, and an access
// outside l that the token's scopes allow is challenged: the Hub would
// answer its challenge, and the client asks for a new bearer token.
func checkLimit(t *oat.Token, l *Limit, need []registry.Access) (_ Verdict, ok bool) {
	for _, a := range need {
		for _, action := range a.Actions {
			if action == hub.ActionPull && slices.Contains(l.Private, a.Repo) {
				return notPublic(t, a.Repo), false
			}
			if !l.has(a.Repo, action) {
				return Verdict{Outcome: Challenged, Cause: IssuedForLess, Token: t}, false
			}
		}
	}
	return Verdict{}, true
}

// Granted judges the Hub's answer to a token request v let through, for
// the repositories the token may pull only if public: when the Hub
// granted no pull on one, a client that shows a refused token request is
// refused with the sentence before it asks the registry anything; for
// another, the bearer token is limited to asked, the pulls not granted
// refused when its registry requests come. Both nil: nothing to change
// (the answer holds no JWT the proxy can read, or every pull was
// granted). client is what the client shows; asked what the token request
// asked the Hub for.
func Granted(v Verdict, client Client, asked []registry.Access, answer []byte) (refusal *Verdict, l *Limit) {
	if len(v.PublicOnly) == 0 || v.Token == nil {
		return nil, nil
	}
	denied, ok := grantedPull(answer, v.PublicOnly)
	if !ok || len(denied) == 0 {
		return nil, nil
	}
	if client != ShowsRegistryBody {
		r := notPublic(v.Token, denied[0])
		return &r, nil
	}
	return nil, &Limit{Access: asked, Private: denied}
}
