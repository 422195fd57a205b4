package oat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/oatkit/oat/internal/hub"
)

func TestNormalizeRepo(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want, err string }{
		{"alpine", "library/alpine", ""},
		{"library/alpine", "library/alpine", ""},
		{"docker.io/library/alpine", "library/alpine", ""},
		{"Docker.io/Acme/App", "acme/app", ""},
		{"index.docker.io/acme/app", "acme/app", ""},
		{"registry-1.docker.io/acme/app", "acme/app", ""},
		{" acme/app ", "acme/app", ""},
		{"acme/my-app.v2__x", "acme/my-app.v2__x", ""},
		{"acme/*", "acme/*", ""},
		{"", "", "empty repository name"},
		{"acme/app:1.0", "", "without a tag"},
		{"acme/app@sha256:abc", "", "without a digest"},
		{"ghcr.io/acme/app", "", "NAMESPACE/NAME"},
		{"acme/team/app", "", "NAMESPACE/NAME"},
		{"acme/-app", "", `name "-app" must be lowercase`},
		{"acme/app_", "", `name "app_" must be`},
		{"ac me/app", "", `namespace "ac me"`},
		{"*", "", "a wildcard needs an organization"},
		{"acme/" + strings.Repeat("a", 260), "", "longer than 255"},
	}
	for _, tt := range tests {
		got, err := NormalizeRepo(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("NormalizeRepo(%q) = %q, %v; want error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeRepo(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzNormalizeRepo(f *testing.F) {
	for _, s := range []string{"alpine", "acme/app", "docker.io/a/b", "a/*", "A/B:c", "x//y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeRepo(s)
		if err != nil {
			return
		}
		again, err := NormalizeRepo(got)
		if err != nil || again != got {
			t.Fatalf("NormalizeRepo(%q) = %q, which normalises to %q, %v", s, got, again, err)
		}
		if strings.Count(got, "/") != 1 || got != strings.ToLower(got) {
			t.Fatalf("NormalizeRepo(%q) = %q", s, got)
		}
	})
}

func TestScopes(t *testing.T) {
	t.Parallel()
	s, err := NewScopes([]string{"acme/*", "alpine"}, []string{"acme/app"}, true, []string{"Member-Read"})
	if err != nil {
		t.Fatal(err)
	}
	want := Scopes{
		Repos:      []RepoScope{{Repo: "acme/*", Pull: true}, {Repo: "acme/app", Pull: true, Push: true}, {Repo: "library/alpine", Pull: true}},
		PublicRead: true, Org: []string{"member-read"},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		repo, action string
		public, want bool
	}{
		{"acme/app", hub.ActionPush, false, true},
		{"acme/other", hub.ActionPull, false, true},
		{"acme/other", hub.ActionPush, false, false},
		{"library/alpine", hub.ActionPull, true, true},
		{"library/nginx", hub.ActionPull, true, true}, // public read
		{"library/nginx", hub.ActionPull, false, false},
		{"library/nginx", hub.ActionPush, true, false},
		{"acmeco/app", hub.ActionPull, false, false},
	} {
		if got := s.Allows(tt.repo, tt.action, tt.public); got != tt.want {
			t.Errorf("Allows(%s, %s, public=%v) = %v", tt.repo, tt.action, tt.public, got)
		}
	}
	if !UnknownScopes().Allows("x/y", hub.ActionPush, false) {
		t.Error("unknown scopes must allow")
	}
	if got := s.Summary(); got != "pull acme/*,library/alpine; push acme/app; public read; member-read" {
		t.Errorf("Summary() = %q", got)
	}

	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf("acme/r%d", i))
	}
	if _, err := NewScopes(many, nil, false, nil); err == nil || !strings.Contains(err.Error(), "at most 50") {
		t.Errorf("51 repositories: %v", err)
	}
	if _, err := NewScopes(many[:50], nil, false, nil); err != nil {
		t.Errorf("50 repositories: %v", err)
	}
	if _, err := NewScopes(nil, nil, false, []string{"billing-edit"}); err == nil || !strings.Contains(err.Error(), "member-read") {
		t.Errorf("unknown org scope: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) Token { return Token{Active: true, Secret: "s", Expires: now.Add(d)} }
	day := 24 * time.Hour
	tests := []struct {
		tok           Token
		text          string
		expired, soon bool
	}{
		{Token{Active: true, Secret: "s"}, "never", false, false},
		{at(12 * day), "in 12 days", false, true},
		{at(14*day - time.Minute), "in 14 days", false, true},
		{at(14 * day), "in 14 days", false, false},
		{at(30 * day), "in 30 days", false, false},
		{at(day), "tomorrow", false, true},
		{at(5 * time.Hour), "today", false, true},
		{at(-time.Hour), "expired today", true, false},
		{at(-3 * day), "expired 3 days ago", true, false},
		{at(-day), "expired 1 day ago", true, false},
		{at(0), "expired today", true, false},
	}
	for _, tt := range tests {
		if got := tt.tok.ExpiryText(now); got != tt.text {
			t.Errorf("expires %v: ExpiryText = %q, want %q", tt.tok.Expires, got, tt.text)
		}
		if tt.tok.Expired(now) != tt.expired || tt.tok.ExpiresSoon(now) != tt.soon || tt.tok.Usable(now) == tt.expired {
			t.Errorf("expires %v: expired=%v soon=%v usable=%v", tt.tok.Expires, tt.tok.Expired(now), tt.tok.ExpiresSoon(now), tt.tok.Usable(now))
		}
	}
	if (Token{Active: false, Secret: "s"}).Usable(now) || (Token{Active: true}).Usable(now) {
		t.Error("inactive or secretless tokens must not be usable")
	}
}

func TestParseExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-12-31", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{"90d", now.Add(90 * 24 * time.Hour), ""},
		{"2027-01-02T03:04:05+01:00", time.Date(2027, 1, 2, 2, 4, 5, 0, time.UTC), ""},
		{"2026-11-01", time.Time{}, "in the past"},
		{"2026-11-22", time.Time{}, "in the past"},
		{"0d", time.Time{}, "days from now"},
		{"tomorrow", time.Time{}, "give a date"},
		{"2026-13-01", time.Time{}, "give a date"},
	} {
		got, err := ParseExpiry(tt.in, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseExpiry(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportAPIList(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	list, err := ParseAPITokens(readFixture(t, "list.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []Token
	for _, a := range list {
		if a.Org() != "acme" {
			t.Errorf("%s: Org() = %q", a.Label, a.Org())
		}
		rec, err := a.Record("acme", now)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	date := func(s string) time.Time { d, _ := time.Parse(time.RFC3339, s); return d }
	want := []Token{
		{Org: "acme", Label: "ci-pull", Description: "Pull-only token for the CI runners", Created: date("2026-01-15T09:30:00Z"),
			Expires: date("2027-01-15T09:30:00Z"), Active: true, Source: "import",
			Scopes: Scopes{Repos: []RepoScope{{Repo: "acme/app", Pull: true}, {Repo: "acme/base", Pull: true}}, PublicRead: true}},
		{Org: "acme", Label: "release", Description: "Release pipeline", Created: date("2026-03-01T00:00:00Z"), Active: true, Source: "import",
			Scopes: Scopes{Repos: []RepoScope{{Repo: "acme/*", Pull: true}, {Repo: "acme/app", Pull: true, Push: true}}, Org: []string{"group-read", "member-read"}}},
		{Org: "acme", Label: "old-deploy", Created: date("2025-06-01T00:00:00Z"), Expires: date("2025-12-01T00:00:00Z"), Active: false, Source: "import",
			Scopes: Scopes{Repos: []RepoScope{{Repo: "acme/deploy", Pull: true, Push: true}}, Other: []string{"acme/deploy:repo-admin"}}},
		{Org: "acme", Label: "audit", Description: "Reads the member list", Created: date("2026-05-05T05:05:05Z"), Expires: date("2026-12-01T00:00:00Z"), Active: true, Source: "import",
			Scopes: Scopes{Org: []string{"invite-read", "member-read"}, Other: []string{"TYPE_BILLING:acme:billing-read"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	single, err := ParseAPITokens(readFixture(t, "single.json"))
	if err != nil || len(single) != 1 || single[0].Label != "ci-pull" {
		t.Errorf("single token: %v, %v", single, err)
	}
}

func TestImportBadInput(t *testing.T) {
	t.Parallel()
	var repos []string
	for i := range 51 {
		repos = append(repos, fmt.Sprintf(`{"type":"TYPE_REPO","path":"acme/r%d","scopes":["repo-pull"]}`, i))
	}
	fiftyOne := `{"label":"big","resources":[` + strings.Join(repos, ",") + `]}`
	for _, tt := range []struct{ name, in, err string }{
		{"empty", "", "empty input"},
		{"not JSON", "label: x", "not JSON"},
		{"an array", `[{"label":"x"}]`, "not JSON of an access token"},
		{"results not a list", `{"results":{}}`, "results"},
		{"no label", `{"results":[{"label":""}]}`, "has no label"},
		{"bad repository", `{"label":"x","resources":[{"type":"TYPE_REPO","path":"Acme/app:1","scopes":["repo-pull"]}]}`, "without a tag"},
		{"51 repositories", fiftyOne, "at most 50"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			list, err := ParseAPITokens([]byte(tt.in))
			if err == nil {
				for _, a := range list {
					if _, err = a.Record("acme", time.Now()); err != nil {
						break
					}
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("got %v, want an error with %q", err, tt.err)
			}
		})
	}
}

func TestOrgFromResources(t *testing.T) {
	t.Parallel()
	mixed := APIToken{Resources: []APIResource{{Type: "TYPE_REPO", Path: "acme/a"}, {Type: "TYPE_REPO", Path: "beta/b"}}}
	if got := mixed.Org(); got != "" {
		t.Errorf("two organizations: Org() = %q", got)
	}
	public := APIToken{Resources: []APIResource{{Type: "TYPE_REPO", Path: "*/*/public"}}}
	if got := public.Org(); got != "" {
		t.Errorf("public only: Org() = %q", got)
	}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	for _, org := range []string{"acme", "acme-corp", "a1_b"} {
		if err := CheckOrg(org); err != nil {
			t.Errorf("CheckOrg(%q): %v", org, err)
		}
	}
	for _, org := range []string{"", "a", "Acme", "acme corp", "-acme"} {
		if err := CheckOrg(org); err == nil {
			t.Errorf("CheckOrg(%q) accepted", org)
		}
	}
	for _, l := range []string{"", "  ", "a\nb", strings.Repeat("x", 101)} {
		if err := CheckLabel(l); err == nil {
			t.Errorf("CheckLabel(%q) accepted", l)
		}
	}
}
