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

const readerSecret = "dckr_oat_e2ePublicReaderToken000003"

// TestPublicReadOfAPrivateRepository: a token with "Read public
// repositories" pulling outside its list. Only the hub knows whether the
// repository is public: a public one pulls; for a private one the hub
// grants nothing, and every client shows the proxy's sentence, the
// repository is private or does not exist, without asking the registry
// for it.
func TestPublicReadOfAPrivateRepository(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hub, hubCA := startHubWith(t, ctx, hubtest.Options{
		Public: []string{"other/public"},
		Tokens: []hubtest.Token{{Org: "acme", Label: "reader", Secret: readerSecret, Pull: []string{"acme/app"}, PublicRead: true}},
	})
	for _, repo := range []string{"acme/app", "other/public", "other/private"} {
		if _, err := hub.Seed(ctx, repo, "1.0"); err != nil {
			t.Fatalf("seed %s: %v", repo, err)
		}
	}
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, readerSecret, helperName, "token", "add", "--org", "acme", "--label", "reader", "--pull", "acme/app", "--public-read")
	p := startProxy(t, ctx, base, hubCA)
	c := base.with("HTTPS_PROXY=http://"+proxyListen, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+p.bundle)
	const sentence = `token "reader" (acme) may not pull other/private: the repository is private or does not exist`

	private := func(t *testing.T, c *client, name string, args ...string) {
		t.Helper()
		since := len(hub.Requests())
		before := auditDenied(t, p, "other/private", "pull")
		r := c.run(ctx, "", name, args...)
		out := strings.ReplaceAll(r.stdout+r.stderr, `\"`, `"`)
		if r.err == nil || !strings.Contains(out, sentence) {
			t.Errorf("%s %s: want a refusal saying %q:\n%s", name, strings.Join(args, " "), sentence, r)
		}
		t.Logf("%s %s: %s", name, strings.Join(args, " "), strings.TrimSpace(r.stderr))
		for _, req := range hub.Requests()[since:] {
			if strings.HasPrefix(req.Path, "/v2/other/private/") {
				t.Errorf("%s: the registry was asked for %s %s", name, req.Method, req.Path)
			}
		}
		if auditDenied(t, p, "other/private", "pull") <= before {
			t.Errorf("%s: no denial of pull on other/private in the audit log:\n%s", name, tail(p.audit, 5))
		}
	}

	t.Run("crane", func(t *testing.T) {
		c.must(t, ctx, "", "crane", "manifest", "other/public:1.0")
		private(t, c, "crane", "manifest", "other/private:1.0")
	})
	t.Run("docker manifest inspect", func(t *testing.T) {
		c.must(t, ctx, "", "docker", "manifest", "inspect", "other/public:1.0")
		private(t, c, "docker", "manifest", "inspect", "other/private:1.0")
	})
	t.Run("skopeo", func(t *testing.T) {
		c.must(t, ctx, "", "skopeo", "inspect", "docker://docker.io/other/public:1.0")
		private(t, c, "skopeo", "--insecure-policy", "copy", "docker://docker.io/other/private:1.0", "dir:"+filepath.Join(t.TempDir(), "private"))
	})
	t.Run("ctr", func(t *testing.T) {
		addr := startContainerd(t)
		ctr := func(ref string) []string {
			return []string{"--address", addr, "--namespace", "e2e", "images", "pull", "--user", "acme:" + readerSecret, ref}
		}
		c.must(t, ctx, "", "ctr", ctr("docker.io/other/public:1.0")...)
		private(t, c, "ctr", ctr("docker.io/other/private:1.0")...)
	})
	t.Run("dockerd", func(t *testing.T) {
		e := startEngine(t, p.bundle, "HTTPS_PROXY=http://"+proxyListen, "NO_PROXY=", "no_proxy=")
		d := base.with("DOCKER_HOST=" + e.host)
		d.must(t, ctx, "", "docker", "pull", "other/public:1.0")
		private(t, d, "docker", "pull", "other/private:1.0")
	})
}
