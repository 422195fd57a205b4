//go:build e2e

// Package e2e is the end-to-end suite: the real docker CLI and a real Docker
// Engine, in a network namespace of its own where Docker Hub's host names
// resolve to a stand-in hub on the namespace's loopback.
//
// The test binary re-executes itself inside that namespace (a private mount
// namespace binds a hosts file over /etc/hosts there), so every process the
// tests start — dockerd, the docker CLI, the helper — sees the same world.
// It needs root, dockerd (Debian docker.io), docker-registry, haproxy, ip, unshare
// and nsenter; `make e2e` installs what is missing.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	hubpkg "github.com/oatkit/oat/internal/hub"
)

const (
	envInner = "OAT_E2E_INNER" // set in the re-executed test binary
	envBin   = "OAT_E2E_BIN"   // directory holding the built binaries
	envNetns = "OAT_E2E_NETNS" // /run/netns/NAME
	envHosts = "OAT_E2E_HOSTS" // the hosts file bound over /etc/hosts
	// hubHosts are Docker Hub's names, its CDN host (where the stand-in
	// redirects blob downloads) included.
	hubHosts = "registry-1.docker.io auth.docker.io index.docker.io hub.docker.com docker.io " + hubpkg.CloudflareBlobHost
	// otherHost is a registry that is not Docker Hub, for tunnels.
	otherHost = "other.test"
	// hubIP is where Docker Hub's names resolve: an address of the
	// benchmark range on the namespace's own loopback, not a loopback
	// address, since oras refuses a token realm on loopback.
	hubIP     = "198.18.0.1"
	netnsRoot = "/run/netns"
)

// binDir holds docker-credential-oat and oat-proxy, built for this run.
var binDir string

func TestMain(m *testing.M) {
	if os.Getenv(envInner) == "1" {
		binDir = os.Getenv(envBin)
		os.Exit(m.Run())
	}
	os.Exit(outer())
}

// outer checks the machine, builds the binaries, makes the namespace, runs
// the tests inside it and removes the namespace.
func outer() int {
	if err := preflight(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "oat-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bin")
	if err := build(bin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		return 1
	}

	name := fmt.Sprintf("oate2e%d", os.Getpid())
	cleanup, err := makeNetns(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cleanup()

	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	script := `mount --bind "$` + envHosts + `" /etc/hosts && exec nsenter --net="$` + envNetns + `" -- "$@"`
	args := append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh", self}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		envInner+"=1", envBin+"="+bin,
		envNetns+"="+filepath.Join(netnsRoot, name),
		envHosts+"="+filepath.Join("/etc/netns", name, "hosts"),
	)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return 0
}

func preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("the end-to-end suite needs root (network namespaces, dockerd); run it as root, through make e2e")
	}
	var missing []string
	for _, tool := range []string{"dockerd", "docker", "docker-registry", "haproxy", "ip", "unshare", "nsenter", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; run scripts/install-e2e-deps (make e2e does)", strings.Join(missing, ", "))
	}
	return nil
}

// build compiles both binaries from this checkout into dir.
func build(dir string) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	for _, c := range []string{"docker-credential-oat", "oat-proxy"} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, c), "./cmd/"+c)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", c, err, out)
		}
	}
	return nil
}

// makeNetns creates a network namespace with only a loopback, and a hosts
// file mapping Docker Hub's names to it. The returned func removes both.
func makeNetns(name string) (func(), error) {
	etc := filepath.Join("/etc/netns", name)
	remove := func() {
		_ = exec.Command("ip", "netns", "del", name).Run()
		_ = os.RemoveAll(etc)
	}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", hubIP + "/32", "dev", "lo"}} {
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			remove()
			return nil, fmt.Errorf("ip -n %s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	hosts := "127.0.0.1\tlocalhost " + otherHost + "\n" + hubIP + "\t" + hubHosts + "\n::1\tlocalhost ip6-localhost\n"
	if err := os.MkdirAll(etc, 0o755); err != nil {
		remove()
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(etc, "hosts"), []byte(hosts), 0o644); err != nil {
		remove()
		return nil, err
	}
	return remove, nil
}

// checkIsolated makes sure the test really runs in the namespace: only a
// loopback interface, and the Hub's names on it.
func checkIsolated(t *testing.T) {
	t.Helper()
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Flags&net.FlagLoopback == 0 {
		t.Fatalf("not in the test's network namespace: interfaces %v", ifaces)
	}
	for _, h := range strings.Fields(hubHosts) {
		addrs, err := net.LookupHost(h)
		if err != nil || len(addrs) == 0 || addrs[0] != hubIP {
			t.Fatalf("%s resolves to %v (%v), want %s", h, addrs, err, hubIP)
		}
	}
}

// engine is a dockerd started for one test.
type engine struct {
	host string // unix://…
	cmd  *exec.Cmd
	log  string
}

// startEngine starts dockerd with its own roots and socket, trusting the CA
// bundle in certFile, and stops it (by PID) when the test ends.
func startEngine(t *testing.T, certFile string, extraEnv ...string) *engine {
	t.Helper()
	// Socket paths are short-lived and length-limited: keep the root short.
	root, err := os.MkdirTemp("/tmp", "oatd-")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(root, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &engine{host: "unix://" + filepath.Join(root, "d.sock"), log: filepath.Join(root, "dockerd.log")}
	logf, err := os.Create(e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.cmd = exec.Command("dockerd",
		"--config-file", config,
		"--iptables=false", "--ip6tables=false", "--bridge=none",
		"--storage-driver=vfs",
		"--data-root", filepath.Join(root, "data"),
		"--exec-root", filepath.Join(root, "x"),
		"--pidfile", filepath.Join(root, "d.pid"),
		"-H", e.host,
	)
	e.cmd.Env = append(append(os.Environ(), "SSL_CERT_FILE="+certFile), extraEnv...)
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.stop(t)
		logf.Close()
		if t.Failed() {
			t.Logf("dockerd log (last lines):\n%s", tail(e.log, 40))
		}
		_ = os.RemoveAll(root)
	})
	if err := e.wait(60 * time.Second); err != nil {
		t.Fatalf("dockerd did not come up: %v\n%s", err, tail(e.log, 40))
	}
	return e
}

// wait polls the engine's /_ping.
func (e *engine) wait(d time.Duration) error {
	sock := strings.TrimPrefix(e.host, "unix://")
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	deadline := time.Now().Add(d)
	for {
		resp, err := c.Get("http://docker/_ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/_ping: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		if e.cmd.ProcessState != nil {
			return errors.New("dockerd exited")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop ends dockerd by its PID: SIGTERM, then SIGKILL after 30 s.
func (e *engine) stop(t *testing.T) {
	if e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- e.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Logf("dockerd (pid %d) did not stop in 30s; killing it", e.cmd.Process.Pid)
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tail is the last n lines of a log file, without gRPC's chatter.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.Contains(l, "module=grpc") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// result is what a command printed.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("err=%v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
}

// client runs commands with an isolated environment: its own HOME and
// DOCKER_CONFIG, the helper first on PATH, and the vault's passphrase.
type client struct {
	env []string
	dir string // its HOME
}

func (c *client) home() string { return c.dir }

func newClient(t *testing.T, dockerHost string) (*client, string) {
	t.Helper()
	home := t.TempDir()
	dockerConfig := filepath.Join(home, ".docker")
	c := &client{dir: home}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME" || k == "PATH" || k == "DOCKER_CONFIG" || k == "DOCKER_HOST" || k == "DOCKER_CONTEXT":
		case strings.HasPrefix(k, "OAT_") || strings.HasPrefix(k, "XDG_"):
		default:
			c.env = append(c.env, kv)
		}
	}
	c.env = append(c.env,
		"HOME="+home,
		"DOCKER_CONFIG="+dockerConfig,
		"DOCKER_HOST="+dockerHost,
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"OAT_HOME="+filepath.Join(home, "oat"),
		"OAT_PASSPHRASE=e2e passphrase, not a secret",
	)
	return c, dockerConfig
}

func (c *client) run(ctx context.Context, stdin string, name string, args ...string) result {
	path := name
	if p := filepath.Join(binDir, name); fileExists(p) {
		path = p // exec.Command looks names up on the test's PATH, not c.env's
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return result{stdout.String(), stderr.String(), err}
}

// must runs a command that must succeed.
func (c *client) must(t *testing.T, ctx context.Context, stdin, name string, args ...string) result {
	t.Helper()
	r := c.run(ctx, stdin, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %s", name, strings.Join(args, " "), r)
	}
	return r
}
