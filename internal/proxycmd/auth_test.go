package proxycmd

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/proxyauth"
)

// TestProxySecretRequired: a proxy started with a secret (run's, or
// serve's with injection) answers 407 to clients without it, on CONNECT and
// on plain requests, and serves those with it.
func TestProxySecretRequired(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir(), "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	c := &cli{Options: Options{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Reload: make(chan os.Signal)}, ctx: context.Background()}
	secret := proxyauth.New()
	inst, err := c.start(serveOptions{upstreams: upstreams{}, maxConns: 8}, "127.0.0.1:0", secret, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.stop(0)
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "reached") }))
	defer target.Close()

	get := func(proxyURL string) (string, error) {
		u, _ := url.Parse(proxyURL)
		tr := target.Client().Transport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyURL(u)
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(target.URL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	if body, err := get(proxyauth.URL(inst.addr, secret)); err != nil || body != "reached" {
		t.Errorf("with the secret: %q %v", body, err)
	}
	for _, u := range []string{"http://" + inst.addr, proxyauth.URL(inst.addr, "wrong-secret-wrong-secret")} {
		if _, err := get(u); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
			t.Errorf("CONNECT through %s: %v, want 407", strings.Replace(u, secret, "SECRET", 1), err)
		}
	}
	resp, err := http.Get("http://" + inst.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("a plain request without the secret: %d", resp.StatusCode)
	}
}

// TestServeInjectRequiresTheSecret: serve --inject makes the proxy secret
// (0600) on first start and answers 407 without it; env prints it.
func TestServeInjectRequiresTheSecret(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	s := serveInProcess(t, env, make(chan os.Signal), "--inject")
	addr := s.addr
	fi, err := os.Stat(filepath.Join(home, proxyauth.File))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the proxy secret file: %v %v", fi, err)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("without the secret: %d, want 407", resp.StatusCode)
	}
	secret, err := proxyauth.Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.out.String()+s.errb.String(), secret) {
		t.Error("serve printed the proxy secret")
	}
	envOut, _, code := run(t, env, "env", "--listen", addr)
	if code != 0 || !strings.Contains(envOut, proxyauth.URL(addr, secret)) {
		t.Errorf("env: %d %q", code, envOut)
	}
	s.stop()
}

// TestServeProxySecretFile: serve --inject --proxy-secret-file takes the
// secret from a mounted Secret's file (0440) and makes none of its own; a
// client without it gets 407, one with it does not; the flag without
// --inject, or with --no-proxy-auth, is a usage error.
func TestServeProxySecretFile(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	file := filepath.Join(t.TempDir(), "secret")
	secret := proxyauth.New()
	if err := os.WriteFile(file, []byte(secret), 0o440); err != nil {
		t.Fatal(err)
	}
	s := serveInProcess(t, env, make(chan os.Signal), "--inject", "--proxy-secret-file", file)
	if _, err := os.Stat(filepath.Join(home, proxyauth.File)); !os.IsNotExist(err) {
		t.Errorf("serve made a secret of its own: %v", err)
	}
	status := func(pass string) int {
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/", nil)
		if pass != "" {
			req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("oat:"+pass)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := status(""); code != http.StatusProxyAuthRequired {
		t.Errorf("without the secret: %d, want 407", code)
	}
	if code := status("wrong-secret-wrong-secret"); code != http.StatusProxyAuthRequired {
		t.Errorf("with a wrong secret: %d, want 407", code)
	}
	if code := status(secret); code == http.StatusProxyAuthRequired {
		t.Errorf("with the file's secret: %d", code)
	}
	s.stop()
	for _, args := range [][]string{
		{"serve", "--proxy-secret-file", file},
		{"serve", "--inject", "--no-proxy-auth", "--proxy-secret-file", file},
	} {
		if _, stderr, code := run(t, env, args...); code != 2 || !strings.Contains(stderr, "--proxy-secret-file") {
			t.Errorf("%q: exit %d, %q", args, code, stderr)
		}
	}
}
