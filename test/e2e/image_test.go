//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/oatkit/oat/internal/hubtest"
)

const (
	imageTag       = "oat-proxy:e2e"
	imageListen    = "127.0.0.1:3129"
	imageAdmin     = "127.0.0.1:9091"
	imageUID       = 65532
	imagePassphase = "the exported vault's passphrase, e2e"
)

// buildImage runs make image's steps for this machine's architecture
// (static binaries, packaging/image into an OCI layout) and writes the
// image as a docker-archive tarball for docker load (dockerd 20.10 loads no
// OCI layouts).
func buildImage(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bins := t.TempDir()
	arch := runtime.GOARCH
	for _, c := range []string{"oat-proxy", "docker-credential-oat"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(bins, "linux-"+arch, c), "./cmd/"+c)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
	out := filepath.Join(t.TempDir(), "image")
	cmd := exec.Command("go", "run", "./image", "--bins", bins, "--out", out, "--platforms", "linux/"+arch, "--version", "e2e")
	cmd.Dir = filepath.Join(root, "packaging") // a module of its own
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packaging/image: %v\n%s", err, b)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(imageTag)
	if err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		t.Fatal(err)
	}
	return tarPath
}

// asSecret writes data as kubelet mounts a Secret for fsGroup 65532: root's,
// group 65532, 0440.
func asSecret(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 0, imageUID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o440); err != nil {
		t.Fatal(err)
	}
}

// TestImageUnderDockerd runs the image as the chart runs it, under the real
// dockerd (host network, read-only root with /tmp in memory as the chart
// has it, no capabilities, user 65532, the
// exported vault, its passphrase and the CA mounted read-only): it becomes
// ready, exports the token's expiry, lets crane pull through it and refuses
// an out-of-scope push with the sentence, before the hub sees it.
func TestImageUnderDockerd(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	hub, hubCA := startHub(t, ctx,
		hubtest.Token{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}})
	if _, err := hub.Seed(ctx, "acme/app", "1.0"); err != nil {
		t.Fatal(err)
	}
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app", "--expires", "90d")

	// What the Secrets would hold: the exported vault, its passphrase, the CA.
	secrets, err := os.MkdirTemp("/tmp", "oats-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(secrets) })
	if err := os.Chmod(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(t.TempDir(), "export.pass")
	if err := os.WriteFile(passFile, []byte(imagePassphase), 0o600); err != nil {
		t.Fatal(err)
	}
	exported := filepath.Join(t.TempDir(), "oat.vault")
	base.with("OAT_EXPORT_PASSPHRASE_FILE="+passFile).must(t, ctx, "", helperName, "token", "export", "--vault", exported)
	caFile := strings.TrimSpace(base.must(t, ctx, "", "oat-proxy", "ca").stdout)
	for _, f := range []struct{ from, to string }{
		{exported, "vault/oat.vault"},
		{passFile, "passphrase/passphrase"},
		{caFile, "ca/oat-proxy-ca.pem"},
		{filepath.Join(filepath.Dir(caFile), "oat-proxy-ca-key.pem"), "ca/oat-proxy-ca-key.pem"},
		{hubCA, "hub/ca.pem"},
	} {
		asSecret(t, filepath.Join(secrets, f.to), []byte(readFile(t, f.from)))
	}
	audit := filepath.Join(secrets, "audit")
	if err := os.Mkdir(audit, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(audit, 0o777); err != nil {
		t.Fatal(err)
	}

	tarPath := buildImage(t)
	e := startEngine(t, hubCA)
	d := base.with("DOCKER_HOST=" + e.host)
	d.must(t, ctx, "", "docker", "load", "-i", tarPath)
	d.must(t, ctx, "", "docker", "run", "-d", "--name", "oat-proxy-e2e",
		"--network", "host", "--read-only", "--tmpfs", "/tmp:rw,size=16m,mode=1777", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--user", fmt.Sprintf("%d:%d", imageUID, imageUID),
		"-v", filepath.Join(secrets, "vault")+":/etc/oat-proxy/vault:ro",
		"-v", filepath.Join(secrets, "passphrase")+":/etc/oat-proxy/passphrase:ro",
		"-v", filepath.Join(secrets, "ca")+":/etc/oat-proxy/ca:ro",
		"-v", filepath.Join(secrets, "hub")+":/etc/oat-proxy/hub:ro",
		"-v", audit+":/audit",
		"-e", "OAT_PASSPHRASE_FILE=/etc/oat-proxy/passphrase/passphrase",
		"-e", "OAT_CACHE=off",
		"-e", "SSL_CERT_FILE=/etc/oat-proxy/hub/ca.pem",
		imageTag,
		"--listen="+imageListen, "--vault=/etc/oat-proxy/vault/oat.vault", "--ca-dir=/etc/oat-proxy/ca",
		"--admin-listen="+imageAdmin, "--audit-log=/audit/audit.jsonl")
	t.Cleanup(func() {
		if t.Failed() {
			r := d.run(context.Background(), "", "docker", "logs", "oat-proxy-e2e")
			t.Logf("oat-proxy container log:\n%s%s", r.stdout, r.stderr)
		}
		d.run(context.Background(), "", "docker", "rm", "-f", "oat-proxy-e2e")
	})
	if r := d.run(ctx, "", "docker", "run", "--rm", "--entrypoint", "/bin/sh", imageTag, "-c", "true"); r.err == nil {
		t.Errorf("the image runs /bin/sh")
	}

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + imageAdmin + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := get("/readyz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container never became ready: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, body := get("/metrics"); !strings.Contains(body, `oat_token_expiry_days{label="ci-pull",org="acme"} 89.`) {
		t.Errorf("/metrics lacks the token's expiry:\n%s", body)
	}

	// The client trusts the proxy's CA for the Hub's API hosts and the
	// hub's own for its CDN host, reached through a plain tunnel.
	bundle := filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(bundle, []byte(readFile(t, caFile)+readFile(t, hubCA)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := base.with("HTTPS_PROXY=http://"+imageListen, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+bundle)
	c.must(t, ctx, "", "crane", "pull", "acme/app:1.0", filepath.Join(t.TempDir(), "app.tar"))
	p := proxyRun{caFile: caFile, audit: filepath.Join(audit, "audit.jsonl")}
	refused(t, ctx, hub, p, c, "acme/app", "push", `token "ci-pull" (acme) may not push to acme/app: it has pull only`,
		"crane", "copy", "acme/app:1.0", "acme/app:image")
	log := readFile(t, p.audit)
	if strings.Contains(log, ciPullSecret) || strings.Contains(log, imagePassphase) {
		t.Errorf("the audit log holds a secret")
	}
}
