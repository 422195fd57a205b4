// Package demo is `make demo`: a stand-in Docker Hub on loopback, an
// organization access token stored through the helper protocol, read back,
// listed, and used against the hub, printing what a user would see.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/standin"
)

// Options configure a demo run.
type Options struct {
	Bin string    // directory holding the built docker-credential-oat
	Out io.Writer // where the story is told
}

const (
	org        = "acme"
	passphrase = "demo passphrase, not a secret"
)

// Run tells the story, step by step, and fails on the first step that does
// not behave as it should.
func Run(ctx context.Context, opts Options) error {
	d, err := newDemo(opts)
	if err != nil {
		return err
	}
	defer d.close()
	return d.run(ctx)
}

type demo struct {
	out    io.Writer
	helper string
	home   string
	env    map[string]string
	secret string
	stop   []func() // processes to stop at the end
}

func newDemo(opts Options) (*demo, error) {
	helper, err := filepath.Abs(filepath.Join(opts.Bin, "docker-credential-oat"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(helper); err != nil {
		return nil, fmt.Errorf("%w (run make build first)", err)
	}
	home, err := os.MkdirTemp("", "oat-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{out: opts.Out, helper: helper, home: home, secret: newSecret()}
	d.env = map[string]string{
		"OAT_HOME": filepath.Join(home, "oat"), "OAT_PASSPHRASE": passphrase,
		"OAT_PASSPHRASE_FILE": "", "OAT_BACKEND": "", "OAT_DEBUG": "",
	}
	return d, nil
}

func (d *demo) close() {
	for _, stop := range d.stop {
		stop()
	}
	os.RemoveAll(d.home)
}

// newSecret makes a token that looks like Docker Hub's, different each run.
func newSecret() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 27)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "dckr_oat_" + string(b)
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "\n==> "+format+"\n", args...)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "    "+format+"\n", args...)
}

func (d *demo) run(ctx context.Context) error {
	d.step("Starting a stand-in Docker Hub on loopback (a real distribution registry, token auth with OAT scopes)")
	hub, err := standin.Start(ctx, standin.Options{Tokens: []standin.Token{{
		Org: org, Label: "ci-release", Secret: d.secret,
		Pull: []string{"acme/*"}, Push: []string{"acme/app"},
	}}})
	if err != nil {
		return err
	}
	defer hub.Close()
	d.say("listening on %s for registry-1.docker.io, auth.docker.io, index.docker.io, hub.docker.com", hub.Addr())
	d.say("token %q of %s: pull on acme/*, push on acme/app", "ci-release", org)
	for _, repo := range []string{"acme/app", "acme/base"} {
		if _, err := hub.Seed(ctx, repo, "1.0"); err != nil {
			return fmt.Errorf("seed %s: %w", repo, err)
		}
	}

	prog := client.NewShellProgramFuncWithEnv(d.helper, &d.env)
	d.step("docker-credential-oat store  (what docker login runs; the secret goes on stdin, never argv)")
	if err := client.Store(prog, &credentials.Credentials{ServerURL: "https://index.docker.io/v1/", Username: org, Secret: d.secret}); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	d.say("stored %s for https://index.docker.io/v1/ as %s", redact.Fingerprint(d.secret), org)

	d.step("docker-credential-oat get  (what docker pull and push run), under three spellings of Docker Hub")
	for _, server := range []string{"https://index.docker.io/v1/", "docker.io", "registry-1.docker.io"} {
		c, err := client.Get(prog, server)
		if err != nil {
			return fmt.Errorf("get %s: %w", server, err)
		}
		if c.Secret != d.secret || c.Username != org {
			return fmt.Errorf("get %s answered another credential", server)
		}
		d.say("%-28s -> username %s, secret %s (the one stored)", server, c.Username, redact.Fingerprint(c.Secret))
	}

	d.step("docker-credential-oat list  (never a secret)")
	out, err := d.helperOut(ctx, "list")
	if err != nil {
		return err
	}
	d.say("%s", strings.TrimSpace(out))

	if err := d.showVault(); err != nil {
		return err
	}
	if err := d.useAgainstHub(ctx, hub, prog); err != nil {
		return err
	}
	if err := d.throughProxy(ctx, hub); err != nil {
		return err
	}

	d.step("docker-credential-oat erase  (what docker logout runs)")
	if err := client.Erase(prog, "docker.io"); err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	if _, err := client.Get(prog, "docker.io"); !credentials.IsErrCredentialsNotFound(err) {
		return fmt.Errorf("get after erase: %v", err)
	}
	d.say("gone: get now answers %q", credentials.NewErrCredentialsNotFound().Error())
	fmt.Fprintln(d.out, "\nDemo complete.")
	return nil
}

// showVault prints the vault file as it is on disk, and checks that nothing
// identifying is readable in it.
func (d *demo) showVault() error {
	path := filepath.Join(d.env["OAT_HOME"], "oat.vault")
	d.step("The vault on disk: %s", path)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if ct, ok := env["ciphertext"].(string); ok && len(ct) > 48 {
		env["ciphertext"] = fmt.Sprintf("%s… (%d base64 characters)", ct[:48], len(ct))
	}
	shown, _ := json.MarshalIndent(env, "    ", "  ")
	d.say("mode %v, %d bytes:", fi.Mode().Perm(), len(b))
	d.say("%s", shown)
	for _, s := range []string{d.secret, org, "index.docker.io", "docker.io"} {
		if bytes.Contains(b, []byte(s)) {
			return fmt.Errorf("the vault file holds %q in plaintext", s)
		}
	}
	d.say("no secret, username or server name appears in it")
	return nil
}

// useAgainstHub pulls and pushes with the credential the helper hands out,
// the way a registry client does.
func (d *demo) useAgainstHub(ctx context.Context, hub *standin.Hub, prog client.ProgramFunc) error {
	c, err := client.Get(prog, "https://index.docker.io/v1/")
	if err != nil {
		return err
	}
	auth := remote.WithAuth(&authn.Basic{Username: c.Username, Password: c.Secret})
	opts := []remote.Option{auth, remote.WithTransport(hub.Transport()), remote.WithContext(ctx)}

	d.step("Pull registry-1.docker.io/acme/app:1.0 with the helper's credential")
	img, err := remote.Image(name.MustParseReference("registry-1.docker.io/acme/app:1.0"), opts...)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	d.say("pulled %s", digest)

	d.step("Push registry-1.docker.io/acme/app:demo (the token has push on acme/app)")
	fresh, err := random.Image(512, 1)
	if err != nil {
		return err
	}
	if err := remote.Write(name.MustParseReference("registry-1.docker.io/acme/app:demo"), fresh, opts...); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	d.say("pushed")

	d.step("Push registry-1.docker.io/acme/base:demo (the token has pull only there)")
	err = remote.Write(name.MustParseReference("registry-1.docker.io/acme/base:demo"), fresh, opts...)
	if err == nil {
		return errors.New("the hub accepted a push outside the token's scopes")
	}
	d.say("refused by the hub, after the client asked for push: %s", redact.String(err.Error()))
	return nil
}

func (d *demo) helperOut(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, d.helper, args...)
	cmd.Env = os.Environ()
	for k, v := range d.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", filepath.Base(d.helper), strings.Join(args, " "), err)
	}
	return string(out), nil
}
