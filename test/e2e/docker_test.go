//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/oatkit/oat/internal/hubtest"
)

const (
	acmeSecret = "dckr_oat_e2eAcmeReleaseToken0000001"
	helperName = "docker-credential-oat"
)

// startHub starts the stand-in Docker Hub on the namespace's hubIP:443
// and writes its CA to a bundle file for dockerd. It redirects blob
// downloads to its CDN host, as Docker Hub does.
func startHub(t *testing.T, ctx context.Context, tokens ...hubtest.Token) (*hubtest.Hub, string) {
	t.Helper()
	return startHubWith(t, ctx, hubtest.Options{Tokens: tokens})
}

// startHubWith is startHub with more options.
func startHubWith(t *testing.T, ctx context.Context, opts hubtest.Options) (*hubtest.Hub, string) {
	t.Helper()
	opts.Addr, opts.StorageDir = hubIP+":443", t.TempDir()
	hub, err := hubtest.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	certFile, err := hub.CertFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return hub, certFile
}

// TestDockerHubLoginPullPushLogout: docker login stores the OAT through the
// helper (config.json holds no secret), docker pull and push use it, an
// out-of-scope push is denied by the hub, docker logout erases it.
func TestDockerHubLoginPullPushLogout(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hub, certFile := startHub(t, ctx, hubtest.Token{
		Org: "acme", Label: "release", Secret: acmeSecret,
		Pull: []string{"acme/*"}, Push: []string{"acme/app"},
	})
	for _, repo := range []string{"acme/app", "acme/base"} {
		if _, err := hub.Seed(ctx, repo, "1.0"); err != nil {
			t.Fatalf("seed %s: %v", repo, err)
		}
	}
	e := startEngine(t, certFile)
	c, dockerConfig := newClient(t, e.host)

	r := c.must(t, ctx, "", helperName, "setup")
	if !strings.Contains(r.stdout, `credHelpers["registry-1.docker.io"]: set to "oat"`) {
		t.Errorf("setup output:\n%s", r.stdout)
	}

	// Without credentials the private repository is out of reach.
	if r := c.run(ctx, "", "docker", "pull", "acme/base:1.0"); r.err == nil {
		t.Fatalf("anonymous pull of a private repository succeeded:\n%s", r)
	}

	r = c.must(t, ctx, acmeSecret, "docker", "login", "-u", "acme", "--password-stdin")
	if !strings.Contains(r.stdout, "Login Succeeded") {
		t.Errorf("docker login: %s", r)
	}
	config := readFile(t, filepath.Join(dockerConfig, "config.json"))
	if strings.Contains(config, acmeSecret) || strings.Contains(config, `"auth"`) {
		t.Fatalf("config.json holds a credential after login:\n%s", config)
	}
	if strings.Contains(r.stderr, "unencrypted") {
		t.Errorf("docker stored the password unencrypted: %s", r.stderr)
	}
	list := c.must(t, ctx, "", helperName, "list").stdout
	if want := `{"https://index.docker.io/v1/":"acme"}`; strings.TrimSpace(list) != want {
		t.Errorf("helper list = %s, want %s", list, want)
	}
	vaultFile := readFile(t, filepath.Join(c.home(), "oat", "oat.vault"))
	for _, s := range []string{acmeSecret, "acme", "docker.io"} {
		if strings.Contains(vaultFile, s) {
			t.Errorf("the vault file holds %q in plaintext", s)
		}
	}

	// The login became a token record, scopes unknown, the default.
	ls := c.must(t, ctx, "", helperName, "token", "ls").stdout
	if !regexp.MustCompile(`(?m)^login-\d{8}-1 +acme +unknown \(from docker login\) +never +\*$`).MatchString(ls) {
		t.Errorf("token ls after docker login:\n%s", ls)
	}
	// doctor asks the real engine: not Docker Desktop.
	var report struct {
		OK       bool `json:"ok"`
		Findings []struct{ Check, Status, Message string }
	}
	if err := json.Unmarshal([]byte(c.must(t, ctx, "", helperName, "doctor", "--json").stdout), &report); err != nil {
		t.Fatal(err)
	}
	for _, f := range report.Findings {
		if f.Check == "endpoint" && (f.Status != "ok" || !strings.Contains(f.Message, ", not Docker Desktop")) {
			t.Errorf("doctor's endpoint finding: %+v", f)
		}
	}
	if !report.OK {
		t.Errorf("doctor after setup and login: %+v", report.Findings)
	}

	c.must(t, ctx, "", "docker", "pull", "acme/base:1.0")
	c.must(t, ctx, "", "docker", "pull", "acme/app:1.0")
	if !granted(hub, "acme", "acme/base", "pull") {
		t.Errorf("the hub never granted pull on acme/base to acme; requests: %+v", hub.Requests())
	}

	c.must(t, ctx, "", "docker", "tag", "acme/base:1.0", "acme/app:2.0")
	c.must(t, ctx, "", "docker", "push", "acme/app:2.0")
	ref := name.MustParseReference("registry-1.docker.io/acme/app:2.0")
	if _, err := remote.Head(ref, remote.WithTransport(hub.Transport()), remote.WithContext(ctx),
		remote.WithAuth(&authn.Basic{Username: "acme", Password: acmeSecret})); err != nil {
		t.Fatalf("acme/app:2.0 is not on the hub after docker push: %v", err)
	}

	// A push the token's scopes do not allow: denied by the hub. (This is
	// what oat-proxy will refuse before anything is uploaded.)
	c.must(t, ctx, "", "docker", "tag", "acme/base:1.0", "acme/base:2.0")
	r = c.run(ctx, "", "docker", "push", "acme/base:2.0")
	if r.err == nil || !strings.Contains(r.stdout+r.stderr, "denied") {
		t.Fatalf("push to acme/base with pull only: %s", r)
	}

	r = c.must(t, ctx, "", "docker", "logout")
	if list := c.must(t, ctx, "", helperName, "list").stdout; strings.TrimSpace(list) != "{}" {
		t.Errorf("helper list after logout = %s, want {}", list)
	}
	r = c.run(ctx, "docker.io\n", helperName, "get")
	if r.err == nil || strings.TrimSpace(r.stdout) != "credentials not found in native keychain" {
		t.Errorf("get after logout: %s", r)
	}
	c.must(t, ctx, "", "docker", "rmi", "acme/base:1.0", "acme/base:2.0")
	if r := c.run(ctx, "", "docker", "pull", "acme/base:1.0"); r.err == nil {
		t.Fatalf("pull of a private repository after logout succeeded:\n%s", r)
	}
}

// TestCredsStoreForAnotherRegistry: with credsStore, the helper keeps the
// credentials of a registry that is not Docker Hub (Debian's
// docker-registry with htpasswd auth on loopback).
func TestCredsStoreForAnotherRegistry(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const user, password = "robot", "e2e-registry-password"
	addr := startRegistry(t, registryOptions{addr: "127.0.0.1:5000", user: user, password: password})
	e := startEngine(t, "/dev/null")
	c, dockerConfig := newClient(t, e.host)

	r := c.must(t, ctx, "", helperName, "setup", "--creds-store")
	if !strings.Contains(r.stdout, `credsStore: set to "oat"`) {
		t.Errorf("setup --creds-store output:\n%s", r.stdout)
	}
	image := addr + "/team/tool:1"
	c.must(t, ctx, string(tinyTar(t)), "docker", "import", "-", image)
	if r := c.run(ctx, "", "docker", "push", image); r.err == nil {
		t.Fatalf("push without login succeeded: %s", r)
	}

	c.must(t, ctx, password, "docker", "login", "-u", user, "--password-stdin", addr)
	config := readFile(t, filepath.Join(dockerConfig, "config.json"))
	if strings.Contains(config, password) || strings.Contains(config, `"auth"`) {
		t.Fatalf("config.json holds a credential after login:\n%s", config)
	}
	var entries map[string]string
	if err := json.Unmarshal([]byte(c.must(t, ctx, "", helperName, "list").stdout), &entries); err != nil {
		t.Fatal(err)
	}
	if entries[addr] != user {
		t.Errorf("helper list = %v, want %s: %s", entries, addr, user)
	}

	c.must(t, ctx, "", "docker", "push", image)
	c.must(t, ctx, "", "docker", "rmi", image)
	c.must(t, ctx, "", "docker", "pull", image)

	c.must(t, ctx, "", "docker", "logout", addr)
	if list := c.must(t, ctx, "", helperName, "list").stdout; strings.Contains(list, addr) {
		t.Errorf("helper list after logout still has %s: %s", addr, list)
	}
	if r := c.run(ctx, "", "docker", "push", image); r.err == nil {
		t.Fatalf("push after logout succeeded: %s", r)
	}
}

// registryOptions configure a Debian docker-registry.
type registryOptions struct {
	addr           string // host:port to listen on
	user, password string // htpasswd auth when user is set
	certFile       string // TLS when set
	keyFile        string
}

// startRegistry runs Debian's docker-registry in the namespace, stopped by
// PID at the end of the test.
func startRegistry(t *testing.T, o registryOptions) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n  secret: e2e-only-%d\n",
		filepath.Join(dir, "data"), o.addr, time.Now().UnixNano())
	if o.certFile != "" {
		config += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", o.certFile, o.keyFile)
	}
	if o.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.password), bcrypt.DefaultCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(o.user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: e2e\n    path: %s\n", htpasswd)
	}
	configFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "registry.log")
	startDaemon(t, logFile, "docker-registry", "serve", configFile)
	waitListening(t, o.addr, logFile)
	return o.addr
}

// startDaemon starts a long-running process logging to logFile, and stops
// it by PID (SIGTERM) when the test ends.
func startDaemon(t *testing.T, logFile string, name string, args ...string) {
	t.Helper()
	startDaemonEnv(t, logFile, nil, name, args...)
}

func startDaemonEnv(t *testing.T, logFile string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if env != nil {
		cmd.Env = env
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, tail(logFile, 30))
		}
	})
	return cmd
}

// waitListening waits for addr to accept connections.
func waitListening(t *testing.T, addr, logFile string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v\n%s", addr, err, tail(logFile, 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tinyTar is a one-file root filesystem for docker import.
func tinyTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello from the e2e suite\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// granted reports whether the hub granted action on repo to org's token.
func granted(hub *hubtest.Hub, org, repo, action string) bool {
	for _, r := range hub.Requests() {
		if r.Principal != org {
			continue
		}
		for _, g := range r.Granted {
			parts := strings.Split(g, ":")
			if len(parts) == 3 && parts[0] == "repository" && parts[1] == repo && slices.Contains(strings.Split(parts[2], ","), action) {
				return true
			}
		}
	}
	return false
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
