package hubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/oatkit/oat/internal/hub"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// noRedirects is a client on h's transport that returns redirects instead
// of following them.
func noRedirects(h *Hub) *http.Client {
	return &http.Client{Transport: h.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// layerOf is the digest of acme/app:1.0's first layer and a bearer token
// that may pull acme/app.
func layerOf(t *testing.T, h *Hub) (digest, bearer string) {
	t.Helper()
	img, err := remote.Image(ref(t, "acme/app", "1.0"), clientOpts(h, pullSecret)...)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers: %v", err)
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	_, body := getToken(t, h, url.Values{"scope": {"repository:acme/app:pull"}}, "acme", pullSecret)
	bearer, _ = body["token"].(string)
	return d.String(), bearer
}

// send sends method url with an optional bearer token on c.
func send(t *testing.T, c *http.Client, method, u, bearer string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestBlobGETRedirectsToASignedCDNURL(t *testing.T) {
	h := startHub(t, Options{})
	digest, bearer := layerOf(t, h)
	c := noRedirects(h)
	blob := "https://registry-1.docker.io/v2/acme/app/blobs/" + digest

	resp, _ := send(t, c, http.MethodGet, blob, bearer)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusTemporaryRedirect || err != nil || loc.Scheme != "https" || loc.Host != hub.CloudflareBlobHost || !strings.HasPrefix(loc.Path, cdnPrefix+"/") {
		t.Fatalf("GET blob: %d, Location %q; want a 307 to https://%s%s/…", resp.StatusCode, resp.Header.Get("Location"), hub.CloudflareBlobHost, cdnPrefix)
	}
	// Docker Hub answers HEAD itself.
	if resp, _ := send(t, c, http.MethodHead, blob, bearer); resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || resp.ContentLength <= 0 {
		t.Errorf("HEAD blob: %d, Location %q, length %d; want 200 from the registry", resp.StatusCode, resp.Header.Get("Location"), resp.ContentLength)
	}
	// A refused GET gets no redirect.
	for _, b := range []string{"", "not-a-token"} {
		if resp, _ := send(t, c, http.MethodGet, blob, b); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
			t.Errorf("GET blob with bearer %q: %d, Location %q; want 401 without one", b, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// The CDN serves the signed URL without credentials.
	resp, body := send(t, c, http.MethodGet, loc.String(), "")
	sum := sha256.Sum256(body)
	if resp.StatusCode != http.StatusOK || "sha256:"+hex.EncodeToString(sum[:]) != digest {
		t.Fatalf("GET %s: %d, %d bytes not of %s", loc.Redacted(), resp.StatusCode, len(body), digest)
	}
	ranged, _ := http.NewRequest(http.MethodGet, loc.String(), nil)
	ranged.Header.Set("Range", "bytes=1-4")
	if resp, err := c.Do(ranged); err != nil || resp.StatusCode != http.StatusPartialContent || resp.ContentLength != 4 {
		t.Errorf("a range of the blob: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	path := strings.TrimPrefix(loc.Path, cdnPrefix)
	q := loc.Query()
	with := func(change func(q url.Values)) string {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = append([]string(nil), v...)
		}
		change(q2)
		u := *loc
		u.RawQuery = q2.Encode()
		return u.String()
	}
	otherDigest := "/docker/registry/v2/blobs/sha256/00/" + strings.Repeat("0", 64) + "/data"
	for _, tt := range []struct {
		name, url string
		want      int
	}{
		{"tampered signature", with(func(q url.Values) { q.Set("signature", strings.Repeat("0", 64)) }), http.StatusForbidden},
		{"later expiry", with(func(q url.Values) { q.Set("expires", "99999999999") }), http.StatusForbidden},
		{"no signature", with(func(q url.Values) { q.Del("signature") }), http.StatusForbidden},
		{"a second signature", with(func(q url.Values) { q.Add("signature", q.Get("signature")) }), http.StatusForbidden},
		{"another parameter", with(func(q url.Values) { q.Set("x", "1") }), http.StatusForbidden},
		{"expired", h.cdn.signedURL(path, time.Now().Add(-1)), http.StatusForbidden},
		{"another blob's path", "https://" + hub.CloudflareBlobHost + cdnPrefix + otherDigest + "?" + loc.RawQuery, http.StatusForbidden},
		{"another blob, signed", h.cdn.signedURL(otherDigest, time.Now().Add(cdnTTL)), http.StatusNotFound},
		{"a manifest's path", h.cdn.signedURL("/docker/registry/v2/repositories/acme/app/_manifests/tags/1.0/current/link", time.Now().Add(cdnTTL)), http.StatusNotFound},
		{"the registry API", "https://" + hub.CloudflareBlobHost + "/v2/", http.StatusNotFound},
		{"no prefix", "https://" + hub.CloudflareBlobHost + path + "?" + loc.RawQuery, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if resp, body := send(t, c, http.MethodGet, tt.url, ""); resp.StatusCode != tt.want || strings.Contains(string(body), "sha256") && resp.StatusCode == http.StatusOK {
				t.Errorf("GET: %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if resp, _ := send(t, c, http.MethodPut, loc.String(), ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT on the CDN: %d, want 405", resp.StatusCode)
	}
}

func TestAnotherCDNHost(t *testing.T) {
	const host = "blobs.new-region.test"
	h := startHub(t, Options{CDNHost: host})
	digest, bearer := layerOf(t, h)
	resp, _ := send(t, noRedirects(h), http.MethodGet, "https://registry-1.docker.io/v2/acme/app/blobs/"+digest, bearer)
	if loc, err := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusTemporaryRedirect || err != nil || loc.Host != host {
		t.Fatalf("GET blob: %d, Location %q; want a 307 to %s", resp.StatusCode, resp.Header.Get("Location"), host)
	}
	// Followed, through the hub's transport (and certificate).
	resp, body := send(t, &http.Client{Transport: h.Transport()}, http.MethodGet, "https://registry-1.docker.io/v2/acme/app/blobs/"+digest, bearer)
	if sum := sha256.Sum256(body); resp.StatusCode != http.StatusOK || "sha256:"+hex.EncodeToString(sum[:]) != digest {
		t.Errorf("the redirect followed: %d, %d bytes", resp.StatusCode, len(body))
	}
}

func TestDirectBlobs(t *testing.T) {
	h := startHub(t, Options{DirectBlobs: true})
	digest, bearer := layerOf(t, h)
	c := noRedirects(h)
	resp, body := send(t, c, http.MethodGet, "https://registry-1.docker.io/v2/acme/app/blobs/"+digest, bearer)
	sum := sha256.Sum256(body)
	if resp.StatusCode != http.StatusOK || "sha256:"+hex.EncodeToString(sum[:]) != digest {
		t.Errorf("GET blob: %d, Location %q; want the blob itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := send(t, c, http.MethodGet, "https://"+hub.CloudflareBlobHost+"/", ""); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("the CDN host of a hub without one: %d, want 421", resp.StatusCode)
	}
}
