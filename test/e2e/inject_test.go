//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// labelsAsked are the labels of the tokens the hub's token service saw,
// after its first since requests.
func labelsAsked(hub *hubtest.Hub, since int) []string {
	var out []string
	for _, r := range tokenRequests(hub, since) {
		out = append(out, r.Label)
	}
	return out
}

// twoTokens starts a hub with acme/app:1.0 and two tokens of acme's,
// ci-pull (pull acme/app) and release (push acme/app, pull acme/*), and a
// client whose helper holds both: the hub, its CA file and the client.
func twoTokens(t *testing.T, ctx context.Context) (*hubtest.Hub, string, *client) {
	t.Helper()
	hub, hubCA := startHub(t, ctx,
		hubtest.Token{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
		hubtest.Token{Org: "acme", Label: "release", Secret: releaseSecret, Pull: []string{"acme/*"}, Push: []string{"acme/app"}},
	)
	if _, err := hub.Seed(ctx, "acme/app", "1.0"); err != nil {
		t.Fatal(err)
	}
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app")
	base.must(t, ctx, releaseSecret, helperName, "token", "add", "--org", "acme", "--label", "release", "--push", "acme/app", "--pull", "acme/*")
	return hub, hubCA, base
}

// TestRunInject: oat-proxy run --inject -- crane …, with an empty docker
// config: crane has no credentials at all, the proxy attaches the
// least-privileged token per request (the pull token for a pull, the push
// token for a push, as the hub's log shows), refuses what no token covers
// before the hub sees it, and a client without the one-time proxy secret
// gets 407. No token secret reaches the command's environment.
func TestRunInject(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hub, hubCA, base := twoTokens(t, ctx)
	// An empty docker config: crane has nothing to send. SSL_CERT_FILE is
	// the hub's CA: the proxy verifies its upstream with it, and run's
	// bundle (roots + the proxy's CA) takes it as the roots, for the CDN.
	c := base.with("DOCKER_CONFIG="+t.TempDir(), "SSL_CERT_FILE="+hubCA, "HTTPS_PROXY=", "https_proxy=", "NO_PROXY=", "no_proxy=")
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	run := func(args ...string) []string {
		return append([]string{"run", "--inject", "--audit-log", audit, "--"}, args...)
	}

	since := len(hub.Requests())
	c.must(t, ctx, "", "oat-proxy", run("crane", "pull", "acme/app:1.0", filepath.Join(t.TempDir(), "app.tar"))...)
	if got := labelsAsked(hub, since); len(got) == 0 || strings.Join(got, ",") != strings.Repeat("ci-pull,", len(got)-1)+"ci-pull" {
		t.Errorf("pull: the hub's token service saw %q, want ci-pull only", got)
	}

	since = len(hub.Requests())
	c.must(t, ctx, "", "oat-proxy", run("crane", "copy", "acme/app:1.0", "acme/app:injected")...)
	for _, l := range labelsAsked(hub, since) {
		if l != "release" && l != "ci-pull" {
			t.Errorf("copy: token %q used", l)
		}
	}
	if !strings.Contains(strings.Join(labelsAsked(hub, since), ","), "release") {
		t.Errorf("copy: the push token was never used: %q", labelsAsked(hub, since))
	}

	since = len(hub.Requests())
	r := c.run(ctx, "", "oat-proxy", run("crane", "copy", "acme/app:1.0", "acme/base:injected")...)
	if r.err == nil || !strings.Contains(r.stdout+r.stderr, "oat-proxy holds no usable token that may repository:acme/base:") {
		t.Errorf("push no token covers: %s", r)
	}
	if hubSaw(hub, since, "acme/base", "push") {
		t.Error("the hub saw a push request for acme/base")
	}

	// skopeo shows no refused token request: the closest token is
	// attached, the request narrowed to its scopes, and the upload or
	// manifest PUT refused with its sentence.
	dir := filepath.Join(t.TempDir(), "app")
	c.must(t, ctx, "", "oat-proxy", run("skopeo", "--insecure-policy", "copy", "docker://docker.io/acme/app:1.0", "dir:"+dir)...)
	since = len(hub.Requests())
	r = c.run(ctx, "", "oat-proxy", run("skopeo", "--insecure-policy", "copy", "dir:"+dir, "docker://docker.io/acme/base:injected")...)
	if out := strings.ReplaceAll(r.stderr, `\"`, `"`); r.err == nil || !strings.Contains(out, `token "release" (acme) may not push to acme/base: it has pull only`) {
		t.Errorf("skopeo push no token covers: %s", r)
	}
	if hubSaw(hub, since, "acme/base", "push") {
		t.Error("the hub saw a push request for acme/base from skopeo")
	}

	// Without the one-time secret: 407.
	r = c.run(ctx, "", "oat-proxy", run("sh", "-c", `export HTTPS_PROXY="http://${HTTPS_PROXY#*@}" https_proxy="http://${https_proxy#*@}"; exec crane manifest acme/app:1.0`)...)
	if r.err == nil || !strings.Contains(r.stdout+r.stderr, "Proxy Authentication Required") {
		t.Errorf("without the proxy secret: %s", r)
	}

	// The command's environment holds the proxy's secret, never a token's.
	env := c.must(t, ctx, "", "oat-proxy", run("env")...).stdout
	for _, s := range []string{ciPullSecret, releaseSecret} {
		if strings.Contains(env, s) {
			t.Errorf("a token secret in the command's environment")
		}
	}
	if !strings.Contains(env, "HTTPS_PROXY=http://oat:") {
		t.Errorf("no HTTPS_PROXY with the proxy secret in:\n%s", env)
	}
	if log := readFile(t, audit); !strings.Contains(log, `"decision":"injected"`) {
		t.Errorf("no injected decision in the audit log:\n%s", log)
	}
}
