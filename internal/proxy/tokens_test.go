package proxy

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/policy"
	"github.com/oatkit/oat/internal/registry"
)

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
	if got, ok := current(); !ok || policy.Scopes(&got, []registry.Access{{Repo: "acme/app", Actions: []string{"push"}}}).Outcome == policy.Allowed {
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
