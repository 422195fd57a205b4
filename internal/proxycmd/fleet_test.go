//go:build unix

package proxycmd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/proxy"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
)

var fleetParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// secretDir is a directory laid out as kubelet's atomic writer lays out a
// mounted Secret: files in a timestamped directory, ..data pointing at it,
// and each name pointing through ..data.
type secretDir struct {
	t    *testing.T
	dir  string
	n    int
	mtim time.Time // every file gets this mtime: only the swap can tell
}

func newSecretDir(t *testing.T, files map[string][]byte) *secretDir {
	d := &secretDir{t: t, dir: filepath.Join(t.TempDir(), "secret"), mtim: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d.update(files)
	for name := range files {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// update writes a new timestamped directory and swaps ..data to it
// atomically (a temporary symlink renamed over ..data), then removes the
// old directory, as kubelet does.
func (d *secretDir) update(files map[string][]byte) {
	t := d.t
	d.n++
	ts := filepath.Join(d.dir, "..2026_12_02_13_00_00."+strings.Repeat("0", 8)+string(rune('0'+d.n)))
	if err := os.Mkdir(ts, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(ts, name)
		if err := os.WriteFile(p, data, 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, d.mtim, d.mtim); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(d.dir, "..data"))
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(d.dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *secretDir) path(name string) string { return filepath.Join(d.dir, name) }

// vaultImage returns the bytes of a new vault holding tokens.
func vaultImage(t *testing.T, pass string, tokens ...oat.Token) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "v")
	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte(pass), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "oat.vault")
	s := store.OpenVault(store.VaultConfig{Path: path, Passphrase: passphrase.FromFile("test", pf), Params: fleetParams})
	if err := s.ApplyTokens(tokens); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls url until its body contains want.
func waitFor(t *testing.T, url, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := fetch(t, url)
		if strings.Contains(body, want) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; last:\n%s", url, want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVaultFromSecret: serve --vault reads a vault mounted as kubelet
// mounts a Secret, picks up a swapped ..data without a restart, keeps the
// last good records through a corrupt vault and a wrong passphrase (and
// logs it), and serves /healthz, /readyz and /metrics on --admin-listen.
func TestVaultFromSecret(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ci := oat.Token{Org: "acme", Label: "ci", Secret: "dckr_oat_ciCIciCIciCIciCIciCIciCIciCI", Active: true, Expires: now.Add(30 * 24 * time.Hour)}
	release := oat.Token{Org: "acme", Label: "release", Secret: "dckr_oat_relRELrelRELrelRELrelRELrel", Active: true, Expires: now.Add(7 * 24 * time.Hour)}

	vaults := newSecretDir(t, map[string][]byte{"oat.vault": vaultImage(t, "first passphrase", ci)})
	passes := newSecretDir(t, map[string][]byte{"passphrase": []byte("first passphrase\n")})
	cas := newSecretDir(t, caFiles(t))
	home := t.TempDir()
	env := map[string]string{"OAT_HOME": home, passphrase.EnvFile: passes.path("passphrase"), "OAT_CACHE": "off"}
	var logs syncBuffer
	c := &cli{Options: Options{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Now: func() time.Time { return now }, Reload: make(chan os.Signal)}, ctx: context.Background()}
	o := serveOptions{upstreams: upstreams{"registry-1.docker.io": "127.0.0.1:1", "auth.docker.io": "127.0.0.1:1"},
		fleet: fleetOptions{vault: vaults.path("oat.vault"), adminListen: "127.0.0.1:0", caDir: cas.dir}}
	inst, err := c.start(o, "127.0.0.1:0", "", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.stop(0)
	admin := "http://" + inst.adminAddr

	if code, body := fetch(t, admin+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := fetch(t, admin+"/readyz"); code != 200 || !strings.Contains(body, "token records: ok") || !strings.Contains(body, "ca: ok") || !strings.Contains(body, "upstream dns: ok") {
		t.Errorf("/readyz: %d %q", code, body)
	}
	waitFor(t, admin+"/metrics", `oat_token_expiry_days{label="ci",org="acme"} 30`)
	// A connection to the proxy counts while open.
	conn, err := net.Dial("tcp", inst.addr)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, admin+"/metrics", "oat_proxy_open_connections 1")
	conn.Close()
	waitFor(t, admin+"/metrics", "oat_proxy_open_connections 0")
	// A decision is counted: plain HTTP to a Docker Hub host is refused.
	proxyURL, _ := url.Parse("http://" + inst.addr)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
	if resp, err := (&http.Client{Transport: tr}).Get("http://registry-1.docker.io/v2/"); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("plain HTTP through the proxy: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	waitFor(t, admin+"/metrics", `oat_proxy_denials_total{label="",reason="plain-http"} 1`)
	waitFor(t, admin+"/metrics", `oat_proxy_requests_total{decision="denied",host="registry-1.docker.io",kind="other"} 1`)

	// A new Secret: kubelet swaps ..data; same mtime, another file.
	vaults.update(map[string][]byte{"oat.vault": vaultImage(t, "first passphrase", ci, release)})
	body := waitFor(t, admin+"/metrics", `oat_token_expiry_days{label="release",org="acme"} 7`)
	if !strings.Contains(body, "oat_token_records 2") {
		t.Errorf("after the swap: %s", body)
	}

	// A corrupt update keeps the last good records, logged.
	vaults.update(map[string][]byte{"oat.vault": []byte("not a vault at all")})
	for !strings.Contains(logs.String(), "keeping the last good ones") {
		fetch(t, admin+"/metrics")
		time.Sleep(20 * time.Millisecond)
	}
	body = waitFor(t, admin+"/metrics", "oat_token_records_stale 1")
	if !strings.Contains(body, "oat_token_records 2") || !strings.Contains(body, `label="release"`) {
		t.Errorf("the corrupt update lost records: %s", body)
	}
	if code, _ := fetch(t, admin+"/readyz"); code != 200 {
		t.Errorf("/readyz after a corrupt update: %d, want 200 (the last good records serve)", code)
	}

	// A vault under a new passphrase before the passphrase Secret changes:
	// still the last good records; then the passphrase arrives.
	vaults.update(map[string][]byte{"oat.vault": vaultImage(t, "second passphrase", release)})
	waitFor(t, admin+"/metrics", "oat_token_records 2")
	passes.update(map[string][]byte{"passphrase": []byte("second passphrase\n")})
	body = waitFor(t, admin+"/metrics", "oat_token_records 1")
	if strings.Contains(body, `label="ci"`) || !strings.Contains(body, "oat_token_records_stale 0") {
		t.Errorf("after the new passphrase: %s", body)
	}
	if strings.Count(logs.String(), "keeping the last good ones") < 2 {
		t.Errorf("the wrong passphrase was not logged:\n%s", logs.String())
	}
	for _, s := range []string{ci.Secret, release.Secret, "first passphrase", "second passphrase"} {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("the log shows a secret")
		}
	}
	if entries, _ := os.ReadDir(vaults.dir); len(entries) != 3 {
		t.Errorf("the proxy wrote into the mounted Secret: %v", entries)
	}
}

// caFiles returns a new CA's files.
func caFiles(t *testing.T) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if _, _, err := proxy.LoadOrCreateCA(dir); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, n := range []string{proxy.CACertFile, proxy.CAKeyFile} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = b
	}
	return files
}

// TestCADir: --ca-dir loads a CA mounted as kubelet mounts a Secret (the
// key 0440), copied into a private directory removed at stop; a key that
// others can read is refused.
func TestCADir(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir(), "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	c := &cli{Options: Options{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Reload: make(chan os.Signal)}, ctx: context.Background()}
	files := caFiles(t)
	cas := newSecretDir(t, files)
	inst, err := c.start(serveOptions{upstreams: upstreams{}, fleet: fleetOptions{caDir: cas.dir}}, "127.0.0.1:0", "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("serve --ca-dir on a mounted Secret: %v", err)
	}
	ca, _, _ := c.loadCA()
	if ca != nil && string(files[proxy.CACertFile]) == readAll(t, ca.CertPath) {
		t.Errorf("the configuration directory's CA is the mounted one")
	}
	inst.stop(0)
	if matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "oat-proxy-ca-*", proxy.CAKeyFile)); len(matches) > 0 {
		for _, m := range matches {
			if b, _ := os.ReadFile(m); string(b) == string(files[proxy.CAKeyFile]) {
				t.Errorf("the key's copy %s outlived the proxy", m)
			}
		}
	}

	open := newSecretDir(t, files)
	if err := os.Chmod(filepath.Join(open.dir, "..data", proxy.CAKeyFile), 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := c.start(serveOptions{upstreams: upstreams{}, fleet: fleetOptions{caDir: open.dir}}, "127.0.0.1:0", "", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "accessible by other users") {
		t.Errorf("serve --ca-dir with a world-readable key: %v", err)
	}
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdminListenLoopback: --admin-listen on a non-loopback address needs
// --allow-remote, like --listen.
func TestAdminListenLoopback(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir(), "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	c := &cli{Options: Options{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Reload: make(chan os.Signal)}, ctx: context.Background()}
	_, err := c.start(serveOptions{upstreams: upstreams{}, fleet: fleetOptions{adminListen: "0.0.0.0:0"}}, "127.0.0.1:0", "", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "other hosts could reach it") {
		t.Fatalf("--admin-listen 0.0.0.0:0 without --allow-remote: %v", err)
	}
}

// TestStopDrains: while stop drains, /readyz fails (Kubernetes stops
// sending clients), a tunnel carrying nothing is closed once quiet, and
// stop returns long before its timeout.
func TestStopDrains(t *testing.T) {
	t.Parallel()
	tok := oat.Token{Org: "acme", Label: "ci", Secret: "dckr_oat_drainDRAINdrainDRAINdrainDRA", Active: true}
	vaults := newSecretDir(t, map[string][]byte{"oat.vault": vaultImage(t, "drain passphrase", tok)})
	passes := newSecretDir(t, map[string][]byte{"passphrase": []byte("drain passphrase")})
	env := map[string]string{"OAT_HOME": t.TempDir(), passphrase.EnvFile: passes.path("passphrase"), "OAT_CACHE": "off"}
	c := &cli{Options: Options{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Now: time.Now, Reload: make(chan os.Signal)}, ctx: context.Background()}
	o := serveOptions{upstreams: upstreams{"registry-1.docker.io": "127.0.0.1:1", "auth.docker.io": "127.0.0.1:1"},
		fleet: fleetOptions{vault: vaults.path("oat.vault"), adminListen: "127.0.0.1:0"}}
	var logs syncBuffer
	inst, err := c.start(o, "127.0.0.1:0", "", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	admin := "http://" + inst.adminAddr
	waitFor(t, admin+"/readyz", "serving: ok")

	// A tunnel to a listener of the test's, open and quiet.
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	conn, err := net.Dial("tcp", inst.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "CONNECT "+target.Addr().String()+" HTTP/1.1\r\nHost: "+target.Addr().String()+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	if n, err := conn.Read(buf); err != nil || !strings.Contains(string(buf[:n]), " 200 ") {
		t.Fatalf("CONNECT: %q %v", buf[:n], err)
	}

	const timeout = 20 * time.Second
	start := time.Now()
	stopped := make(chan struct{})
	go func() { inst.stop(timeout); close(stopped) }()
	deadline := time.Now().Add(proxy.TunnelQuiet)
	for {
		code, body := fetch(t, admin+"/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "serving: shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz while draining: %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-stopped:
	case <-time.After(timeout):
		t.Fatal("stop did not return")
	}
	if took := time.Since(start); took > proxy.TunnelQuiet+3*time.Second {
		t.Errorf("stop took %v with one quiet tunnel", took)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(buf); err == nil {
		t.Error("the quiet tunnel is still open after stop")
	}
	if !strings.Contains(logs.String(), "closed_in_flight=0") {
		t.Errorf("stop forced connections:\n%s", logs.String())
	}
}
