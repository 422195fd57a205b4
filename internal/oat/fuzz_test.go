package oat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/oatkit/oat/internal/hub"
)

// checkScopes asserts what every Scopes built by NewScopes satisfies: push
// implies pull, repositories and organization scopes are canonical, sorted
// and unique, and building again from the result gives the same scopes.
func checkScopes(t *testing.T, s Scopes) {
	t.Helper()
	var pull, push []string
	for i, rs := range s.Repos {
		if !rs.Pull {
			t.Fatalf("%s: push without pull", rs.Repo)
		}
		if norm, err := NormalizeRepo(rs.Repo); err != nil || norm != rs.Repo {
			t.Fatalf("repository %q is not canonical: %q, %v", rs.Repo, norm, err)
		}
		if i > 0 && s.Repos[i-1].Repo >= rs.Repo {
			t.Fatalf("repositories not sorted and unique: %v", s.Repos)
		}
		if rs.Push {
			push = append(push, rs.Repo)
		} else {
			pull = append(pull, rs.Repo)
		}
	}
	again, err := NewScopes(pull, push, s.PublicRead, s.Org)
	if err != nil {
		t.Fatalf("scopes %+v do not rebuild: %v", s, err)
	}
	again.Other = s.Other
	if diff := cmp.Diff(s, again, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("NewScopes is not idempotent (-first +again):\n%s", diff)
	}
}

func FuzzNewScopes(f *testing.F) {
	f.Add("acme/app,alpine", "acme/app", false, "member-read")
	f.Add("acme/*", "acme/web,ACME/Web", true, "Group-Edit,group-edit")
	f.Add("docker.io/library/nginx", "", false, "")
	f.Add("x//y", "a/../b", false, "scope-member-read")
	f.Fuzz(func(t *testing.T, pullList, pushList string, public bool, orgList string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		pull, push := split(pullList), split(pushList)
		s, err := NewScopes(pull, push, public, split(orgList))
		if err != nil {
			return
		}
		checkScopes(t, s)
		// Every repository asked for is allowed what it was asked for, in
		// any spelling that normalises to it.
		for _, list := range []struct {
			repos  []string
			action string
		}{{pull, hub.ActionPull}, {push, hub.ActionPull}, {push, hub.ActionPush}} {
			for _, r := range list.repos {
				norm, err := NormalizeRepo(r)
				if err != nil {
					t.Fatalf("NewScopes accepted %q, which does not normalise: %v", r, err)
				}
				if !s.Allows(norm, list.action, false) {
					t.Fatalf("scopes from %q do not allow %s on %s", r, list.action, norm)
				}
			}
		}
		// Nothing grants push that was not asked for push.
		for _, rs := range s.Repos {
			if len(push) == 0 && s.Allows(rs.Repo, hub.ActionPush, true) {
				t.Fatalf("%s: push allowed with no push scope", rs.Repo)
			}
		}
	})
}

func FuzzParseAPITokens(f *testing.F) {
	for _, name := range []string{"list.json", "single.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"label":"x","resources":[{"type":"TYPE_ORG","path":"acme","scopes":["scope-member-read"]},{"type":"TYPE_REPO","path":"*/*/public","scopes":["repo-pull"]}]}`))
	f.Add([]byte(`{"results":[{"label":" "}]}`))
	f.Add([]byte(`{"results":null}`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := ParseAPITokens(data)
		if err != nil {
			return
		}
		// What was parsed reads back the same from its own JSON.
		if out, err := json.Marshal(map[string]any{"results": list}); err == nil {
			again, err := ParseAPITokens(out)
			if err != nil {
				t.Fatalf("re-parsing %s: %v", out, err)
			}
			if diff := cmp.Diff(list, again, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("parse is not stable (-first +again):\n%s", diff)
			}
		}
		for _, tok := range list {
			if strings.TrimSpace(tok.Label) == "" {
				t.Fatal("a token without a label was accepted")
			}
			rec, err := tok.Record(tok.Org(), now)
			if err != nil {
				continue
			}
			if rec.Secret != "" || rec.Source != "import" {
				t.Fatalf("an imported record has secret %q, source %q", rec.Secret, rec.Source)
			}
			if err := rec.Scopes.Check(); err != nil {
				t.Fatalf("Record made scopes past the limits: %v", err)
			}
			checkScopes(t, rec.Scopes)
		}
	})
}
