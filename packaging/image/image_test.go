package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fakeBins builds a tiny static program for each architecture under
// dir/linux-ARCH/, under both binaries' names.
func fakeBins(t *testing.T, dir string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		d := filepath.Join(dir, "linux-"+arch)
		out := filepath.Join(d, binaries[0])
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=", "GO111MODULE=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build a test binary for %s: %v\n%s", arch, err, b)
		}
		b, _ := os.ReadFile(out)
		for _, n := range binaries[1:] {
			if err := os.WriteFile(filepath.Join(d, n), b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Name == "etc/passwd" {
				b, _ := io.ReadAll(tr)
				h.PAXRecords = map[string]string{"content": string(b)}
			}
			out[strings.TrimSuffix(h.Name, "/")] = h
		}
		rc.Close()
	}
	return out
}

func TestImage(t *testing.T) {
	bins := t.TempDir()
	fakeBins(t, bins)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/oatkit/oat-proxy:0.1.0"
	out := filepath.Join(t.TempDir(), "image")
	var stdout, stderr bytes.Buffer
	args := []string{"--bins", bins, "--out", out, "--version", "0.1.0", "--revision", "abc123", "--created", "2026-12-01T00:00:00Z", "--push", ref}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("image: exit %d: %s", code, stderr.String())
	}

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("read the pushed index back: %v", err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range m.Manifests {
		platforms = append(platforms, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Architecture != d.Platform.Architecture || cfg.OS != "linux" {
			t.Errorf("%s: config says %s/%s", d.Platform, cfg.OS, cfg.Architecture)
		}
		if !slices.Equal(cfg.Config.Entrypoint, []string{"/oat-proxy", "serve"}) {
			t.Errorf("%s: entrypoint %v", d.Platform, cfg.Config.Entrypoint)
		}
		u, _, _ := strings.Cut(cfg.Config.User, ":")
		if n, err := strconv.Atoi(u); err != nil || n == 0 {
			t.Errorf("%s: user %q, want a non-root uid", d.Platform, cfg.Config.User)
		}
		for _, l := range []string{"org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source", "org.opencontainers.image.created", "org.opencontainers.image.title"} {
			if cfg.Config.Labels[l] == "" {
				t.Errorf("%s: no label %s", d.Platform, l)
			}
		}
		fs := files(t, img)
		for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"} {
			if fs[shell] != nil {
				t.Errorf("%s: the image has %s", d.Platform, shell)
			}
		}
		for _, f := range []string{"oat-proxy", "docker-credential-oat", "etc/ssl/certs/ca-certificates.crt", "etc/group", "tmp"} {
			if fs[f] == nil {
				t.Errorf("%s: no %s in the image", d.Platform, f)
			}
		}
		if p := fs["etc/passwd"]; p == nil || !strings.Contains(p.PAXRecords["content"], ":x:"+u+":"+u+":") {
			t.Errorf("%s: /etc/passwd has no entry for uid %s", d.Platform, u)
		}
		if h := fs["oat-proxy"]; h != nil && h.Mode&0o111 == 0 {
			t.Errorf("%s: /oat-proxy is not executable", d.Platform)
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", platforms)
	}

	// The layout holds the same index; a second build is the same image.
	lp, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil || len(om.Manifests) != 1 {
		t.Fatalf("the layout's index.json: %v, %v", om, err)
	}
	want, _ := idx.Digest()
	if om.Manifests[0].Digest != want {
		t.Errorf("layout %s, registry %s", om.Manifests[0].Digest, want)
	}
	again := filepath.Join(t.TempDir(), "again")
	if code := run(context.Background(), []string{"--bins", bins, "--out", again, "--version", "0.1.0", "--revision", "abc123", "--created", "2026-12-01T00:00:00Z"}, io.Discard, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	lp2, _ := layout.FromPath(again)
	outer2, _ := lp2.ImageIndex()
	om2, _ := outer2.IndexManifest()
	if om2 == nil || om2.Manifests[0].Digest != want {
		t.Errorf("a second build gave another image")
	}
}

func TestCheckStatic(t *testing.T) {
	bins := t.TempDir()
	fakeBins(t, bins)
	if err := checkStatic(filepath.Join(bins, "linux-arm64", "oat-proxy"), "arm64"); err != nil {
		t.Errorf("a static arm64 binary: %v", err)
	}
	if err := checkStatic(filepath.Join(bins, "linux-amd64", "oat-proxy"), "arm64"); err == nil || !strings.Contains(err.Error(), "not arm64") {
		t.Errorf("an amd64 binary for arm64: %v", err)
	}
	script := filepath.Join(bins, "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if err := checkStatic(script, "amd64"); err == nil {
		t.Errorf("a script passed as a binary")
	}
}
