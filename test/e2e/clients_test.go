//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// clientCase is one client of TestSentenceInEveryClient: how it pushes
// acme/base (which no token may push), pulls acme/tool (which no token
// may pull), and does what its token allows.
type clientCase struct {
	name string
	// family is the client family the audit line names.
	family string
	// setup runs once, with the client's environment, before the rest.
	setup func(t *testing.T, ctx context.Context, c *client, dir string)
	// allowed are commands the token allows; push and pull the refused.
	allowed    [][]string
	push, pull []string
}

// clientTokens are the tokens of the client tests: release may pull
// acme/base and push acme/app, ci-pull pull acme/app; nothing may pull
// acme/tool or push acme/base. (A repository of an organization the proxy
// holds no token for goes to the Hub as it came: it may be public.)
var clientTokens = []hubtest.Token{
	{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
	{Org: "acme", Label: "release", Secret: releaseSecret, Pull: []string{"acme/base"}, Push: []string{"acme/app"}},
}

// clientHelper is a client whose helper holds clientTokens, release the
// default.
func clientHelper(t *testing.T, ctx context.Context) *client {
	t.Helper()
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app")
	base.must(t, ctx, releaseSecret, helperName, "token", "add", "--org", "acme", "--label", "release", "--push", "acme/app", "--pull", "acme/base")
	base.must(t, ctx, "", helperName, "token", "default", "release")
	return base
}

// The sentences each mode refuses with: the token's own with the helper
// (release), and with injection the
// closest token's for the clients whose token request goes on narrowed,
// or that no token covers for the others.
var (
	helperPush = regexp.MustCompile(regexp.QuoteMeta(releasePushesBase))
	helperPull = regexp.MustCompile(regexp.QuoteMeta(`token "release" (acme) may not pull acme/tool: it has no access to it. Use a token with Image Pull on acme/tool`))
	injectPush = regexp.MustCompile(`oat-proxy holds no usable token that may repository:acme/base:(pull,)?push|token "release" \(acme\) may not push to acme/base: it has pull only`)
	injectPull = regexp.MustCompile(`oat-proxy holds no usable token that may repository:acme/tool:pull|token "(release|ci-pull)" \(acme\) may not pull acme/tool: it has no access to it`)
)

// TestSentenceInEveryClient runs the clients platform teams use — helm,
// oras, regctl, crane, skopeo and podman (docker buildx with dockerd's
// BuildKit: TestBuildxShowsTheSentence) — in
// both modes: with the helper's credentials through oat-proxy serve, and
// with no credentials under oat-proxy run --inject. Each prints the
// proxy's sentence for a push and a pull outside every token (or, for the
// clients that print no text of ours, oat-proxy run prints it after the
// command fails), the allowed work succeeds, and the hub never sees the
// refused requests.
func TestSentenceInEveryClient(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	hub, hubCA := startHub(t, ctx, clientTokens...)
	for _, repo := range []string{"acme/app", "acme/base", "acme/tool"} {
		if _, err := hub.Seed(ctx, repo, "1.0"); err != nil {
			t.Fatalf("seed %s: %v", repo, err)
		}
	}
	base := clientHelper(t, ctx)
	p := startProxy(t, ctx, base, hubCA)
	served := base.with("HTTPS_PROXY=http://"+proxyListen, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+p.bundle)
	// Under run --inject: no credentials at all, and the hub's CA as the
	// roots run's bundle adds the proxy's CA to.
	inject := base.with("DOCKER_CONFIG="+emptyDockerConfig(t), "SSL_CERT_FILE="+hubCA, "HTTPS_PROXY=", "https_proxy=", "NO_PROXY=", "no_proxy=")
	runAudit := filepath.Join(t.TempDir(), "run-audit.jsonl")
	if err := os.WriteFile(runAudit, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	underRun := func(args []string) []string {
		return append([]string{"oat-proxy", "run", "--inject", "--audit-log", runAudit, "--"}, args...)
	}

	for _, cc := range realClients(t) {
		for _, mode := range []string{"helper", "inject"} {
			t.Run(cc.name+"/"+mode, func(t *testing.T) {
				c, pr, push, pull, wrap := served, p, helperPush, helperPull, func(a []string) []string { return a }
				if mode == "inject" {
					c, pr, push, pull, wrap = inject, proxyRun{audit: runAudit}, injectPush, injectPull, underRun
				}
				dir := t.TempDir()
				short, err := os.MkdirTemp("/tmp", "oatp-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(short) })
				if cc.setup != nil {
					cc.setup(t, ctx, c, dir)
				}
				for _, a := range cc.allowed {
					a = wrap(expand(a, dir, short))
					c.must(t, ctx, "", a[0], a[1:]...)
				}
				for _, tt := range []struct {
					args     []string
					repo, do string
					want     *regexp.Regexp
				}{{cc.push, "acme/base", "push", push}, {cc.pull, "acme/tool", "pull", pull}} {
					a := wrap(expand(tt.args, dir, short))
					r := refused(t, ctx, hub, pr, c, tt.repo, tt.do, "", a[0], a[1:]...)
					if out := strings.ReplaceAll(r.stdout+r.stderr, `\"`, `"`); !tt.want.MatchString(out) {
						t.Errorf("%s: the output lacks the sentence (%s):\n%s", strings.Join(a, " "), tt.want, r)
					}
					if mode == "inject" && !strings.Contains(r.stderr, "oat-proxy: refused: ") {
						t.Errorf("%s: run printed none of its refusals:\n%s", strings.Join(a, " "), r)
					}
					if got := deniedFamilies(t, pr, tt.repo); !slices.Contains(got, cc.family) {
						t.Errorf("%s: the audit log's refusals on %s name the clients %q, want %q", strings.Join(a, " "), tt.repo, got, cc.family)
					}
				}
			})
		}
	}
}

// deniedFamilies are the client families the audit log names on its
// refusals of requests for repo.
func deniedFamilies(t *testing.T, p proxyRun, repo string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, p.audit)), "\n") {
		var e struct {
			Repository, Decision string
			Family               string `json:"client_family"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Decision == "denied" && e.Repository == repo {
			out = append(out, e.Family)
		}
	}
	return out
}

// expand puts dir in for "$DIR" in args, and short (a directory with a
// short path: podman's run root may have 50 characters at most) for
// "$SHORT".
func expand(args []string, dir, short string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(strings.ReplaceAll(a, "$DIR", dir), "$SHORT", short)
	}
	return out
}

// realClients are the cases of TestSentenceInEveryClient.
func realClients(t *testing.T) []clientCase {
	podman := func(args ...string) []string {
		return append([]string{"podman", "--root", "$SHORT/root", "--runroot", "$SHORT/run", "--storage-driver", "vfs",
			"--cgroup-manager", "cgroupfs", "--events-backend", "file", "--tmpdir", "$SHORT/tmp"}, args...)
	}
	return []clientCase{
		{
			name: "helm", family: "helm",
			setup: func(t *testing.T, ctx context.Context, c *client, dir string) {
				for _, name := range []string{"app", "base"} {
					chart := filepath.Join(dir, name)
					writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: "+name+"\nversion: 0.1.0\n")
					c.must(t, ctx, "", "helm", "package", chart, "--destination", dir)
				}
			},
			allowed: [][]string{{"helm", "push", "$DIR/app-0.1.0.tgz", "oci://registry-1.docker.io/acme"}},
			push:    []string{"helm", "push", "$DIR/base-0.1.0.tgz", "oci://registry-1.docker.io/acme"},
			pull:    []string{"helm", "pull", "oci://registry-1.docker.io/acme/tool", "--version", "1.0", "--destination", "$DIR"},
		},
		{
			name: "oras", family: "oras",
			setup: func(t *testing.T, ctx context.Context, c *client, dir string) {
				writeFile(t, filepath.Join(dir, "notes.txt"), "an artifact\n")
			},
			allowed: [][]string{
				{"sh", "-c", "cd $DIR && exec oras push docker.io/acme/app:oras notes.txt:text/plain"},
				{"oras", "pull", "-o", "$DIR/out", "docker.io/acme/app:oras"},
			},
			push: []string{"sh", "-c", "cd $DIR && exec oras push docker.io/acme/base:oras notes.txt:text/plain"},
			pull: []string{"oras", "pull", "-o", "$DIR/out", "docker.io/acme/tool:1.0"},
		},
		{
			name: "regctl", family: "regclient",
			// One token request for both repositories of a copy: the
			// source's pull goes on when the destination's push is cut.
			allowed: [][]string{{"regctl", "image", "copy", "docker.io/acme/base:1.0", "docker.io/acme/app:regctl"}},
			push:    []string{"regctl", "image", "copy", "docker.io/acme/app:1.0", "docker.io/acme/base:regctl"},
			pull:    []string{"regctl", "manifest", "get", "docker.io/acme/tool:1.0"},
		},
		{
			name: "crane", family: "crane",
			allowed: [][]string{{"crane", "copy", "acme/base:1.0", "acme/app:crane"}},
			push:    []string{"crane", "copy", "acme/app:1.0", "acme/base:crane"},
			pull:    []string{"crane", "manifest", "acme/tool:1.0"},
		},
		{
			name: "skopeo", family: "skopeo",
			allowed: [][]string{{"skopeo", "--insecure-policy", "copy", "docker://docker.io/acme/base:1.0", "dir:$DIR/base"}},
			push:    []string{"skopeo", "--insecure-policy", "copy", "dir:$DIR/base", "docker://docker.io/acme/base:skopeo"},
			pull:    []string{"skopeo", "--insecure-policy", "copy", "docker://docker.io/acme/tool:1.0", "dir:$DIR/tool"},
		},
		{
			name: "podman", family: "containers/image", // podman 4.3 names its library, not itself
			allowed: [][]string{podman("pull", "docker.io/acme/base:1.0"), podman("push", "docker.io/acme/base:1.0", "docker.io/acme/app:podman")},
			push:    podman("push", "docker.io/acme/base:1.0", "docker.io/acme/base:podman"),
			pull:    podman("pull", "docker.io/acme/tool:1.0"),
		},
	}
}

// emptyDockerConfig is a DOCKER_CONFIG holding no credentials (podman
// wants its config.json to exist).
func emptyDockerConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "config.json"), "{}\n")
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// withBuildx links the docker-buildx plugin (make e2e installs it in
// .tools, on PATH) into the client's DOCKER_CONFIG/cli-plugins.
func withBuildx(t *testing.T, c *client) {
	t.Helper()
	plugin, err := exec.LookPath("docker-buildx")
	if err != nil {
		t.Fatalf("docker-buildx is not on PATH (make e2e installs it): %v", err)
	}
	dir := filepath.Join(c.getenv("DOCKER_CONFIG"), "cli-plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(plugin, filepath.Join(dir, "docker-buildx")); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
}

// getenv is the client's value of an environment variable, the last
// given winning.
func (c *client) getenv(name string) string {
	v := ""
	for _, kv := range c.env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// TestBuildxShowsTheSentence: docker buildx build --push with dockerd's
// BuildKit, whose resolver fetches tokens in the client (through the
// session) and falls back to the daemon's own attempt. With the daemon
// behind oat-proxy serve, the push and the FROM pull outside the token
// show the sentence; with the README's recipe, oat-proxy run --inject --
// docker buildx build and a daemon that is not behind the proxy, the
// daemon's own attempt reaches the hub anonymously and is denied there, so
// oat-proxy run prints the refusal it made after the build fails.
func TestBuildxShowsTheSentence(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	hub, hubCA := startHub(t, ctx, clientTokens...)
	if _, err := hub.Seed(ctx, "acme/tool", "1.0"); err != nil {
		t.Fatal(err)
	}
	base := clientHelper(t, ctx)
	buildDir := t.TempDir()
	writeFile(t, filepath.Join(buildDir, "notes.txt"), "built\n")
	writeFile(t, filepath.Join(buildDir, "Dockerfile"), "FROM scratch\nCOPY notes.txt /\n")
	pullContext := t.TempDir()
	writeFile(t, filepath.Join(pullContext, "Dockerfile"), "FROM docker.io/acme/tool:1.0\n")
	build := func(tag, dir string) []string {
		return []string{"docker", "buildx", "build", "--progress", "plain", "--push", "-t", tag, dir}
	}

	t.Run("daemon behind the proxy", func(t *testing.T) {
		p := startProxy(t, ctx, base, hubCA)
		e := startEngine(t, p.bundle, "HTTPS_PROXY=http://"+proxyListen, "NO_PROXY=", "no_proxy=")
		c := base.with("DOCKER_HOST="+e.host, "HTTPS_PROXY=http://"+proxyListen, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+p.bundle)
		withBuildx(t, c)
		c.must(t, ctx, "", build("docker.io/acme/app:bx", buildDir)[0], build("docker.io/acme/app:bx", buildDir)[1:]...)
		a := build("docker.io/acme/base:bx", buildDir)
		r := refused(t, ctx, hub, p, c, "acme/base", "push", "", a[0], a[1:]...)
		if !helperPush.MatchString(r.stdout + r.stderr) {
			t.Errorf("buildx push: the output lacks the sentence:\n%s", r)
		}
		a = build("docker.io/acme/app:from", pullContext)
		r = refused(t, ctx, hub, p, c, "acme/tool", "pull", "", a[0], a[1:]...)
		if !helperPull.MatchString(r.stdout + r.stderr) {
			t.Errorf("buildx FROM pull: the output lacks the sentence:\n%s", r)
		}
	})

	t.Run("serve --inject, client and daemon behind it, no credentials", func(t *testing.T) {
		p := startProxy(t, ctx, base, hubCA, "--inject")
		url := proxyURL(t, ctx, base)
		e := startEngine(t, p.bundle, "HTTPS_PROXY="+url, "NO_PROXY=", "no_proxy=")
		// The client too: BuildKit's resolver fetches tokens in it.
		c := base.with("DOCKER_HOST="+e.host, "DOCKER_CONFIG="+emptyDockerConfig(t), "HTTPS_PROXY="+url, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+p.bundle)
		withBuildx(t, c)
		a := build("docker.io/acme/app:bx", buildDir)
		c.must(t, ctx, "", a[0], a[1:]...)
		a = build("docker.io/acme/base:bx", buildDir)
		if r := refused(t, ctx, hub, p, c, "acme/base", "push", "", a[0], a[1:]...); !injectPush.MatchString(r.stdout + r.stderr) {
			t.Errorf("buildx push: the output lacks the sentence:\n%s", r)
		}
		a = build("docker.io/acme/app:from", pullContext)
		if r := refused(t, ctx, hub, p, c, "acme/tool", "pull", "", a[0], a[1:]...); !injectPull.MatchString(r.stdout + r.stderr) {
			t.Errorf("buildx FROM pull: the output lacks the sentence:\n%s", r)
		}
	})

	// The daemon pulls and pushes itself, with what the client hands it:
	// under run --inject that is nothing, so it reaches the hub anonymous.
	// run says so before the command starts and again when it fails.
	t.Run("run --inject, daemon not behind the proxy", func(t *testing.T) {
		e := startEngine(t, hubCA)
		c := base.with("DOCKER_HOST="+e.host, "DOCKER_CONFIG="+emptyDockerConfig(t), "SSL_CERT_FILE="+hubCA, "HTTPS_PROXY=", "https_proxy=", "NO_PROXY=", "no_proxy=")
		withBuildx(t, c)
		audit := filepath.Join(t.TempDir(), "audit.jsonl")
		run := func(args []string) []string {
			return append([]string{"run", "--inject", "--audit-log", audit, "--"}, args...)
		}
		const warning = "uses no proxy: what it pulls and pushes itself"
		for _, tt := range []struct {
			args []string
			want *regexp.Regexp
		}{
			{build("docker.io/acme/base:bx", buildDir), injectPush},
			{build("docker.io/acme/app:from", pullContext), injectPull},
		} {
			r := c.run(ctx, "", "oat-proxy", run(tt.args)...)
			if r.err == nil || !strings.Contains(r.stderr, "oat-proxy: warning: the Docker daemon at "+e.host+" "+warning) ||
				!strings.Contains(r.stderr, "oat-proxy: hint: the Docker daemon at "+e.host+" "+warning) {
				t.Errorf("%s under run --inject: want run's warning and hint:\n%s", strings.Join(tt.args, " "), r)
			}
			// What the client side asked through the proxy (BuildKit's
			// resolver, in the client) and was refused, run prints.
			if strings.Contains(readFile(t, audit), `"decision":"denied"`) && !tt.want.MatchString(r.stderr) {
				t.Errorf("%s under run --inject: the proxy refused, and run did not say so:\n%s", strings.Join(tt.args, " "), r)
			}
		}
	})
}
