package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/oatkit/oat/internal/hubtest"
)

// bytesRecorder counts bytes by kind and direction; the rest it ignores.
type bytesRecorder struct {
	mu      sync.Mutex
	in, out map[string]int64
}

func (b *bytesRecorder) Request(string, string, string) {}
func (b *bytesRecorder) Denial(string, string)          {}
func (b *bytesRecorder) Upstream(int)                   {}
func (b *bytesRecorder) Latency(string, time.Duration)  {}
func (b *bytesRecorder) Bytes(kind string, in, out int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.in[kind] += in
	b.out[kind] += out
}

func (b *bytesRecorder) get(kind string) (in, out int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.in[kind], b.out[kind]
}

// TestBytesByKind: an intercepted request counts its bodies under its
// kind (a refusal's too), a tunnel all it carries under "tunnel": a pull
// whose blobs the hub redirects to its CDN host moves the blobs through a
// tunnel, its manifest and token through the intercepted path; a push
// moves its layer in.
func TestBytesByKind(t *testing.T) {
	rec := &bytesRecorder{in: map[string]int64{}, out: map[string]int64{}}
	f := setupWith(t, options{metrics: rec,
		hub:     []hubtest.Token{{Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}, Push: []string{"acme/*"}}},
		records: staticTokens{{Org: "acme", Label: "release", Secret: pushSecret, Active: true, Scopes: mustScopes(t, nil, []string{"acme/app"})}},
	})
	img, err := remote.Image(ref(t, "registry-1.docker.io/acme/app:1.0"), f.opts(pushSecret)...)
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := img.RawManifest()
	config, _ := img.RawConfigFile()
	blobs := int64(len(config))
	layers, _ := img.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		blobs += n
	}
	f.client.CloseIdleConnections() // the tunnels end
	// The kernel moves a tunnel's bytes: they are counted when its chunk
	// ends, by spliceTick.
	for end := time.Now().Add(3 * spliceTick); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if in, out := rec.get("tunnel"); in > 0 && out >= blobs {
			break
		}
	}
	if _, out := rec.get("tunnel"); out < blobs {
		t.Errorf("tunnel bytes out %d, want at least the blobs' %d", out, blobs)
	}
	if in, _ := rec.get("tunnel"); in == 0 {
		t.Error("no tunnel bytes in (the client's TLS)")
	}
	if _, out := rec.get("registry"); out < int64(len(manifest)) {
		t.Errorf("registry bytes out %d, want at least the manifest's %d", out, len(manifest))
	}
	if _, out := rec.get("token"); out == 0 {
		t.Error("no token bytes out")
	}

	layer, err := random.Layer(64<<10, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := rec.get("registry")
	if err := remote.WriteLayer(ref(t, "registry-1.docker.io/acme/app:x").Context(), layer, f.opts(pushSecret)...); err != nil {
		t.Fatal(err)
	}
	size, _ := layer.Size()
	if in, _ := rec.get("registry"); in-before < size {
		t.Errorf("registry bytes in for a %d-byte layer: %d", size, in-before)
	}

	// A refusal's body counts under the request's kind.
	_, before = rec.get("token")
	req, _ := http.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/base:push", nil)
	req.SetBasicAuth("acme", pushSecret)
	resp, err := (&http.Client{Transport: f.client}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "DENIED") {
		t.Fatalf("push token for acme/base: %s %s", resp.Status, body)
	}
	if _, out := rec.get("token"); out-before != int64(len(body)) {
		t.Errorf("refusal bytes out %d, want its body's %d", out-before, len(body))
	}
}
