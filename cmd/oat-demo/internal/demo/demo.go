// Package demo is `make demo`: a stand-in Docker Hub on loopback, an
// organization access token added with its scopes and logged in through
// the helper, then a registry client (the docker CLI, or crane) pulling
// and pushing through oat-proxy and without it, and the token rotated
// through the Hub's API, each step printed as a person would type it, with
// what the client printed.
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
	"slices"
	"strings"
	"time"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// Options configure a demo run.
type Options struct {
	Bin    string    // directory holding the built docker-credential-oat and oat-proxy
	Client string    // "docker", "crane", or "" for the docker CLI when installed, else crane
	Out    io.Writer // where the story is told
}

const (
	org        = "acme"
	label      = "ci-pull"
	passphrase = "demo passphrase, not a secret"
	image      = "acme/app:1.0" // seeded on the hub, in the token's scopes
	pushed     = "acme/app:1.1" // out of the token's scopes: it may pull only
)

// Run tells the story, step by step, and fails on the first step that does
// not behave as it should. Everything it started is stopped, and its
// directory removed, before it returns.
func Run(ctx context.Context, opts Options) error {
	d, err := newDemo(opts)
	if err != nil {
		return err
	}
	defer d.close()
	start := time.Now()
	if err := d.run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nDemo complete in %.1f s.\n", time.Since(start).Seconds())
	return nil
}

type demo struct {
	out    io.Writer
	bin    string // absolute: the built binaries
	home   string // the demo's directory: the working directory of every command
	client client
	relay  *relay            // the demo's network, once started
	env    map[string]string // the environment every command gets, on top of ours
	secret string
	stop   []func() // what to stop at the end, last first
}

func newDemo(opts Options) (*demo, error) {
	bin, err := filepath.Abs(opts.Bin)
	if err != nil {
		return nil, err
	}
	for _, c := range []string{"docker-credential-oat", "oat-proxy"} {
		if _, err := os.Stat(filepath.Join(bin, c)); err != nil {
			return nil, fmt.Errorf("%w (run make build first)", err)
		}
	}
	cl, err := pickClient(opts.Client)
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "oat-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{out: opts.Out, bin: bin, home: home, client: cl, secret: newSecret()}
	d.env = map[string]string{
		"DOCKER_CONFIG": filepath.Join(home, "docker"), "OAT_HOME": filepath.Join(home, "oat"),
		"OAT_BACKEND": "file", "OAT_PASSPHRASE": passphrase, "OAT_CACHE": "off",
		"PATH":                bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"OAT_PASSPHRASE_FILE": "", "OAT_DEBUG": "", "OAT_QUIET": "", "DOCKER_HOST": "", "DOCKER_CONTEXT": "",
		"HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": "", "SSL_CERT_FILE": "", "SSL_CERT_DIR": "",
	}
	return d, nil
}

// close stops what the demo started, last first, and removes its
// directory.
func (d *demo) close() {
	for _, stop := range slices.Backward(d.stop) {
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

func (d *demo) run(ctx context.Context) error {
	d.step("A stand-in Docker Hub on loopback: a real distribution registry, token auth with OAT scopes, a CDN for blobs")
	hub, err := hubtest.Start(ctx, hubtest.Options{Tokens: []hubtest.Token{{
		Org: org, Label: label, Secret: d.secret, Pull: []string{"acme/*"},
	}}, Owners: []hubtest.Owner{{User: owner, Secret: ownerPAT, Orgs: []string{org}}}})
	if err != nil {
		return err
	}
	d.stop = append(d.stop, func() { _ = hub.Close() })
	if _, err := hub.Seed(ctx, "acme/app", "1.0"); err != nil {
		return fmt.Errorf("seed %s: %w", image, err)
	}
	hubCA, err := hub.CertFile(d.home)
	if err != nil {
		return err
	}
	d.say("%s answers for %s; %s is on it", hub.Addr(), strings.Join(hubpkg.APIHosts, ", "), image)
	d.say("the organization %s made the token %q in the Admin Console: Image Pull on acme/* only", org, label)

	d.step("Wire Docker and the token (in a fresh directory: DOCKER_CONFIG, OAT_HOME and the vault passphrase are set for the demo)")
	if _, err := d.sh(ctx, "", "docker-credential-oat", "setup"); err != nil {
		return err
	}
	if _, err := d.shIn(ctx, d.secret, `printf '%s' "$ACME_OAT" | `, "docker-credential-oat", "token", "add", "--org", org, "--label", label, "--pull", "acme/*"); err != nil {
		return err
	}
	// The login goes through the client's own credential store code and
	// the helper protocol: it is what keeps the token out of config.json.
	if err := d.login(ctx, hub, hubCA); err != nil {
		return err
	}
	if _, err := d.sh(ctx, "", "docker-credential-oat", "token", "ls"); err != nil {
		return err
	}
	if err := d.checkConfig(); err != nil {
		return err
	}

	if err := d.throughProxy(ctx, hub, hubCA); err != nil {
		return err
	}
	if err := d.withoutProxy(ctx, hub, hubCA); err != nil {
		return err
	}
	if err := d.rotate(ctx, hub); err != nil {
		return err
	}
	return d.teardown()
}

// checkConfig makes sure the token did not land in config.json.
func (d *demo) checkConfig() error {
	b, err := os.ReadFile(filepath.Join(d.env["DOCKER_CONFIG"], "config.json"))
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte(d.secret)) || bytes.Contains(b, []byte(`"auth"`)) {
		return errors.New("the token was written to config.json")
	}
	var cfg struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	d.say("config.json holds no credential, only credHelpers → oat for %d Docker Hub keys", len(cfg.CredHelpers))
	return nil
}

// teardown stops everything, says so, and checks that nothing is left.
func (d *demo) teardown() error {
	d.step("Tearing down")
	stops := d.stop
	d.stop = nil
	for _, stop := range slices.Backward(stops) {
		stop()
	}
	if err := os.RemoveAll(d.home); err != nil {
		return err
	}
	if _, err := os.Stat(d.home); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is still there", d.home)
	}
	d.say("oat-proxy stopped, the relay and the stand-in hub closed, the demo's directory (vault, CA, config.json) removed")
	return nil
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "\n==> "+format+"\n", args...)
}

// say comments, as a shell transcript does.
func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "# "+format+"\n", args...)
}

// maxLines is how much of a command's output the demo prints.
const maxLines = 12

// environ is the environment of the demo's commands.
func (d *demo) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); d.env[k] == "" {
			if _, set := d.env[k]; set {
				continue // cleared for the demo
			}
		}
		env = append(env, kv)
	}
	for k, v := range d.env {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// sh prints argv as typed and runs it; see shIn.
func (d *demo) sh(ctx context.Context, stdin string, argv ...string) (string, error) {
	return d.shIn(ctx, stdin, "", argv...)
}

// shIn prints the command line as a person would type it (prefix, such as
// a printf of the secret's variable, then argv), runs it in the demo's
// directory with stdin, prints what it printed, and returns it. An exit
// status other than 0 is an *exec.ExitError.
func (d *demo) shIn(ctx context.Context, stdin, prefix string, argv ...string) (string, error) {
	fmt.Fprintf(d.out, "$ %s%s\n", prefix, shellLine(argv))
	path, err := lookPath(argv[0], d.env["PATH"])
	if err != nil {
		return "", fmt.Errorf("%s: %w", argv[0], err)
	}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Dir = d.home
	cmd.Env = d.environ()
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	text := d.scrub(string(out))
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if i == maxLines-1 && len(lines) > maxLines {
			fmt.Fprintf(d.out, "  … (%d more lines)\n", len(lines)-i)
			break
		}
		if l != "" {
			fmt.Fprintf(d.out, "  %s\n", l)
		}
	}
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return text, fmt.Errorf("%s: %w", argv[0], err)
		}
		fmt.Fprintf(d.out, "  (exit status %d)\n", exit.ExitCode())
	}
	return text, err
}

// lookPath finds name in path, a PATH value.
func lookPath(name, path string) (string, error) {
	for dir := range strings.SplitSeq(path, string(os.PathListSeparator)) {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// scrub makes a command's output fit to print: the secret masked (it never
// should appear; this is the last guard), the demo's directory shortened.
func (d *demo) scrub(s string) string {
	s = strings.ReplaceAll(s, d.secret, "[the token]")
	return strings.ReplaceAll(s, d.home, ".")
}

// shellLine is argv as a person would type it in a POSIX shell.
func shellLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n*?[]$'\"\\|&;<>()`#~{}") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words[i] = a
	}
	return strings.Join(words, " ")
}
