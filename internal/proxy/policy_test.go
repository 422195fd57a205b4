package proxy

import (
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	scopes := func(pull, push []string, public bool) oat.Scopes {
		s, err := oat.NewScopes(pull, push, public, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pullOnly := oat.Token{Org: "acme", Label: "ci-pull", Scopes: scopes([]string{"acme/*"}, nil, false)}
	release := oat.Token{Org: "acme", Label: "release", Scopes: scopes(nil, []string{"acme/app"}, true)}
	unknown := oat.Token{Org: "acme", Label: "login", Scopes: oat.UnknownScopes()}
	need := func(repo string, actions ...string) []registry.Access {
		return []registry.Access{{Repo: repo, Actions: actions}}
	}
	tests := []struct {
		name  string
		tok   oat.Token
		need  []registry.Access
		allow bool
		msg   string
	}{
		{"pull in scope", pullOnly, need("acme/app", "pull"), true, ""},
		{"push with pull only", pullOnly, need("acme/app", "pull", "push"), false,
			`token "ci-pull" (acme) may not push to acme/app: it has pull only. Use a token with Image Push on acme/app (docker-credential-oat token ls), or ask an organization owner to add the scope.`},
		{"pull of another org", pullOnly, need("beta/app", "pull"), false, `may not pull beta/app: it has no access to it. Use a token with Image Pull on beta/app`},
		{"official image without public read", pullOnly, need("library/alpine", "pull"), false, `may not pull library/alpine: it has no public read. Use a token with Read public repositories`},
		{"official image with public read", release, need("library/alpine", "pull"), true, ""},
		{"another org's repository with public read: the Hub decides", release, need("beta/app", "pull"), true, ""},
		{"push in scope", release, need("acme/app", "pull", "push"), true, ""},
		{"push elsewhere", release, need("acme/base", "pull", "push"), false, `may not push to acme/base: it has no access to it`},
		{"mount from a repository out of reach", pullOnly, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}, {Repo: "beta/x", Actions: []string{"pull"}}}, false, "may not pull beta/x"},
		{"delete", release, need("acme/app", "delete"), false, "organization access tokens cannot delete images"},
		{"unknown scopes pass", unknown, need("acme/app", "push", "delete"), true, ""},
	}
	for _, tt := range tests {
		d := Decide(tt.tok, tt.need)
		if d.Allow != tt.allow || !strings.Contains(d.Message, tt.msg) {
			t.Errorf("%s: %+v, want allow=%v message with %q", tt.name, d, tt.allow, tt.msg)
		}
	}

	admin := oat.Token{Org: "acme", Label: "admin", Scopes: oat.Scopes{Org: []string{"member-edit"}}}
	if d := DecideOrg(admin, "acme", "member-read"); !d.Allow {
		t.Errorf("member-edit covers member-read: %+v", d)
	}
	if d := DecideOrg(admin, "acme", "group-read"); d.Allow || !strings.Contains(d.Message, "lacks the group-read scope") {
		t.Errorf("group-read: %+v", d)
	}
	if d := DecideOrg(admin, "beta", "member-read"); d.Allow {
		t.Errorf("another org: %+v", d)
	}
}

// changingTokens is a source whose records change, saying so.
type changingTokens struct {
	mu      sync.Mutex
	tokens  []oat.Token
	changed bool
}

func (c *changingTokens) Tokens() ([]oat.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changed = false
	return append([]oat.Token(nil), c.tokens...), nil
}

func (c *changingTokens) Changed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func TestIndexReloadsChangedRecords(t *testing.T) {
	t.Parallel()
	src := &changingTokens{tokens: []oat.Token{{Org: "acme", Label: "a", Secret: "dckr_oat_a"}}}
	ix := newIndex(src)
	if _, ok := ix.records().lookup("dckr_oat_a"); !ok {
		t.Fatal("first token not found")
	}
	if _, ok := ix.records().lookup("dckr_oat_b"); ok {
		t.Fatal("unknown secret found")
	}
	src.mu.Lock()
	src.tokens = append(src.tokens, oat.Token{Org: "acme", Label: "b", Secret: "dckr_oat_b"})
	src.changed = true
	src.mu.Unlock()
	if got, ok := ix.records().lookup("dckr_oat_b"); !ok || got.Label != "b" {
		t.Errorf("after a change: %+v %v", got, ok)
	}
	ix.remember("bearer-1", holder{ours: true, id: identityOf(oat.Token{Label: "a"})}, -1)
	if _, ok := ix.issuedTo("bearer-1"); ok {
		t.Error("an expired bearer is still tied to its token")
	}
}

// slowTokens is a source whose first read, once armed, waits for
// release, and which says a change once, as a SIGHUP does.
type slowTokens struct {
	mu      sync.Mutex
	tokens  []oat.Token
	changed bool
	armed   bool
	reading chan struct{}
	release chan struct{}
}

func (s *slowTokens) Tokens() ([]oat.Token, error) {
	s.mu.Lock()
	out, wait := slices.Clone(s.tokens), s.armed
	s.armed = false
	s.mu.Unlock()
	if wait {
		s.reading <- struct{}{}
		<-s.release
	}
	return out, nil
}

func (s *slowTokens) Changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.changed
	s.changed = false
	return c
}

// A change said while another request reads the records is read again
// for the request that saw it: the read in flight began before it.
func TestIndexChangeDuringARead(t *testing.T) {
	t.Parallel()
	a := oat.Token{Org: "acme", Label: "a", Secret: "dckr_oat_a"}
	b := oat.Token{Org: "acme", Label: "b", Secret: "dckr_oat_b"}
	src := &slowTokens{tokens: []oat.Token{a}, reading: make(chan struct{}), release: make(chan struct{})}
	ix := newIndex(src)
	ix.records()
	src.mu.Lock()
	src.changed, src.armed = true, true
	src.mu.Unlock()
	first := make(chan records)
	go func() { first <- ix.records() }()
	<-src.reading // the first request's read has the records without b
	src.mu.Lock()
	src.tokens, src.changed = []oat.Token{a, b}, true
	src.mu.Unlock()
	second := make(chan records)
	go func() { second <- ix.records() }()
	for { // the second request has seen the change
		src.mu.Lock()
		seen := !src.changed
		src.mu.Unlock()
		if seen {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(src.release)
	if _, ok := (<-first).lookup(b.Secret); ok {
		t.Error("the read begun before the change has b")
	}
	if _, ok := (<-second).lookup(b.Secret); !ok {
		t.Error("the request that saw the change was answered from the read begun before it")
	}
}

// A refresh token refers to its record by identity: an edit of the record
// applies at once, a removal or a new secret unties it.
func TestIssuedTokensReadTheCurrentRecord(t *testing.T) {
	t.Parallel()
	wide, _ := oat.NewScopes(nil, []string{"acme/*"}, false, nil)
	narrow, _ := oat.NewScopes([]string{"acme/app"}, nil, false, nil)
	rec := oat.Token{Org: "acme", Label: "a", Secret: "dckr_oat_a", Scopes: wide}
	src := &changingTokens{tokens: []oat.Token{rec}}
	ix := newIndex(src)
	tok, _ := ix.records().lookup(rec.Secret)
	ix.remember("refresh-1", holder{ours: true, id: identityOf(tok)}, time.Hour)
	edit := func(tokens ...oat.Token) {
		src.mu.Lock()
		src.tokens, src.changed = tokens, true
		src.mu.Unlock()
	}
	current := func() (oat.Token, bool) {
		h, ok := ix.issuedTo("refresh-1")
		if !ok || !h.ours {
			t.Fatalf("refresh-1 issued to %+v %v", h, ok)
		}
		return ix.records().current(h.id)
	}
	edited := rec
	edited.Scopes = narrow
	edit(edited)
	if got, ok := current(); !ok || Decide(got, []registry.Access{{Repo: "acme/app", Actions: []string{"push"}}}).Allow {
		t.Errorf("after token edit the refresh token still pushes: %+v %v", got, ok)
	}
	rotated := edited
	rotated.Secret = "dckr_oat_new"
	edit(rotated)
	if got, ok := current(); ok {
		t.Errorf("after a new secret: %+v", got)
	}
	edit()
	if got, ok := current(); ok {
		t.Errorf("after token rm: %+v", got)
	}
}

// A typical registry request, classified and decided.
func BenchmarkClassifyAndCheck(b *testing.B) {
	scopes, _ := oat.NewScopes([]string{"acme/*"}, nil, false, nil)
	tok := oat.Token{Org: "acme", Label: "ci-pull", Scopes: scopes}
	r := httptest.NewRequest("GET", "https://registry-1.docker.io/v2/acme/app/blobs/sha256:"+strings.Repeat("a", 64), nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig")
	b.ReportAllocs()
	for b.Loop() {
		req, err := registry.Classify("registry-1.docker.io", r, nil)
		if d := Check(tok, req, err); !d.Allow {
			b.Fatal(d.Message)
		}
	}
}
