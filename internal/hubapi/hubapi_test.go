package hubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/hubtest"
)

const (
	ownerSecret = "dckr_pat_OwnerAlice0000000000000001"
	oatSecret   = "dckr_oat_HubapiRelease000000000001"
)

func startHub(t *testing.T, limit int) (*hubtest.Hub, *Client) {
	t.Helper()
	h, err := hubtest.Start(context.Background(), hubtest.Options{
		Tokens:     []hubtest.Token{{Org: "acme", Label: "release", Secret: oatSecret, Push: []string{"acme/app"}}},
		Owners:     []hubtest.Owner{{User: "alice", Secret: ownerSecret, Orgs: []string{"acme"}}},
		TokenLimit: limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h, &Client{HTTP: &http.Client{Transport: h.Transport()}}
}

// A token's whole life through the client, against the stand-in Hub.
func TestLifecycle(t *testing.T) {
	_, c := startHub(t, 0)
	ctx := context.Background()
	if _, err := c.List(ctx, "acme"); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("list before signing in: %v, want ErrUnauthorized", err)
	}
	if err := c.Login(ctx, "alice", "wrong"); !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("a wrong secret: %v", err)
	}
	if err := c.Login(ctx, "alice", ownerSecret); err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
	res := []Resource{{Type: TypeRepo, Path: "acme/app", Scopes: []string{ScopePull}}, {Type: TypeRepo, Path: PublicRepos, Scopes: []string{ScopePull}}}
	tok, err := c.Create(ctx, "acme", NewToken{Label: "ci", Description: "the pipeline", Resources: res, ExpiresAt: &expires})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Secret, "dckr_oat_") || tok.ID == "" || !tok.IsActive || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(expires) || tok.CreatedBy != "alice" {
		t.Errorf("created: %+v", tok)
	}
	if diff := cmp.Diff(res, tok.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	list, err := c.List(ctx, "acme")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %+v", err, list)
	}
	for _, l := range list {
		if l.Secret != "" || l.Resources != nil {
			t.Errorf("a listed token holds its secret or resources: %+v", l)
		}
	}
	off := false
	got, err := c.Update(ctx, "acme", tok.ID, Change{IsActive: &off})
	if err != nil || got.IsActive {
		t.Fatalf("deactivate: %v %+v", err, got)
	}
	if got, err = c.Get(ctx, "acme", tok.ID); err != nil || got.IsActive || got.Label != "ci" || len(got.Resources) != 2 {
		t.Errorf("get: %v %+v", err, got)
	}
	if err := c.Delete(ctx, "acme", tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "acme", tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: %v, want ErrNotFound", err)
	}
}

// List follows the pages to the end.
func TestListFollowsPages(t *testing.T) {
	_, c := startHub(t, 20)
	ctx := context.Background()
	if err := c.Login(ctx, "alice", ownerSecret); err != nil {
		t.Fatal(err)
	}
	c.pageSize = 3
	want := map[string]bool{"release": true}
	for i := range 10 {
		label := fmt.Sprintf("t%d", i)
		want[label] = true
		if _, err := c.Create(ctx, "acme", NewToken{Label: label, Resources: []Resource{{Type: TypeRepo, Path: "acme/*", Scopes: []string{ScopePull}}}}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := c.List(ctx, "acme")
	got := map[string]bool{}
	for _, l := range list {
		got[l.Label] = true
	}
	if err != nil || len(list) != 11 || !cmp.Equal(want, got) {
		t.Errorf("list: %v, %d tokens %v", err, len(list), got)
	}
}

// Refusals come back as errors to test with errors.Is, saying what the
// Hub said; 429s are waited out within MaxWait.
func TestRefusals(t *testing.T) {
	h, c := startHub(t, 2)
	ctx := context.Background()
	if err := c.Login(ctx, "acme", oatSecret); err != nil {
		t.Fatalf("an OAT signs in to the Hub API: %v", err)
	}
	if _, err := c.List(ctx, "acme"); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "organization access tokens cannot manage access tokens") {
		t.Errorf("an OAT lists tokens: %v", err)
	}
	if err := c.Login(ctx, "alice", ownerSecret); err != nil {
		t.Fatal(err)
	}
	one := NewToken{Label: "x", Resources: []Resource{{Type: TypeRepo, Path: "acme/app", Scopes: []string{ScopePull}}}}
	if _, err := c.Create(ctx, "acme", one); err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := c.Create(ctx, "acme", one); !errors.As(err, &e) || e.Status != http.StatusForbidden || !strings.Contains(e.Detail, "limit of 2") {
		t.Errorf("over the limit: %v", err)
	}
	h.FailNext(1, http.StatusTooManyRequests)
	start := time.Now()
	if _, err := c.List(ctx, "acme"); err != nil || time.Since(start) < time.Second {
		t.Errorf("a 429 is waited out: %v after %v", err, time.Since(start))
	}
	c.MaxWait = time.Millisecond
	h.FailNext(1, http.StatusTooManyRequests)
	if _, err := c.List(ctx, "acme"); !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != time.Second {
		t.Errorf("a 429 past MaxWait: %v", err)
	}
	h.FailNext(1, http.StatusServiceUnavailable)
	if _, err := c.Create(ctx, "acme", one); !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
		t.Errorf("a 503 on create is returned, not retried: %v", err)
	}
}
