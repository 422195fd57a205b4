//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

const (
	ciPullSecret  = "dckr_oat_e2eCiPullOnlyToken00000001"
	releaseSecret = "dckr_oat_e2eReleaseToken0000000002"
	proxyListen   = "127.0.0.1:3128"
)

// with returns a copy of the client with more environment (later values win).
func (c *client) with(env ...string) *client {
	return &client{env: append(append([]string{}, c.env...), env...), dir: c.dir}
}

// proxyRun is a running oat-proxy and what its clients need.
type proxyRun struct {
	caFile, audit string
	// bundle holds the proxy's CA and the hub's: clients reach the hub's
	// CDN host through a plain tunnel.
	bundle string
	pid    int
	log    string // its log (stderr)
}

// startProxy runs the built oat-proxy on proxyListen with c's store and
// serve's extra flags, trusting hubCA upstream; it is stopped by PID when
// the test ends.
func startProxy(t *testing.T, ctx context.Context, c *client, hubCA string, flags ...string) proxyRun {
	t.Helper()
	caFile := strings.TrimSpace(c.must(t, ctx, "", "oat-proxy", "ca").stdout)
	bundle := filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(bundle, []byte(readFile(t, caFile)+readFile(t, hubCA)), 0o644); err != nil {
		t.Fatal(err)
	}
	audit := filepath.Join(t.TempDir(), "audit.jsonl")
	cmd := exec.Command(filepath.Join(binDir, "oat-proxy"), append([]string{"serve", "--listen", proxyListen, "--audit-log", audit}, flags...)...)
	cmd.Env = c.with("SSL_CERT_FILE=" + hubCA).env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(t.TempDir(), "oat-proxy.log")
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
		if t.Failed() {
			t.Logf("oat-proxy log:\n%s", tail(logFile, 40))
		}
		log := readFile(t, audit)
		for _, s := range []string{ciPullSecret, releaseSecret, "Basic ", "Bearer ", "eyJ"} {
			if strings.Contains(log, s) {
				t.Errorf("the audit log holds %q", s)
			}
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTPS_PROXY=") {
		t.Fatalf("oat-proxy did not start: %q %v\n%s", line, err, tail(logFile, 20))
	}
	return proxyRun{caFile: caFile, audit: audit, bundle: bundle, pid: cmd.Process.Pid, log: logFile}
}

// auditDenied counts the audit log's denials of action on repo (alone or
// among the actions a request asked together).
func auditDenied(t *testing.T, p proxyRun, repo, action string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, p.audit)), "\n") {
		var e struct{ Repository, Action, Decision string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Decision == "denied" && e.Repository == repo && slices.Contains(strings.Split(e.Action, ","), action) {
			n++
		}
	}
	return n
}

// auditHas reports whether the audit log has an entry for host of kind with
// decision.
func auditHas(t *testing.T, p proxyRun, host, kind, decision string) bool {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, p.audit)), "\n") {
		var e struct{ Host, Kind, Decision string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Host == host && e.Kind == kind && e.Decision == decision {
			return true
		}
	}
	return false
}

// hubSaw reports whether the hub, after its first since requests, saw a
// token request asking action on repo or a registry request doing it.
func hubSaw(hub *hubtest.Hub, since int, repo, action string) bool {
	for _, r := range hub.Requests()[since:] {
		write := r.Method != "GET" && r.Method != "HEAD"
		if strings.HasPrefix(r.Path, "/v2/"+repo+"/") && (action == "pull" || write) {
			return true
		}
		for _, s := range r.Asked {
			if strings.HasPrefix(s, "repository:"+repo+":") && strings.Contains(s, action) {
				return true
			}
		}
	}
	return false
}

// refused runs a command that the proxy must refuse, and checks that the
// hub never saw the refused request and the audit log recorded it. It
// returns what the command printed.
func refused(t *testing.T, ctx context.Context, hub *hubtest.Hub, p proxyRun, c *client, repo, action, sentence string, name string, args ...string) result {
	t.Helper()
	since := len(hub.Requests())
	before := auditDenied(t, p, repo, action)
	r := c.run(ctx, "", name, args...)
	if r.err == nil {
		t.Fatalf("%s %s succeeded; want a refusal:\n%s", name, strings.Join(args, " "), r)
	}
	// logrus (skopeo, ctr) quotes its message: \" for ".
	out := strings.ReplaceAll(r.stdout+r.stderr, `\"`, `"`)
	if sentence != "" && !strings.Contains(out, sentence) {
		t.Errorf("%s %s: output lacks %q:\n%s", name, strings.Join(args, " "), sentence, r)
	}
	t.Logf("%s %s: %s", name, strings.Join(args, " "), strings.TrimSpace(r.stderr))
	if hubSaw(hub, since, repo, action) {
		t.Errorf("%s %s: the hub saw a %s request for %s: %+v", name, strings.Join(args, " "), action, repo, hub.Requests()[since:])
	}
	if auditDenied(t, p, repo, action) <= before {
		t.Errorf("%s %s: no denial of %s on %s in the audit log:\n%s", name, strings.Join(args, " "), action, repo, tail(p.audit, 10))
	}
	return r
}

// The sentences the proxy refuses with, as the clients must show them.
const (
	ciPullPullsBase   = `token "ci-pull" (acme) may not pull acme/base: it has no access to it. Use a token with Image Pull on acme/base`
	ciPullPushesApp   = `token "ci-pull" (acme) may not push to acme/app: it has pull only. Use a token with Image Push on acme/app`
	releasePushesBase = `token "release" (acme) may not push to acme/base: it has pull only. Use a token with Image Push on acme/base`
	releasePullsOther = `token "release" (acme) may not pull other/tool: it has no access to it. Use a token with Image Pull on other/tool`
)

// TestProxyWithRealClients puts oat-proxy between five real clients and the
// stand-in hub: crane, docker manifest inspect (the CLI's own registry
// client), skopeo, containerd's ctr, and dockerd with the docker CLI. Each
// shows the proxy's sentence for a push and for a pull outside its token,
// and neither reaches the hub.
func TestProxyWithRealClients(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	hub, hubCA := startHub(t, ctx,
		hubtest.Token{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
		hubtest.Token{Org: "acme", Label: "release", Secret: releaseSecret, Pull: []string{"acme/*"}, Push: []string{"acme/app"}},
	)
	for _, repo := range []string{"acme/app", "acme/base", "other/tool"} {
		if _, err := hub.Seed(ctx, repo, "1.0"); err != nil {
			t.Fatalf("seed %s: %v", repo, err)
		}
	}
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app")
	base.must(t, ctx, releaseSecret, helperName, "token", "add", "--org", "acme", "--label", "release", "--push", "acme/app", "--pull", "acme/*")
	p := startProxy(t, ctx, base, hubCA)
	c := base.with("HTTPS_PROXY=http://"+proxyListen, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+p.bundle)
	useToken := func(t *testing.T, label string) {
		t.Helper()
		base.must(t, ctx, "", helperName, "token", "default", label)
	}

	t.Run("crane", func(t *testing.T) {
		useToken(t, "ci-pull")
		r := c.must(t, ctx, "", "crane", "manifest", "acme/app:1.0")
		if !strings.Contains(r.stdout, "schemaVersion") {
			t.Errorf("crane manifest: %s", r)
		}
		refused(t, ctx, hub, p, c, "acme/app", "push", ciPullPushesApp, "crane", "copy", "acme/app:1.0", "acme/app:crane")
		refused(t, ctx, hub, p, c, "acme/base", "pull", ciPullPullsBase, "crane", "pull", "acme/base:1.0", filepath.Join(t.TempDir(), "base.tar"))
		useToken(t, "release")
		c.must(t, ctx, "", "crane", "copy", "acme/app:1.0", "acme/app:crane")
		refused(t, ctx, hub, p, c, "acme/base", "push", releasePushesBase, "crane", "copy", "acme/base:1.0", "acme/base:crane")
	})

	t.Run("docker manifest inspect", func(t *testing.T) {
		useToken(t, "ci-pull")
		r := c.must(t, ctx, "", "docker", "manifest", "inspect", "acme/app:1.0")
		if !strings.Contains(r.stdout, "schemaVersion") {
			t.Errorf("docker manifest inspect: %s", r)
		}
		refused(t, ctx, hub, p, c, "acme/base", "pull", ciPullPullsBase, "docker", "manifest", "inspect", "acme/base:1.0")
		// The CLI's registry client pushes too: a manifest list.
		useToken(t, "release")
		c.must(t, ctx, "", "docker", "manifest", "create", "acme/base:list", "acme/base:1.0")
		refused(t, ctx, hub, p, c, "acme/base", "push", releasePushesBase, "docker", "manifest", "push", "acme/base:list")
	})

	t.Run("skopeo", func(t *testing.T) {
		useToken(t, "ci-pull")
		dir := filepath.Join(t.TempDir(), "app")
		c.must(t, ctx, "", "skopeo", "--insecure-policy", "copy", "docker://docker.io/acme/app:1.0", "dir:"+dir)
		// containers/image shows no refused token request: its token
		// request asks the hub for pull only, and the upload is refused.
		refused(t, ctx, hub, p, c, "acme/app", "push", ciPullPushesApp,
			"skopeo", "--insecure-policy", "copy", "dir:"+dir, "docker://docker.io/acme/app:skopeo")
		refused(t, ctx, hub, p, c, "acme/base", "pull", ciPullPullsBase,
			"skopeo", "--insecure-policy", "copy", "docker://docker.io/acme/base:1.0", "dir:"+filepath.Join(t.TempDir(), "base"))
	})

	t.Run("ctr", func(t *testing.T) {
		addr := startContainerd(t)
		ctr := func(verb, secret, ref string) []string {
			return []string{"--address", addr, "--namespace", "e2e", "images", verb, "--user", "acme:" + secret, ref}
		}
		c.must(t, ctx, "", "ctr", ctr("pull", ciPullSecret, "docker.io/acme/app:1.0")...)
		// containerd shows no response body: the sentence comes in the
		// challenge of a 401.
		refused(t, ctx, hub, p, c, "acme/base", "pull", ciPullPullsBase, "ctr", ctr("pull", ciPullSecret, "docker.io/acme/base:1.0")...)
		c.must(t, ctx, "", "ctr", "--address", addr, "--namespace", "e2e", "images", "tag", "docker.io/acme/app:1.0", "docker.io/acme/app:ctr")
		refused(t, ctx, hub, p, c, "acme/app", "push", ciPullPushesApp, "ctr", ctr("push", ciPullSecret, "docker.io/acme/app:ctr")...)
	})

	t.Run("dockerd", func(t *testing.T) {
		otherCA, cert, key := issueCert(t, otherHost)
		other := startRegistry(t, registryOptions{addr: otherHost + ":5443", certFile: cert, keyFile: key})
		bundle := filepath.Join(t.TempDir(), "bundle.pem")
		if err := os.WriteFile(bundle, []byte(readFile(t, p.bundle)+otherCA), 0o644); err != nil {
			t.Fatal(err)
		}
		e := startEngine(t, bundle, "HTTPS_PROXY=http://"+proxyListen, "NO_PROXY=", "no_proxy=")
		d := base.with("DOCKER_HOST=" + e.host)
		useToken(t, "release")
		d.must(t, ctx, "", "docker", "pull", "acme/base:1.0")
		d.must(t, ctx, "", "docker", "tag", "acme/base:1.0", "acme/app:2.0")
		d.must(t, ctx, "", "docker", "push", "acme/app:2.0")
		d.must(t, ctx, "", "docker", "tag", "acme/base:1.0", "acme/base:2.0")
		refused(t, ctx, hub, p, d, "acme/base", "push", releasePushesBase, "docker", "push", "acme/base:2.0")
		refused(t, ctx, hub, p, d, "other/tool", "pull", releasePullsOther, "docker", "pull", "other/tool:1.0")

		// A registry that is not Docker Hub goes through the tunnel untouched.
		img := other + "/team/tool:1"
		d.must(t, ctx, "", "docker", "tag", "acme/base:1.0", img)
		d.must(t, ctx, "", "docker", "push", img)
		if !auditHas(t, p, other, "tunnel", "passed") {
			t.Errorf("no tunnel to %s in the audit log:\n%s", other, tail(p.audit, 10))
		}
	})
}

// startContainerd runs containerd with its own root, state and socket.
func startContainerd(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("/tmp", "oatc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	config := filepath.Join(root, "config.toml")
	if err := os.WriteFile(config, []byte("version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(root, "c.sock")
	logFile := filepath.Join(root, "containerd.log")
	startDaemon(t, logFile, "containerd", "--config", config, "--address", addr, "--root", filepath.Join(root, "root"), "--state", filepath.Join(root, "state"))
	deadline := time.Now().Add(30 * time.Second)
	for !fileExists(addr) {
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not start:\n%s", tail(logFile, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return addr
}

// issueCert makes a CA and a server certificate for host; it returns the
// CA's PEM and the certificate and key files.
func issueCert(t *testing.T, host string) (caPEM, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e other CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})), certFile, keyFile
}
