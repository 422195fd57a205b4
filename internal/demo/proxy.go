package demo

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/standin"
)

// throughProxy records the token's scopes, starts oat-proxy in front of the
// stand-in hub, pulls through it and is refused an out-of-scope push.
func (d *demo) throughProxy(ctx context.Context, hub *standin.Hub) error {
	label, err := d.loginLabel(ctx)
	if err != nil {
		return err
	}
	d.step("Record what the token may do (as the Admin Console shows it): token edit %s --pull 'acme/*' --push acme/app", label)
	if _, err := d.helperOut(ctx, "token", "edit", label, "--pull", "acme/*", "--push", "acme/app"); err != nil {
		return err
	}
	out, err := d.helperOut(ctx, "token", "ls")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		d.say("%s", l)
	}

	addr, caFile, err := d.startProxy(ctx, hub)
	if err != nil {
		return err
	}
	d.say("oat-proxy on %s; clients trust its CA %s", addr, caFile)

	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	// Clients trust the proxy's CA for the hosts it intercepts and the
	// hub's for its CDN host, which the proxy tunnels untouched.
	pem = append(pem, hub.CACertPEM()...)
	bundle := filepath.Join(d.home, "clients-ca.pem")
	if err := os.WriteFile(bundle, pem, 0o644); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	proxyURL, _ := url.Parse("http://" + addr)
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}}
	auth := remote.WithAuth(&authn.Basic{Username: org, Password: d.secret})
	opts := []remote.Option{auth, remote.WithTransport(tr), remote.WithContext(ctx)}

	d.step("Through oat-proxy: pull registry-1.docker.io/acme/base:1.0 (in scope)")
	img, err := remote.Image(name.MustParseReference("registry-1.docker.io/acme/base:1.0"), opts...)
	if err != nil {
		return fmt.Errorf("pull through the proxy: %w", err)
	}
	digest, _ := img.Digest()
	n, err := readLayers(img)
	if err != nil {
		return fmt.Errorf("pull the layers through the proxy: %w", err)
	}
	d.say("pulled %s: %d bytes of layers from %s (the registry's 307, tunnelled: --deny-other-hosts knows Docker Hub's blob hosts)", digest, n, standin.CDNHost)

	d.step("Through oat-proxy: push registry-1.docker.io/acme/base:demo (out of scope)")
	fresh, err := random.Image(512, 1)
	if err != nil {
		return err
	}
	before := len(hub.Requests())
	err = remote.Write(name.MustParseReference("registry-1.docker.io/acme/base:demo"), fresh, opts...)
	if err == nil {
		return errors.New("the proxy let an out-of-scope push through")
	}
	d.say("refused in the first request:")
	d.say("  %s", redact.String(err.Error()))
	for _, r := range hub.Requests()[before:] {
		for _, s := range r.Asked {
			if strings.HasPrefix(s, "repository:acme/base:") && strings.Contains(s, "push") {
				return errors.New("the hub saw the refused push")
			}
		}
	}
	d.say("the stand-in hub's log shows no request for it: nothing was uploaded")

	if docker, err := exec.LookPath("docker"); err == nil {
		d.dockerManifest(ctx, docker, addr, bundle)
	} else {
		d.say("(the docker CLI is not installed: skipping docker manifest inspect)")
	}
	return nil
}

// readLayers reads every layer of img and returns the bytes read.
func readLayers(img v1.Image) (int64, error) {
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return n, err
		}
		m, err := io.Copy(io.Discard, rc)
		rc.Close()
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// dockerManifest shows the docker CLI through the proxy: no daemon needed.
func (d *demo) dockerManifest(ctx context.Context, docker, addr, caBundle string) {
	config := filepath.Join(d.home, "docker")
	if err := os.MkdirAll(config, 0o700); err != nil {
		return
	}
	if err := os.WriteFile(filepath.Join(config, "config.json"), []byte(`{"credHelpers":{"https://index.docker.io/v1/":"oat","docker.io":"oat","registry-1.docker.io":"oat","index.docker.io":"oat"}}`+"\n"), 0o600); err != nil {
		return
	}
	env := append(os.Environ(), "DOCKER_CONFIG="+config, "HTTPS_PROXY=http://"+addr, "NO_PROXY=", "SSL_CERT_FILE="+caBundle,
		"PATH="+filepath.Dir(d.helper)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for k, v := range d.env {
		env = append(env, k+"="+v)
	}
	for _, ref := range []string{"acme/app:1.0", "otherorg/tool:1.0"} {
		d.step("docker manifest inspect %s  (the docker CLI through oat-proxy)", ref)
		cmd := exec.CommandContext(ctx, docker, "manifest", "inspect", ref)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err == nil {
			d.say("allowed: %d bytes of manifest", len(out))
			continue
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			d.say("%s", redact.String(l))
		}
	}
}

// loginLabel is the label of the record docker login (store) made.
func (d *demo) loginLabel(ctx context.Context) (string, error) {
	out, err := d.helperOut(ctx, "token", "ls", "--json")
	if err != nil {
		return "", err
	}
	var list []struct{ Label string }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) == 0 {
		return "", fmt.Errorf("token ls --json: %v", err)
	}
	return list[0].Label, nil
}

// startProxy runs the built oat-proxy on a free loopback port, dialing the
// stand-in hub for the Hub's names and trusting its CA upstream.
func (d *demo) startProxy(ctx context.Context, hub *standin.Hub) (addr, caFile string, err error) {
	bin := filepath.Join(filepath.Dir(d.helper), "oat-proxy")
	hubCA, err := hub.CertFile(d.home)
	if err != nil {
		return "", "", err
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--deny-other-hosts"}
	for _, h := range append(slices.Clone(hubpkg.APIHosts), standin.CDNHost) {
		args = append(args, "--upstream", h+"="+hub.Addr())
	}
	d.step("oat-proxy %s", strings.Join(args, " "))
	env := append(os.Environ(), "SSL_CERT_FILE="+hubCA)
	for k, v := range d.env {
		env = append(env, k+"="+v)
	}
	ca := exec.CommandContext(ctx, bin, "ca")
	ca.Env = env
	out, err := ca.Output()
	if err != nil {
		return "", "", fmt.Errorf("oat-proxy ca: %w", err)
	}
	caFile = strings.TrimSpace(string(out))

	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	d.stop = append(d.stop, func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTPS_PROXY=http://") {
		return "", "", fmt.Errorf("oat-proxy did not start: %q %v", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "HTTPS_PROXY=http://")), caFile, nil
}
