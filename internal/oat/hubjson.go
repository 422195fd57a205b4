package oat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/hub"
)

// APIToken is one token as Docker Hub's organization access-token API
// (GET /v2/orgs/{org}/access-tokens) describes it.
type APIToken struct {
	ID          string        `json:"id"`
	Label       string        `json:"label"`
	Description string        `json:"description"`
	IsActive    *bool         `json:"is_active"`
	CreatedAt   *time.Time    `json:"created_at"`
	ExpiresAt   *time.Time    `json:"expires_at"`
	Resources   []APIResource `json:"resources"`
}

// APIResource is a resource a token has scopes on.
type APIResource struct {
	Type   string   `json:"type"` // TYPE_REPO or TYPE_ORG
	Path   string   `json:"path"` // "acme/app", "acme/*", "*/*/public", "acme"
	Scopes []string `json:"scopes"`
}

// MaxImportSize bounds an import file: a reader of one need read no more
// than a byte past it.
const MaxImportSize = 8 << 20

// ParseAPITokens reads a single token or a {"results": […]} list.
func ParseAPITokens(data []byte) ([]APIToken, error) {
	if len(data) > MaxImportSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxImportSize>>20)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("empty input: expected the JSON of Docker Hub's access-token API")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not JSON of an access token or a list of them: %w", err)
	}
	var list []APIToken
	if raw, ok := probe["results"]; ok {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
	} else {
		var one APIToken
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, err
		}
		list = []APIToken{one}
	}
	for i, t := range list {
		if strings.TrimSpace(t.Label) == "" {
			return nil, fmt.Errorf("token %d has no label", i+1)
		}
	}
	return list, nil
}

// scopeAction maps the scope spellings Docker Hub has used to pull or push.
func scopeAction(s string) string {
	switch strings.ToLower(s) {
	case "repo-pull", "image-pull", "scope-image-pull", "pull":
		return hub.ActionPull
	case "repo-push", "image-push", "scope-image-push", "push":
		return hub.ActionPush
	}
	return ""
}

// orgScope maps an organization scope spelling ("member-read",
// "scope-member-read") to ours, or "".
func orgScope(s string) string {
	s = strings.TrimPrefix(strings.ToLower(s), "scope-")
	if slices.Contains(OrgScopes, s) {
		return s
	}
	return ""
}

// Org guesses the organization of a token from its resources: the one
// namespace all of them name, or "".
func (t APIToken) Org() string {
	org := ""
	for _, r := range t.Resources {
		ns := r.Path
		if r.Type != "TYPE_ORG" {
			ns = Namespace(r.Path)
		}
		if ns == "*" || ns == "" {
			continue
		}
		if org != "" && ns != org {
			return ""
		}
		org = ns
	}
	return org
}

// Record turns an API token into a record of org (without a secret).
func (t APIToken) Record(org string, now time.Time) (Token, error) {
	rec := Token{Org: org, Label: t.Label, Description: t.Description, Active: true, Created: now.UTC(), Source: "import"}
	if t.IsActive != nil {
		rec.Active = *t.IsActive
	}
	if t.CreatedAt != nil {
		rec.Created = t.CreatedAt.UTC()
	}
	if t.ExpiresAt != nil {
		rec.Expires = t.ExpiresAt.UTC()
	}
	var pull, push, orgScopes []string
	for _, r := range t.Resources {
		for _, s := range r.Scopes {
			switch r.Type {
			case "TYPE_REPO":
				action := scopeAction(s)
				switch {
				case action == hub.ActionPull && r.Path == "*/*/public":
					rec.Scopes.PublicRead = true
				case action == hub.ActionPull:
					pull = append(pull, r.Path)
				case action == hub.ActionPush:
					push = append(push, r.Path)
				default:
					rec.Scopes.Other = append(rec.Scopes.Other, r.Path+":"+s)
				}
			case "TYPE_ORG":
				if o := orgScope(s); o != "" {
					orgScopes = append(orgScopes, o)
				} else {
					rec.Scopes.Other = append(rec.Scopes.Other, r.Path+":"+s)
				}
			default:
				rec.Scopes.Other = append(rec.Scopes.Other, r.Type+":"+r.Path+":"+s)
			}
		}
	}
	scopes, err := NewScopes(pull, push, rec.Scopes.PublicRead, orgScopes)
	if err != nil {
		return Token{}, fmt.Errorf("token %q: %w", t.Label, err)
	}
	scopes.Other = rec.Scopes.Other
	rec.Scopes = scopes
	return rec, nil
}
