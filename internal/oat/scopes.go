package oat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/hub"
)

// OrgScopes are the organization-management scopes Docker Hub offers.
var OrgScopes = []string{"member-read", "member-edit", "invite-read", "invite-edit", "group-read", "group-edit"}

// RepoScope is what a token may do to one repository (or "org/*").
type RepoScope struct {
	Repo string `json:"repo"`
	Pull bool   `json:"pull,omitempty"`
	Push bool   `json:"push,omitempty"`
}

// Scopes are what a token may do. Unknown is set when the token came in
// through plain docker login and nobody has said what it may do.
type Scopes struct {
	Unknown    bool        `json:"unknown,omitempty"`
	Repos      []RepoScope `json:"repos,omitempty"`
	PublicRead bool        `json:"public_read,omitempty"`
	Org        []string    `json:"org,omitempty"`
	// Other holds scope strings from an import that have no meaning here;
	// kept and shown, never acted on.
	Other []string `json:"other,omitempty"`
}

// UnknownScopes are the scopes of a token nothing is known about.
func UnknownScopes() Scopes { return Scopes{Unknown: true} }

// NewScopes builds scopes from repository lists (normalised and checked,
// push implying pull), public read and organization scopes.
func NewScopes(pull, push []string, publicRead bool, org []string) (Scopes, error) {
	s := Scopes{PublicRead: publicRead}
	byRepo := map[string]*RepoScope{}
	add := func(list []string, isPush bool) error {
		for _, r := range list {
			repo, err := NormalizeRepo(r)
			if err != nil {
				return err
			}
			rs := byRepo[repo]
			if rs == nil {
				rs = &RepoScope{Repo: repo}
				byRepo[repo] = rs
			}
			rs.Pull = true
			rs.Push = rs.Push || isPush
		}
		return nil
	}
	if err := add(pull, false); err != nil {
		return Scopes{}, err
	}
	if err := add(push, true); err != nil {
		return Scopes{}, err
	}
	for _, rs := range byRepo {
		s.Repos = append(s.Repos, *rs)
	}
	slices.SortFunc(s.Repos, func(a, b RepoScope) int { return strings.Compare(a.Repo, b.Repo) })
	for _, o := range org {
		o = strings.ToLower(strings.TrimSpace(o))
		if !slices.Contains(OrgScopes, o) {
			return Scopes{}, fmt.Errorf("organization scope %q: known scopes are %s", o, strings.Join(OrgScopes, ", "))
		}
		if !slices.Contains(s.Org, o) {
			s.Org = append(s.Org, o)
		}
	}
	slices.Sort(s.Org)
	return s, s.Check()
}

// Check enforces Docker Hub's limits.
func (s Scopes) Check() error {
	if n := len(s.Repos); n > MaxRepos {
		return fmt.Errorf("%d repositories: Docker Hub allows at most %d per token; split them over several tokens", n, MaxRepos)
	}
	return nil
}

// Allows reports whether the scopes allow action on repo. public says
// whether repo is public (then "Read public repositories" allows a pull).
// Unknown scopes allow everything: nobody knows better.
func (s Scopes) Allows(repo, action string, public bool) bool {
	if s.Unknown {
		return true
	}
	for _, rs := range s.Repos {
		// The cheap test first: most scopes are of other repositories.
		if ((action == hub.ActionPull && rs.Pull) || (action == hub.ActionPush && rs.Push)) && MatchRepo(rs.Repo, repo) {
			return true
		}
	}
	return action == hub.ActionPull && public && s.PublicRead
}

// Summary is a short text for a table: "pull acme/*; push acme/app; public read".
func (s Scopes) Summary() string {
	if s.Unknown {
		return "unknown (from docker login)"
	}
	var pull, push []string
	for _, rs := range s.Repos {
		if rs.Push {
			push = append(push, rs.Repo)
		} else if rs.Pull {
			pull = append(pull, rs.Repo)
		}
	}
	var parts []string
	if len(pull) > 0 {
		parts = append(parts, "pull "+short(pull))
	}
	if len(push) > 0 {
		parts = append(parts, "push "+short(push))
	}
	if s.PublicRead {
		parts = append(parts, "public read")
	}
	if len(s.Org) > 0 {
		parts = append(parts, strings.Join(s.Org, ","))
	}
	if len(s.Other) > 0 {
		parts = append(parts, fmt.Sprintf("%d unrecognised", len(s.Other)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func short(list []string) string {
	if len(list) <= 3 {
		return strings.Join(list, ",")
	}
	return fmt.Sprintf("%s,… (%d)", strings.Join(list[:2], ","), len(list))
}
