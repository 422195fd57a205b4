//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// proxyURL is the HTTPS_PROXY, with the proxy secret, that `oat-proxy env`
// prints for c's installation.
func proxyURL(t *testing.T, ctx context.Context, c *client) string {
	t.Helper()
	out := c.must(t, ctx, "", "oat-proxy", "env", "--shell", "github").stdout
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "HTTPS_PROXY="); ok {
			if !strings.HasPrefix(v, "http://oat:") {
				t.Fatalf("oat-proxy env: HTTPS_PROXY without the proxy secret: %s", v)
			}
			return v
		}
	}
	t.Fatalf("oat-proxy env printed no HTTPS_PROXY:\n%s", out)
	return ""
}

// logLine is a line of the proxy's log: JSON, as it writes it when its
// stderr is not a terminal.
type logLine struct {
	Level  string `json:"level"`
	Msg    string `json:"msg"`
	Client string `json:"client"`
}

// proxyLog reads the proxy's log; a line that is not JSON fails the test.
func proxyLog(t *testing.T, p proxyRun) []logLine {
	t.Helper()
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, p.log)), "\n") {
		var e logLine
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("the proxy's log has a line that is not JSON: %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// refusals are the sentences the proxy's log says it refused with.
func refusals(t *testing.T, p proxyRun) []string {
	t.Helper()
	var out []string
	for _, l := range proxyLog(t, p) {
		if s, ok := strings.CutPrefix(l.Msg, "refused: "); ok {
			out = append(out, s)
		}
	}
	return out
}

// tokenRequests are the token requests the hub saw after its first since:
// the scopes asked, the hash of the secret that came with them and the
// label of the token it is ("" for none).
func tokenRequests(hub *hubtest.Hub, since int) []hubtest.Request {
	var out []hubtest.Request
	for _, r := range hub.Requests()[since:] {
		if strings.HasPrefix(r.Host, hubpkg.AuthHost) {
			out = append(out, r)
		}
	}
	return out
}

// asksPush reports whether a token request asked for push.
func asksPush(r hubtest.Request) bool {
	for _, s := range r.Asked {
		if i := strings.LastIndex(s, ":"); i >= 0 && strings.Contains(","+s[i+1:]+",", ",push,") {
			return true
		}
	}
	return false
}

// TestDockerdInject: dockerd with no login at all (an empty docker config,
// no credential helper) pulls and pushes through `oat-proxy serve
// --inject`, its HTTPS_PROXY carrying the proxy secret and the proxy's CA
// among its roots. The hub's log shows which token's secret came with each
// token request: the pull-only token for pulls, the push token for pushes.
// A push no token covers is refused before the hub, and the docker CLI
// prints the proxy's sentence.
func TestDockerdInject(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hub, hubCA, base := twoTokens(t, ctx)
	p := startProxy(t, ctx, base, hubCA, "--inject")
	url := proxyURL(t, ctx, base)

	// Without the secret, dockerd gets nothing through the proxy.
	e0 := startEngine(t, p.bundle, "HTTPS_PROXY=http://"+proxyListen, "NO_PROXY=", "no_proxy=")
	d0 := base.with("DOCKER_HOST="+e0.host, "DOCKER_CONFIG="+t.TempDir())
	if r := d0.run(ctx, "", "docker", "pull", "acme/app:1.0"); r.err == nil || !strings.Contains(r.stdout+r.stderr, "Proxy Authentication Required") {
		t.Errorf("dockerd without the proxy secret: %s", r)
	}
	e0.stop(t)

	e := startEngine(t, p.bundle, "HTTPS_PROXY="+url, "NO_PROXY=", "no_proxy=")
	// No login, no helper: the docker CLI sends dockerd no credentials.
	d := base.with("DOCKER_HOST="+e.host, "DOCKER_CONFIG="+t.TempDir())

	since := len(hub.Requests())
	d.must(t, ctx, "", "docker", "pull", "acme/app:1.0")
	pulls := tokenRequests(hub, since)
	if len(pulls) == 0 {
		t.Fatal("docker pull: the hub's token service saw no request")
	}
	pullHash, pushHash := hubtest.SecretHash(ciPullSecret), hubtest.SecretHash(releaseSecret)
	for _, r := range pulls {
		if r.SecretHash != pullHash || r.Label != "ci-pull" || asksPush(r) {
			t.Errorf("docker pull: a token request asking %q came with secret %q (%q), want ci-pull's %s", r.Asked, r.SecretHash, r.Label, pullHash)
		}
	}

	since = len(hub.Requests())
	d.must(t, ctx, "", "docker", "tag", "acme/app:1.0", "acme/app:2.0")
	d.must(t, ctx, "", "docker", "push", "acme/app:2.0")
	pushes := 0
	for _, r := range tokenRequests(hub, since) {
		switch {
		case asksPush(r) && r.SecretHash == pushHash && r.Label == "release":
			pushes++
		case asksPush(r):
			t.Errorf("docker push: a token request asking %q came with secret %q (%q), want release's %s", r.Asked, r.SecretHash, r.Label, pushHash)
		case r.SecretHash != pullHash || r.Label != "ci-pull":
			t.Errorf("docker push: a pull-only token request (%q) came with secret %q (%q), want ci-pull's %s", r.Asked, r.SecretHash, r.Label, pullHash)
		}
	}
	if pushes == 0 {
		t.Errorf("docker push: no token request for push reached the hub: %+v", tokenRequests(hub, since))
	}
	if !granted(hub, "acme", "acme/app", "push") {
		t.Error("the hub never granted push on acme/app")
	}
	if !auditHas(t, p, hubpkg.AuthHost, "token", "injected") {
		t.Errorf("no injected token request in the audit log:\n%s", tail(p.audit, 10))
	}

	// acme/base: no token may push there.
	d.must(t, ctx, "", "docker", "tag", "acme/app:1.0", "acme/base:2.0")
	before := len(refusals(t, p))
	r := refused(t, ctx, hub, p, d, "acme/base", "push", "", "docker", "push", "acme/base:2.0")
	said := refusals(t, p)[before:]
	if len(said) == 0 {
		t.Fatalf("the proxy's log has no refusal:\n%s", tail(p.log, 20))
	}
	shown := false
	for _, s := range said {
		shown = shown || strings.Contains(r.stdout+r.stderr, s)
	}
	if !shown {
		t.Errorf("docker push's output lacks the proxy's sentence %q:\n%s", said, r)
	}
}
