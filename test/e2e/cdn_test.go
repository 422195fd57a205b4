//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// tunnelReason is the reason of the audit log's last tunnel to hostport
// with decision; "" if there is none.
func tunnelReason(t *testing.T, p proxyRun, hostport, decision string) string {
	t.Helper()
	reason := ""
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, p.audit)), "\n") {
		var e struct{ Host, Kind, Decision, Reason string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Host == hostport && e.Kind == "tunnel" && e.Decision == decision {
			reason = e.Reason
		}
	}
	return reason
}

// TestProxyDenyOtherHosts pulls through oat-proxy serve --deny-other-hosts
// with real clients: from a hub that redirects blob downloads to its CDN
// host, as Docker Hub does (crane, skopeo, ctr, dockerd), and from one that
// serves blobs itself, as registries without a CDN and mirrors do (crane,
// skopeo). A CONNECT to any other host is refused.
func TestProxyDenyOtherHosts(t *testing.T) {
	checkIsolated(t)
	cdn := hubpkg.CloudflareBlobHost + ":443"
	for _, tt := range []struct {
		name    string
		direct  bool
		clients []string
	}{
		{"redirect to the CDN", false, []string{"crane", "skopeo", "ctr", "dockerd"}},
		{"blobs served directly", true, []string{"crane", "skopeo"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			hub, _ := startHubWith(t, ctx, hubtest.Options{DirectBlobs: tt.direct, Tokens: []hubtest.Token{
				{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
			}})
			hubCA, err := hub.CertFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := hub.Seed(ctx, "acme/app", "1.0"); err != nil {
				t.Fatal(err)
			}
			base, _ := newClient(t, "unix:///nonexistent.sock")
			base.must(t, ctx, "", helperName, "setup")
			base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app", "--default")
			p := startProxy(t, ctx, base, hubCA, "--deny-other-hosts")
			c := base.with("HTTPS_PROXY=http://"+proxyListen, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+p.bundle)

			for _, client := range tt.clients {
				t.Run(client, func(t *testing.T) {
					switch client {
					case "crane":
						c.must(t, ctx, "", "crane", "pull", "acme/app:1.0", filepath.Join(t.TempDir(), "app.tar"))
					case "skopeo":
						c.must(t, ctx, "", "skopeo", "--insecure-policy", "copy", "docker://docker.io/acme/app:1.0", "dir:"+filepath.Join(t.TempDir(), "app"))
					case "ctr":
						addr := startContainerd(t)
						c.must(t, ctx, "", "ctr", "--address", addr, "--namespace", "e2e", "images", "pull", "--user", "acme:"+ciPullSecret, "docker.io/acme/app:1.0")
					case "dockerd":
						e := startEngine(t, p.bundle, "HTTPS_PROXY=http://"+proxyListen, "NO_PROXY=", "no_proxy=")
						base.with("DOCKER_HOST="+e.host).must(t, ctx, "", "docker", "pull", "acme/app:1.0")
					}
				})
			}

			reason := tunnelReason(t, p, cdn, "passed")
			switch {
			case !tt.direct && !strings.Contains(reason, "follows a Docker Hub redirect"):
				t.Errorf("no tunnel to %s following a Hub redirect in the audit log (reason %q):\n%s", cdn, reason, tail(p.audit, 20))
			case tt.direct && reason != "":
				t.Errorf("a tunnel to %s from a hub that serves blobs itself: %q", cdn, reason)
			}

			// Any other host is refused at the CONNECT.
			other := otherHost + ":5443"
			if r := c.run(ctx, "", "crane", "manifest", other+"/team/tool:1"); r.err == nil || !strings.Contains(r.stdout+r.stderr, "Forbidden") {
				t.Errorf("crane manifest %s through --deny-other-hosts: %s", other, r)
			}
			if !auditHas(t, p, other, "tunnel", "denied") {
				t.Errorf("no refused tunnel to %s in the audit log:\n%s", other, tail(p.audit, 10))
			}
			if t.Failed() {
				t.Logf("audit log:\n%s", tail(p.audit, 30))
			}
		})
	}
}
