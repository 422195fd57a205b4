package proxyauth

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRequire(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-s3cret-s3cret"
	var seen http.Header
	h := Require(secret, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name, header string
		want         int
	}{
		{"none", "", http.StatusProxyAuthRequired},
		{"wrong", basic("oat", "nope"), http.StatusProxyAuthRequired},
		{"prefix of the secret", basic("oat", secret[:10]), http.StatusProxyAuthRequired},
		{"bearer", "Bearer " + secret, http.StatusProxyAuthRequired},
		{"not base64", "Basic %%%", http.StatusProxyAuthRequired},
		{"right", basic("oat", secret), http.StatusOK},
		{"any user", basic("ci", secret), http.StatusOK},
		{"scheme in any case", strings.Replace(basic("x", secret), "Basic", "bAsIc", 1), http.StatusOK},
	}
	for _, tt := range tests {
		seen = nil
		r := httptest.NewRequest(http.MethodConnect, "http://registry-1.docker.io:443", nil)
		if tt.header != "" {
			r.Header.Set("Proxy-Authorization", tt.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
		if tt.want == http.StatusProxyAuthRequired {
			if seen != nil || w.Header().Get("Proxy-Authenticate") == "" || strings.Contains(w.Body.String(), secret) {
				t.Errorf("%s: passed on, or no challenge, or the secret in the body: %q", tt.name, w.Body.String())
			}
		} else if seen.Get("Proxy-Authorization") != "" {
			t.Errorf("%s: the proxy secret went on to the handler", tt.name)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cfg")
	s1, created, err := LoadOrCreate(dir)
	if err != nil || !created || len(s1) < 40 {
		t.Fatalf("first: %q %v %v", s1, created, err)
	}
	fi, _ := os.Stat(filepath.Join(dir, File))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", fi.Mode().Perm())
	}
	s2, created, err := LoadOrCreate(dir)
	if err != nil || created || s2 != s1 {
		t.Fatalf("second: %v %v, same %v", created, err, s2 == s1)
	}
	if err := os.Chmod(filepath.Join(dir, File), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable secret: %v", err)
	}
}

// The hint names the address the client reached the proxy on, not the
// host it asked for (a CONNECT's Host is its target).
func TestRequireHintNamesTheProxy(t *testing.T) {
	t.Parallel()
	h := Require("s3cret-s3cret-s3cret", http.NotFoundHandler())
	tests := []struct {
		local     net.Addr
		want, not string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3128}, "HTTPS_PROXY=http://oat:SECRET@127.0.0.1:3128 ", "docker.io"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 3128}, "HTTPS_PROXY=http://oat:SECRET@[::1]:3128 ", "docker.io"},
		{&net.UnixAddr{Name: "/run/oat/p.sock", Net: "unix"}, "Proxy-Authorization: Basic", "docker.io"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodConnect, "registry-1.docker.io:443", nil)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, tt.local))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if body := w.Body.String(); !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) {
			t.Errorf("reached on %s: %q, want %q and no %q", tt.local, body, tt.want, tt.not)
		}
	}
}

// LoadFile: a mounted Secret's file may be readable by its group when the
// caller allows it, never by others; what is not a regular file, or holds
// too short a secret, is refused with what to do.
func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	want := "a-proxy-secret-of-some-length"
	if err := os.WriteFile(path, []byte(want+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadFile(path, true); err != nil || got != want {
		t.Errorf("a 0440 Secret, group allowed: %q %v", got, err)
	}
	if _, err := LoadFile(path, false); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a 0440 file, group not allowed: %v", err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path, true); err == nil || !strings.Contains(err.Error(), "defaultMode 0440") {
		t.Errorf("a world-readable file: %v", err)
	}
	if _, err := LoadFile(dir, true); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(short, true); err == nil || !strings.Contains(err.Error(), "no usable secret") || strings.Contains(err.Error(), "abc") {
		t.Errorf("a short secret: %v", err)
	}
}
