package hubtest

import (
	"regexp"
	"slices"
	"strings"
)

// resourceActions is one entry of a bearer token's access claim.
type resourceActions struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// String is the scope form, "repository:acme/app:pull,push".
func (a resourceActions) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}

// grantable are the actions an OAT can be granted, in the order granted
// scopes list them. Never delete, never "*".
var grantable = []string{"pull", "push"}

// repoName is the path grammar of a repository name, without a domain.
var repoName = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// parseScope reads "repository:NAME:ACTIONS" leniently, as a forgiving
// server would: the type in any case and with or without a class, the
// name and actions lower-cased, an official image's name with library/.
// ok is false for any other resource type and for malformed scopes.
func parseScope(s string) (name string, actions []string, ok bool) {
	typ, rest, found := strings.Cut(s, ":")
	i := strings.LastIndex(rest, ":")
	if c := strings.IndexByte(typ, '('); c > 0 {
		typ = typ[:c]
	}
	if !found || !strings.EqualFold(typ, "repository") || i < 0 {
		return "", nil, false
	}
	name = strings.ToLower(rest[:i])
	if len(name) > 255 || !repoName.MatchString(name) {
		return "", nil, false
	}
	if !strings.Contains(name, "/") {
		name = "library/" + name
	}
	return name, strings.Split(strings.ToLower(rest[i+1:]), ","), true
}

// grant is what tok (nil: anonymous) may do of what scopes ask, one entry a
// repository: pull where the token has pull or push, or the repository is
// public and the token may read public repositories (anonymous always
// may); push where it has push. Malformed scopes are ignored.
func (h *Hub) grant(tok *Token, scopes []string) []resourceActions {
	asked := map[string][]string{}
	var order []string
	for _, s := range scopes {
		name, actions, ok := parseScope(s)
		if !ok {
			continue
		}
		if _, seen := asked[name]; !seen {
			order = append(order, name)
		}
		asked[name] = append(asked[name], actions...)
	}
	var out []resourceActions
	for _, name := range order {
		if allowed := h.allowed(tok, name, asked[name]); len(allowed) > 0 {
			out = append(out, resourceActions{Type: "repository", Name: name, Actions: allowed})
		}
	}
	return out
}

// allowed is the actions of asked that tok may do on repo.
func (h *Hub) allowed(tok *Token, repo string, asked []string) []string {
	var out []string
	for _, a := range grantable {
		if slices.Contains(asked, a) && h.may(tok, repo, a) {
			out = append(out, a)
		}
	}
	return out
}

// may reports whether tok (nil: anonymous) may do action on repo.
func (h *Hub) may(tok *Token, repo, action string) bool {
	public := strings.HasPrefix(repo, "library/") || slices.Contains(h.opts.Public, repo)
	switch {
	case tok == nil:
		return action == "pull" && public
	case action == "push":
		return matches(tok.Push, repo)
	case action == "pull":
		return matches(tok.Pull, repo) || matches(tok.Push, repo) || (public && tok.PublicRead)
	}
	return false
}

// matches reports whether repo is in list, where "org/*" stands for every
// repository of org and "*" for every repository.
func matches(list []string, repo string) bool {
	for _, p := range list {
		prefix, wild := strings.CutSuffix(p, "*")
		if p == repo || (wild && (prefix == "" || strings.HasSuffix(prefix, "/")) && strings.HasPrefix(repo, prefix)) {
			return true
		}
	}
	return false
}

// scopeStrings is access in scope form.
func scopeStrings(access []resourceActions) []string {
	var out []string
	for _, a := range access {
		out = append(out, a.String())
	}
	return out
}
