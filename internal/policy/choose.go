package policy

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// Choice is what injection attaches to a token request that came without
// credentials.
type Choice struct {
	// Token is the token to attach; nil when none is needed (Anonymous)
	// or none covers the request.
	Token *oat.Token
	// Anonymous is set when the request names no repository of an
	// organization we hold tokens for: it goes to the Hub as it came.
	Anonymous bool
	// Closest are the usable tokens of the organizations asked about,
	// the least short of the request first, when none covers it.
	Closest []oat.Token
}

// Choose picks the least-privileged usable token whose scopes cover every
// access asked: the fewest repositories and actions (a push weighing
// three pulls, a wildcard more than the 50 repositories a token may name),
// then no public read, then the fewest organization scopes; ties by label. Tokens whose scopes
// are unknown come last (nobody knows what they may do). A pull outside our
// organizations, asked together with one inside, needs "Read public
// repositories"; a push outside them is covered by no token.
func Choose(tokens []oat.Token, need []registry.Access, now time.Time) Choice {
	orgs := map[string]bool{}
	for _, t := range tokens {
		orgs[t.Org] = true
	}
	ours := false
	for _, a := range need {
		if orgs[oat.Namespace(a.Repo)] {
			ours = true
		}
	}
	if !ours {
		return Choice{Anonymous: true}
	}
	var usable []oat.Token
	for _, t := range tokens {
		if t.Usable(now) && orgs[t.Org] {
			usable = append(usable, t)
		}
	}
	slices.SortFunc(usable, func(a, b oat.Token) int {
		return cmp.Or(cmp.Compare(privilege(a), privilege(b)), strings.Compare(a.Org, b.Org), strings.Compare(a.Label, b.Label))
	})
	for i := range usable {
		if missing(usable[i], need, orgs) == 0 {
			return Choice{Token: &usable[i]}
		}
	}
	// Nothing covers it: the tokens of the organizations asked about, by
	// how little they lack.
	var closest []oat.Token
	for _, t := range usable {
		for _, a := range need {
			if oat.Namespace(a.Repo) == t.Org {
				closest = append(closest, t)
				break
			}
		}
	}
	slices.SortStableFunc(closest, func(a, b oat.Token) int {
		return cmp.Compare(missing(a, need, orgs), missing(b, need, orgs))
	})
	return Choice{Closest: closest}
}

// missing counts the actions of need t's scopes do not cover.
func missing(t oat.Token, need []registry.Access, orgs map[string]bool) int {
	n := 0
	for _, a := range need {
		inside := oat.Namespace(a.Repo) == t.Org
		for _, action := range a.Actions {
			ok := false
			switch {
			case t.Scopes.Unknown:
				ok = inside || action == hub.ActionPull
			case inside:
				ok = t.Scopes.Allows(a.Repo, action, false)
			case !orgs[oat.Namespace(a.Repo)]: // another organization's, or an official image
				ok = action == hub.ActionPull && t.Scopes.PublicRead
			}
			if !ok {
				n++
			}
		}
	}
	return n
}

// privilege orders tokens from the least to the most powerful.
func privilege(t oat.Token) int {
	if t.Scopes.Unknown {
		return 1 << 30
	}
	p := 0
	for _, rs := range t.Scopes.Repos {
		w := 1
		if strings.HasSuffix(rs.Repo, "/*") {
			w = oat.MaxRepos + 1 // every repository of the organization
		}
		if rs.Push {
			w *= 3 // push weighs more than pull: it writes
		}
		p += w * 16
	}
	if t.Scopes.PublicRead {
		p += 4
	}
	return p + len(t.Scopes.Org)
}
