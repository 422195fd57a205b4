// Package proxyauth is oat-proxy's own access control: a secret of the
// proxy's (not a token's) that every client must send as
// Proxy-Authorization: Basic, so that nobody else who can reach the proxy
// borrows the tokens it injects.
package proxyauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// File is the proxy secret's file name in the configuration directory.
const File = "oat-proxy-secret"

// Username is the user name clients send with the secret (any is accepted).
const Username = "oat"

// New makes a random secret.
func New() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LoadOrCreate reads the secret in dir, making it (0600) on first use. A
// file that others may read is refused.
func LoadOrCreate(dir string) (secret string, created bool, err error) {
	path := filepath.Join(dir, File)
	secret, err = Load(dir)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, err
	}
	secret = New()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // made meanwhile by another start
		secret, err = Load(dir)
		return secret, false, err
	}
	if err != nil {
		return "", false, err
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return "", false, err
	}
	return secret, true, f.Close()
}

// Load reads the secret in dir.
func Load(dir string) (string, error) {
	return LoadFile(filepath.Join(dir, File), false)
}

// LoadFile reads the secret in the file path. A file others may read is
// refused; one its group may read is accepted when groupReadable (a
// mounted Kubernetes Secret, 0440 with the pod's fsGroup).
func LoadFile(path string, groupReadable bool) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	others := fs.FileMode(0o077)
	if groupReadable {
		others = 0o037
	}
	if perm := fi.Mode().Perm(); perm&others != 0 {
		fix := "chmod 600 " + path
		if groupReadable {
			fix = "chmod 640 " + path + ", or a Secret's defaultMode 0440"
		}
		return "", fmt.Errorf("%s may be read by others (mode %04o): %s", path, perm, fix)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 16 {
		return "", fmt.Errorf("%s holds no usable secret (16 characters at least): remove it for oat-proxy to make one, or write one there (openssl rand -base64 32)", path)
	}
	return s, nil
}

// Require lets through only requests whose Proxy-Authorization is Basic
// with secret as the password (any user name), compared in constant time;
// others get 407 with a hint. The header is removed before h sees the
// request.
func Require(secret string, h http.Handler) http.Handler {
	want := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := parseBasic(r.Header.Get("Proxy-Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(pass), want) != 1 {
			w.Header().Set("Proxy-Authenticate", `Basic realm="oat-proxy"`)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusProxyAuthRequired)
			msg := "oat-proxy requires its proxy secret: " + hint(r)
			if ok {
				msg = "oat-proxy: wrong proxy secret; eval \"$(oat-proxy env)\" prints the right HTTPS_PROXY"
			}
			fmt.Fprintln(w, msg)
			return
		}
		r.Header.Del("Proxy-Authorization")
		h.ServeHTTP(w, r)
	})
}

// hint says how to send the secret to the address the client reached the
// proxy on (a request's Host is the registry it asked for, not the proxy).
func hint(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		return "set HTTPS_PROXY=http://" + Username + ":SECRET@" + a.String() + " (eval \"$(oat-proxy env)\" prints it)"
	}
	return "send it as Proxy-Authorization: Basic (any user name), the secret as the password"
}

func parseBasic(h string) (user, pass string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(h), " ")
	if !found || !strings.EqualFold(scheme, "basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// URL is the proxy URL clients use: http://oat:SECRET@addr, or
// http://addr without a secret.
func URL(addr, secret string) string {
	if secret == "" {
		return "http://" + addr
	}
	return "http://" + Username + ":" + secret + "@" + addr
}
