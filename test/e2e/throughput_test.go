//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/oatkit/oat/internal/hubtest"
)

// TestProxyThroughput pulls one large layer with crane straight from the
// stand-in hub and through oat-proxy, interleaved, and prints the figures
// and the proxy's peak RSS: once from a hub that redirects the layer to its
// CDN host, as Docker Hub does (the layer comes through a plain tunnel),
// and once from one that serves it itself (the layer comes through the
// proxy's MITM path, the worst case). It runs when OAT_E2E_BENCH is set
// (make bench-crane), as a measurement, not a pass/fail timing.
func TestProxyThroughput(t *testing.T) {
	if os.Getenv("OAT_E2E_BENCH") == "" {
		t.Skip("a measurement: run with OAT_E2E_BENCH=1 (make bench-crane)")
	}
	checkIsolated(t)
	size := int64(1 << 30)
	if s := os.Getenv("OAT_E2E_BENCH_MIB"); s != "" {
		var mib int64
		fmt.Sscan(s, &mib)
		size = mib << 20
	}
	for _, tt := range []struct {
		name   string
		direct bool
	}{
		{"redirect: the layer through a tunnel", false},
		{"direct: the layer through the MITM path", true},
	} {
		t.Run(tt.name, func(t *testing.T) { measurePull(t, size, tt.direct) })
	}
}

// measurePull seeds a layer of size bytes in a hub (serving blobs itself if
// direct) and times crane pulling it direct and through oat-proxy.
func measurePull(t *testing.T, size int64, direct bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	hub, hubCA := startHubWith(t, ctx, hubtest.Options{DirectBlobs: direct, Tokens: []hubtest.Token{
		{Org: "acme", Label: "release", Secret: releaseSecret, Pull: []string{"acme/*"}},
	}})

	digest := seedBig(t, ctx, hub, size)

	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, releaseSecret, helperName, "token", "add", "--org", "acme", "--label", "release", "--pull", "acme/*")
	p := startProxy(t, ctx, base, hubCA, "--deny-other-hosts")
	pid := p.pid
	directEnv := base.with("SSL_CERT_FILE=" + hubCA)
	proxied := base.with("HTTPS_PROXY=http://"+proxyListen, "NO_PROXY=", "SSL_CERT_FILE="+p.bundle)
	ref := "registry-1.docker.io/acme/big@" + digest.String()

	pull := func(c *client) time.Duration {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer devnull.Close()
		cmd := exec.CommandContext(ctx, "crane", "blob", ref)
		cmd.Env, cmd.Stdout = c.env, devnull
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("crane blob: %v: %s", err, stderr.String())
		}
		return time.Since(start)
	}
	// The peak so far is the vault's KDF at start; measure from here.
	startRSS := procStatus(t, pid, "VmRSS")
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Fatalf("reset the peak RSS: %v", err)
	}
	const runs = 3
	var dd, pp []time.Duration
	for range runs {
		dd = append(dd, pull(directEnv))
		pp = append(pp, pull(proxied))
	}
	slices.Sort(dd)
	slices.Sort(pp)
	mibps := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	t.Logf("layer: %d MiB, uncompressed; %d pulls each, interleaved; crane blob to /dev/null", size>>20, runs)
	t.Logf("direct:        median %v  (%.0f MiB/s)", dd[runs/2].Round(time.Millisecond), mibps(dd[runs/2]))
	t.Logf("through proxy: median %v  (%.0f MiB/s)", pp[runs/2].Round(time.Millisecond), mibps(pp[runs/2]))
	t.Logf("throughput ratio (proxy / direct): %.2f", mibps(pp[runs/2])/mibps(dd[runs/2]))
	t.Logf("oat-proxy RSS before the pulls: %s; peak RSS during them (VmHWM, reset first): %s", startRSS, procStatus(t, pid, "VmHWM"))
}

func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// seedBig seeds acme/big:1 with one layer of size random bytes and returns
// the layer's digest.
func seedBig(t *testing.T, ctx context.Context, hub *hubtest.Hub, size int64) v1.Hash {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	layer := static.NewLayer(data, types.OCIUncompressedLayer)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hub.SeedImage(ctx, "acme/big", "1", img); err != nil {
		t.Fatal(err)
	}
	digest, err := layer.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest
}
