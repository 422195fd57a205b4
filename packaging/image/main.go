// Command image assembles oat-proxy's container image without pulling a
// base image: one layer with both static binaries, /etc/passwd and
// /etc/group naming the non-root user 65532, and the build machine's CA
// bundle; no shell. It writes a multi-arch OCI image index into an OCI
// layout directory and, with --push, to a registry. make image runs it
// after building the binaries:
//
//	image --bins dist/image-bin --out dist/image --version V [--push REF]
//
// where dist/image-bin/linux-ARCH/ holds oat-proxy and
// docker-credential-oat for each --platform.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: not root, no login, the uid distroless uses.
const (
	uid      = 65532
	userName = "nonroot"
	home     = "/home/nonroot"
)

// Binaries are the programs the image holds, at its root.
var binaries = []string{"oat-proxy", "docker-credential-oat"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options say what to build.
type options struct {
	bins, out, push, caBundle string
	platforms                 []string
	version, revision, source string
	created                   time.Time
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var platforms, created string
	fs.StringVar(&o.bins, "bins", "dist/image-bin", "the `DIR` holding linux-ARCH/{oat-proxy,docker-credential-oat}")
	fs.StringVar(&o.out, "out", "dist/image", "the OCI layout `DIR` to write (replaced)")
	fs.StringVar(&o.push, "push", "", "also push the index to `REF` (registry/repository:tag)")
	fs.StringVar(&o.caBundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle `FILE` to put at /etc/ssl/certs/ca-certificates.crt")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "the `PLATFORMS` of the index, comma-separated")
	fs.StringVar(&o.version, "version", "devel", "the `VERSION` label")
	fs.StringVar(&o.revision, "revision", "", "the `COMMIT` label")
	fs.StringVar(&o.source, "source", "https://github.com/oatkit/oat", "the `URL` label of the source")
	fs.StringVar(&created, "created", "1970-01-01T00:00:00Z", "the image's creation `TIME` (RFC 3339; the commit's, for a reproducible image)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "image: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var err error
	if o.created, err = time.Parse(time.RFC3339, created); err != nil {
		fmt.Fprintf(stderr, "image: --created: %v\n", err)
		return 2
	}
	o.platforms = strings.Split(platforms, ",")
	idx, err := build(o)
	if err == nil {
		err = writeLayout(o.out, idx, o.version)
	}
	if err == nil && o.push != "" {
		err = push(ctx, o.push, idx)
	}
	if err != nil {
		fmt.Fprintf(stderr, "image: error: %v\n", err)
		return 1
	}
	d, _ := idx.Digest()
	fmt.Fprintf(stdout, "%s %s\n", o.out, d)
	if o.push != "" {
		fmt.Fprintf(stdout, "pushed %s@%s\n", o.push, d)
	}
	return 0
}

// build assembles the index: one image per platform.
func build(o options) (v1.ImageIndex, error) {
	ca, err := os.ReadFile(o.caBundle)
	if err != nil {
		return nil, fmt.Errorf("the CA bundle: %w", err)
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil || plat.OS != "linux" || plat.Architecture == "" {
			return nil, fmt.Errorf("platform %q: give linux/ARCH", p)
		}
		files := map[string][]byte{}
		for _, b := range binaries {
			path := filepath.Join(o.bins, "linux-"+plat.Architecture, b)
			if err := checkStatic(path, plat.Architecture); err != nil {
				return nil, err
			}
			if files[b], err = os.ReadFile(path); err != nil {
				return nil, err
			}
		}
		img, err := image(o, *plat, files, ca)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	return idx, nil
}

// labels are the image's org.opencontainers.image.* labels.
func labels(o options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "oat-proxy",
		"org.opencontainers.image.description": "A proxy that checks Docker Hub requests against organization access token scopes, and docker-credential-oat.",
		"org.opencontainers.image.version":     o.version,
		"org.opencontainers.image.source":      o.source,
		"org.opencontainers.image.url":         o.source,
		"org.opencontainers.image.created":     o.created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.vendor":      "oatkit",
	}
	if o.revision != "" {
		l["org.opencontainers.image.revision"] = o.revision
	}
	return l
}

func image(o options, plat v1.Platform, bins map[string][]byte, ca []byte) (v1.Image, error) {
	tb, err := rootfs(o.created, bins, ca)
	if err != nil {
		return nil, err
	}
	layer, err := layerFrom(tb)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: o.created}, CreatedBy: "packaging/image", Comment: "oat-proxy and docker-credential-oat, users, CA bundle"}})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = plat.OS, plat.Architecture, plat.Variant
	cfg.Created = v1.Time{Time: o.created}
	cfg.Author = "oatkit"
	cfg.Config = v1.Config{
		Entrypoint: []string{"/oat-proxy", "serve"},
		User:       fmt.Sprintf("%d:%d", uid, uid),
		WorkingDir: home,
		Env: []string{
			"PATH=/",
			"HOME=" + home,
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		},
		ExposedPorts: map[string]struct{}{"3128/tcp": {}, "9090/tcp": {}},
		Labels:       labels(o),
	}
	return mutate.ConfigFile(img, cfg)
}

func layerFrom(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}

// rootfs is the layer's tar: directories, the users, the CA bundle, the
// binaries; owned by root but the user's home, times fixed.
func rootfs(mtime time.Time, bins map[string][]byte, ca []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:%s:/sbin/nologin\n", userName, uid, uid, userName, home)
	group := fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, uid)
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file("etc/ssl/certs/ca-certificates.crt", 0o644, ca) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, uid) },
		func() error { return dir("tmp", 0o1777, 0) },
	}
	for _, b := range binaries {
		steps = append(steps, func() error { return file(b, 0o755, bins[b]) })
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// elfMachines are the ELF machine of each architecture.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// checkStatic refuses a binary that is not a static Linux executable of
// arch: the image has no dynamic loader and no libc.
func checkStatic(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not a Linux executable: %w", path, err)
	}
	defer f.Close()
	want, ok := elfMachines[arch]
	if !ok {
		return fmt.Errorf("%s: unknown architecture %s", path, arch)
	}
	if f.Machine != want {
		return fmt.Errorf("%s: built for %s, not %s", path, f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// writeLayout replaces dir with an OCI layout whose index.json points at
// idx, named version.
func writeLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version}))
}

// push writes idx to ref with the credentials Docker would use.
func push(ctx context.Context, ref string, idx v1.ImageIndex) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("--push %q: %w", ref, err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", r, err)
	}
	return nil
}
