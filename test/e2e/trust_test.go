//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/proxy"
)

// trustTargets are the system places trust writes to on Debian, and what
// update-ca-certificates rewrites.
var trustTargets = []string{
	"/usr/local/share/ca-certificates",
	"/etc/ssl/certs",
	"/etc/docker/certs.d",
	"/etc/containers/certs.d",
	"/etc/systemd/system/docker.service.d",
	"/etc/docker/daemon.json",
}

// snapshot is every file under roots, with its size, mode and time.
func snapshot(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			fi, err := os.Lstat(path)
			if err != nil {
				return err
			}
			out[path] = fmt.Sprintf("%v %d %d", fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestTrustDryRun: `oat-proxy trust --dry-run` on this Debian machine
// prints its whole plan — the OS store (the CA under
// /usr/local/share/ca-certificates, then update-ca-certificates), Docker
// Engine's and containers/image's certs.d for Docker Hub, the daemon.json
// and systemd settings and the restart — marks the steps that need root
// when it is not root, and writes nothing outside its own directory.
func TestTrustDryRun(t *testing.T) {
	checkIsolated(t)
	if runtime.GOOS != "linux" || !strings.Contains(readFile(t, "/etc/os-release"), "ID=debian") {
		t.Skip("not a Debian machine")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := snapshot(t, trustTargets...)

	root, _ := newClient(t, "unix:///nonexistent.sock")
	out := root.must(t, ctx, "", "oat-proxy", "trust", "--dry-run", "--listen", "127.0.0.1:3999").stdout
	ca := filepath.Join(root.home(), "oat", proxy.CACertFile)
	if !fileExists(ca) {
		t.Fatalf("trust --dry-run made no CA at %s:\n%s", ca, out)
	}
	want := []string{
		"oat-proxy trust would (nothing is changed with --dry-run):",
		"1. the system's roots (Debian, Ubuntu): install the CA as /usr/local/share/ca-certificates/oat-proxy.crt\n",
		"2. the system's roots (Debian, Ubuntu): run: update-ca-certificates\n",
		"3. Docker Engine, containerd and containers/image: install the CA as /etc/docker/certs.d/docker.io/oat-proxy.crt\n",
		"4. Docker Engine, containerd and containers/image: install the CA as /etc/docker/certs.d/registry-1.docker.io/oat-proxy.crt\n",
		"5. Docker Engine, containerd and containers/image: install the CA as /etc/containers/certs.d/docker.io/oat-proxy.crt\n",
		"6. Docker Engine, containerd and containers/image: install the CA as /etc/containers/certs.d/registry-1.docker.io/oat-proxy.crt\n",
		`{"proxies": {"https-proxy": "http://127.0.0.1:3999", "no-proxy": "localhost,127.0.0.0/8"}}`,
		"/etc/systemd/system/docker.service.d/oat-proxy.conf",
		`Environment="HTTPS_PROXY=http://127.0.0.1:3999" "NO_PROXY=localhost,127.0.0.0/8"`,
		"with Docker Engine 23.0 or later only, /etc/docker/daemon.json:",
		"restart it: sudo systemctl daemon-reload && sudo systemctl restart docker",
		"http://oat:SECRET@127.0.0.1:3999",
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("trust --dry-run (root) lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "needs root") || strings.Contains(out, "done:") || strings.Contains(out, "7. ") {
		t.Errorf("trust --dry-run as root:\n%s", out)
	}

	// Not root: the same plan, each step saying it needs root, and no
	// error (nothing was to be done).
	home := t.TempDir()
	openTo(t, home, os.TempDir())
	if err := os.Chown(home, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	// The suite's binaries are root's alone: a copy the user may run.
	bin := filepath.Join(home, "oat-proxy")
	if err := os.WriteFile(bin, []byte(readFile(t, filepath.Join(binDir, "oat-proxy"))), 0o755); err != nil {
		t.Fatal(err)
	}
	r := asUserEnv(ctx, otherUID, []string{"HOME=" + home, "OAT_HOME=" + filepath.Join(home, "oat")}, bin, "trust", "--dry-run")
	if r.err != nil {
		t.Fatalf("trust --dry-run as another user: %s", r)
	}
	for i := 1; i <= 6; i++ {
		line := ""
		for _, l := range strings.Split(r.stdout, "\n") {
			if strings.HasPrefix(l, fmt.Sprintf("%d. ", i)) {
				line = l
			}
		}
		if !strings.HasSuffix(line, " (needs root)") {
			t.Errorf("step %d as another user: %q, want it to say it needs root:\n%s", i, line, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, `"https-proxy": "http://127.0.0.1:3128"`) {
		t.Errorf("trust --dry-run without --listen: not the default address:\n%s", r.stdout)
	}

	after := snapshot(t, trustTargets...)
	for path, was := range before {
		if after[path] != was {
			t.Errorf("trust --dry-run changed %s: %q → %q", path, was, after[path])
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("trust --dry-run wrote %s", path)
		}
	}
}
