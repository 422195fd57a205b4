//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/proxyauth"
)

// otherUID is another local user's: nobody's.
const otherUID = 65534

// asUser runs a command as uid (and the same gid), with no supplementary
// groups and a bare environment.
func asUser(ctx context.Context, uid int, name string, args ...string) result {
	return asUserEnv(ctx, uid, nil, name, args...)
}

// asUserEnv is asUser with more environment (later values win).
func asUserEnv(ctx context.Context, uid int, env []string, name string, args ...string) result {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent"}, env...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return result{stdout.String(), stderr.String(), err}
}

// openTo makes every directory from dir up to (not including) top
// traversable and listable by everyone, so that only a file's own mode
// keeps others out.
func openTo(t *testing.T, dir, top string) {
	t.Helper()
	for d := dir; d != top && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProxyOtherUser: another local user (a process with another uid)
// cannot use an injecting proxy. On TCP it can connect but has no proxy
// secret: the secret file is 0600, unreadable to it even when every
// directory above it is open, and without the secret it gets 407 while
// the proxy's user gets through. The Unix socket listener is 0600: the
// other user's connect is refused.
func TestProxyOtherUser(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, hubCA := startHub(t, ctx,
		hubtest.Token{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
	)
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app")
	p := startProxy(t, ctx, base, hubCA, "--inject")
	url := proxyURL(t, ctx, base)
	secret := strings.TrimPrefix(url[:strings.LastIndex(url, "@")], "http://oat:")

	// The secret file: 0600, root's, and nobody cannot read it even with
	// every directory above it open.
	config := filepath.Join(base.home(), "oat")
	file := filepath.Join(config, proxyauth.File)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Errorf("%s: mode %04o, owner %d; want 0600, root", file, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid)
	}
	openTo(t, config, os.TempDir())
	if r := asUser(ctx, otherUID, "cat", file); r.err == nil || strings.Contains(r.stdout, secret) || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("another user reading the proxy secret: %s", r)
	}
	// The same bytes in a file others may read are within its reach: only
	// the mode keeps it out.
	readable := filepath.Join(config, "readable-copy")
	if err := os.WriteFile(readable, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := asUser(ctx, otherUID, "cat", readable); r.err != nil || !strings.Contains(r.stdout, secret) {
		t.Errorf("another user reading a 0644 file beside it: %s", r)
	}
	if err := os.Remove(readable); err != nil {
		t.Fatal(err)
	}
	// The store itself is refused in a directory others may enter.
	if err := os.Chmod(config, 0o700); err != nil {
		t.Fatal(err)
	}

	// TCP: nobody connects, and without the secret (or with a wrong one)
	// gets 407 on its CONNECT; the proxy's user, with it, gets the Hub's
	// challenge through the tunnel.
	curl := func(proxy string) []string {
		return []string{"-sS", "-o", "/dev/null", "-w", "%{http_connect} %{http_code}", "--max-time", "20",
			"--proxy", proxy, "--cacert", p.bundle, "https://" + hubpkg.RegistryHost + "/v2/"}
	}
	for _, proxy := range []string{"http://" + proxyListen, "http://oat:not-the-secret-0123456789@" + proxyListen} {
		r := asUser(ctx, otherUID, "curl", curl(proxy)...)
		if !strings.HasPrefix(r.stdout, "407 ") {
			t.Errorf("another user through %s: got %q, want a 407 CONNECT:\n%s", proxy, r.stdout, r)
		}
	}
	// A plain request through the proxy shows its 407's body: how to send
	// the secret to this proxy's address.
	r := asUser(ctx, otherUID, "curl", "-sS", "--max-time", "20", "--proxy", "http://"+proxyListen, "http://"+hubpkg.RegistryHost+"/v2/")
	if want := "oat-proxy requires its proxy secret: set HTTPS_PROXY=http://oat:SECRET@" + proxyListen + " "; !strings.Contains(r.stdout, want) {
		t.Errorf("another user's plain request: the body lacks %q:\n%s", want, r)
	}
	r = base.run(ctx, "", "curl", curl(url)...)
	if r.stdout != "200 401" {
		t.Errorf("the proxy's user with the secret: got %q, want 200 401 (a tunnel, then the challenge):\n%s", r.stdout, r)
	}
	if strings.Contains(readFile(t, p.log), secret) {
		t.Error("the proxy's log holds its secret")
	}

	// The Unix socket: 0600, in a directory everyone may enter.
	dir, err := os.MkdirTemp("/tmp", "oats-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "p.sock")
	startProxy(t, ctx, base, hubCA, "--inject", "--listen", "unix:"+sock)
	fi, err = os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want a 0600 socket", sock, fi.Mode())
	}
	unix := []string{"-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "--unix-socket", sock, "http://" + hubpkg.RegistryHost + "/v2/"}
	// The proxy's user connects (and, without the secret, is told 407 and
	// how to send it: HTTPS_PROXY cannot name a socket).
	if r := base.run(ctx, "", "curl", unix...); r.stdout != "407" {
		t.Errorf("the proxy's user on the socket: got %q, want 407:\n%s", r.stdout, r)
	}
	if r := base.run(ctx, "", "curl", "-sS", "--max-time", "20", "--unix-socket", sock, "http://"+hubpkg.RegistryHost+"/v2/"); !strings.Contains(r.stdout, "send it as Proxy-Authorization: Basic") {
		t.Errorf("the 407 on the socket: %s", r)
	}
	r = asUser(ctx, otherUID, "curl", unix...)
	var exit *exec.ExitError
	if r.stdout != "000" || !errors.As(r.err, &exit) || exit.ExitCode() != 7 {
		t.Errorf("another user on the socket: got %q, want curl's connect failure (exit 7):\n%s", r.stdout, r)
	}
	// What refused it was the socket's mode: open, it connects.
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if r := asUser(ctx, otherUID, "curl", unix...); r.stdout != "407" {
		t.Errorf("another user on a 0666 socket: got %q, want 407:\n%s", r.stdout, r)
	}
}
