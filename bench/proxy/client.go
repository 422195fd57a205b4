package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// A route is how a client reaches the hub: straight, or through a proxy.
type route struct {
	name  string
	proxy string // host:port of the proxy; "" for direct
	dial  string // with no proxy, host:port dialled for every name; "" for the hub's
	roots *x509.CertPool
	hub   *hubtest.Hub
}

func pool(files ...string) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !p.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no certificate", f)
		}
	}
	return p, nil
}

// transport is a fresh client transport for the route: HTTP/1.1 (what
// clients speak to a proxy's intercepted hosts), keep-alive, verifying
// TLS against the route's roots. Direct, it dials the hub for Docker
// Hub's names as a hosts file would, or the route's dial address (a TCP
// proxy in front of the hub).
func (r route) transport() *http.Transport {
	t := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: r.roots, MinVersion: tls.VersionTLS12},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 1024,
		DisableCompression:  true,
		ReadBufferSize:      64 << 10,
		WriteBufferSize:     64 << 10,
		IdleConnTimeout:     time.Minute,
	}
	if r.proxy != "" {
		t.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: r.proxy})
		return t
	}
	addr := r.dial
	if addr == "" {
		addr = r.hub.Addr()
	}
	d := &net.Dialer{}
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// token asks the token service for scope with the token's secret, as a
// client does after the registry's challenge.
func token(c *http.Client, secret, scope string) (string, error) {
	q := url.Values{"service": {hub.Service}, "scope": {scope}}
	req, _ := http.NewRequest(http.MethodGet, "https://"+hub.AuthHost+"/token?"+q.Encode(), nil)
	req.SetBasicAuth("acme", secret)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK || tr.Token == "" {
		return "", fmt.Errorf("token for %s: %s (%v)", scope, resp.Status, err)
	}
	return tr.Token, nil
}

// registryURL is a path on Docker Hub's registry host.
func registryURL(path string) string { return "https://" + hub.RegistryHost + path }

func do(c *http.Client, method, u, tok string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	return c.Do(req)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// drain reads a body to its end and returns its length.
func drain(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var n int64
	for {
		m, err := r.Read(*bp)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// pullBlob downloads a blob (following the CDN redirect) and checks its
// length. The body is not hashed: the client stays lean, so the proxy's
// cost is not hidden behind the client's.
func pullBlob(c *http.Client, tok, repo, digest string, size int64) error {
	resp, err := do(c, http.MethodGet, registryURL("/v2/"+repo+"/blobs/"+digest), tok, nil, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET blob %s: %s: %s", digest, resp.Status, b)
	}
	n, err := drain(resp.Body)
	if err == nil && n != size {
		err = fmt.Errorf("GET blob %s: %d bytes, want %d", digest, n, size)
	}
	return err
}

// pushBlob uploads data as one blob the way docker push does a layer:
// POST an upload, PATCH the bytes, PUT with the digest.
func pushBlob(c *http.Client, tok, repo string, data []byte, digest string) error {
	resp, err := do(c, http.MethodPost, registryURL("/v2/"+repo+"/blobs/uploads/"), tok, nil, 0)
	if err != nil {
		return err
	}
	loc, err := location(resp, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("POST upload: %w", err)
	}
	if resp, err = do(c, http.MethodPatch, loc.String(), tok, bytes.NewReader(data), int64(len(data))); err != nil {
		return err
	}
	if loc, err = location(resp, http.StatusAccepted); err != nil {
		return fmt.Errorf("PATCH upload: %w", err)
	}
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	if resp, err = do(c, http.MethodPut, loc.String(), tok, nil, 0); err != nil {
		return err
	}
	_, err = location(resp, http.StatusCreated)
	return err
}

func location(resp *http.Response, want int) (*url.URL, error) {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	return loc, nil
}

// head is one manifest HEAD.
func head(c *http.Client, tok, repo, tag string) error {
	req, err := http.NewRequest(http.MethodHead, registryURL("/v2/"+repo+"/manifests/"+tag), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HEAD manifest: %s", resp.Status)
	}
	return nil
}
