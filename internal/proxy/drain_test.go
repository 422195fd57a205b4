package proxy

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestShutdownClosesIdleConnections: once the listener is closed, Shutdown
// closes a client's kept-alive intercepted connection at once and its
// kept-alive tunnel (to the CDN host) once quiet for TunnelQuiet, and
// returns with nothing left to force, well before its deadline.
func TestShutdownClosesIdleConnections(t *testing.T) {
	f := setup(t, false)
	img, err := remote.Image(ref(t, "registry-1.docker.io/acme/app:1.0"), f.opts(pullSecret)...)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, err := layers[0].Compressed() // through the CDN tunnel
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	f.p.conns.mu.Lock()
	tunnels := len(f.p.conns.tunnels)
	f.p.conns.mu.Unlock()
	if f.p.Open() < 2 || tunnels < 1 {
		t.Fatalf("before: %d client connections, %d tunnels; want kept-alive ones of both kinds", f.p.Open(), tunnels)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.proxy.Config.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	closed, err := f.p.Shutdown(ctx)
	took := time.Since(start)
	if err != nil || closed != 0 {
		t.Errorf("Shutdown: %d closed at the deadline, %v", closed, err)
	}
	if took > TunnelQuiet+3*time.Second {
		t.Errorf("Shutdown took %v with idle connections only", took)
	}
	if n := f.p.Open(); n != 0 {
		t.Errorf("%d client connections left", n)
	}
	if _, err := (&http.Client{Transport: f.client, Timeout: 2 * time.Second}).Get("https://registry-1.docker.io/v2/"); err == nil {
		t.Error("a request after Shutdown was served")
	}
}
