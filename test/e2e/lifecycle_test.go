//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// tokenSecretsSeen are the secret hashes of the hub's token requests with a
// token of org after its first since requests.
func tokenSecretsSeen(hub *hubtest.Hub, since int) []string {
	var out []string
	for _, r := range tokenRequests(hub, since) {
		if r.SecretHash != "" {
			out = append(out, r.SecretHash)
		}
	}
	return out
}

// TestLifecycleWithDocker: the helper binary signs in to the Hub API as an
// organization owner, creates a token there, and docker pulls with it at
// once; token rotate --delete replaces it, docker pulls with the twin
// without a new login, and the hub holds the twin alone.
func TestLifecycleWithDocker(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const ownerPAT = "dckr_pat_E2eOwnerAlice000000000001"
	hub, hubCA := startHubWith(t, ctx, hubtest.Options{Owners: []hubtest.Owner{{User: "alice", Secret: ownerPAT, Orgs: []string{"acme"}}}})
	if _, err := hub.Seed(ctx, "acme/app", "1.0"); err != nil {
		t.Fatal(err)
	}
	e := startEngine(t, hubCA)
	base, _ := newClient(t, e.host)
	c := base.with("SSL_CERT_FILE=" + hubCA) // the helper verifies the hub's API with it
	c.must(t, ctx, "", helperName, "setup")
	if r := c.must(t, ctx, ownerPAT, helperName, "hub", "login", "-u", "alice", "--password-stdin"); !strings.Contains(r.stdout, "signed in") {
		t.Fatalf("hub login: %s", r)
	}
	r := c.must(t, ctx, "", helperName, "token", "create", "--org", "acme", "--label", "ci", "--pull", "acme/app", "--expires", "30d")
	if !strings.Contains(r.stdout, `created token "ci" (acme) at Docker Hub`) {
		t.Fatalf("token create: %s", r)
	}
	since := len(hub.Requests())
	c.must(t, ctx, "", "docker", "pull", "acme/app:1.0")
	first := tokenSecretsSeen(hub, since)
	if len(first) == 0 {
		t.Fatalf("docker pull sent the hub no token: %+v", hub.Requests()[since:])
	}
	if r := c.must(t, ctx, "", helperName, "token", "rotate", "ci", "--delete"); !strings.Contains(r.stdout, "deleted the old token") {
		t.Fatalf("token rotate: %s", r)
	}
	c.must(t, ctx, "", "docker", "rmi", "acme/app:1.0")
	since = len(hub.Requests())
	c.must(t, ctx, "", "docker", "pull", "acme/app:1.0")
	for _, h := range tokenSecretsSeen(hub, since) {
		if h == first[0] {
			t.Errorf("docker still pulls with the rotated-out token")
		}
	}
	if list := c.must(t, ctx, "", helperName, "token", "sync").stdout; strings.TrimSpace(list) != "acme/ci: synced" {
		t.Errorf("token sync after the rotation: %q, want the twin alone", list)
	}
	if out := c.must(t, ctx, "", helperName, "list").stdout; strings.Contains(out, "alice") {
		t.Errorf("list shows the owner's sign-in: %s", out)
	}
}
