package main

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// helperEnv is the environment of the helper and the proxy for one vault
// under dir.
func helperEnv(dir string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OAT_") || k == "HOME" || k == "DOCKER_CONFIG" || k == "SSL_CERT_FILE" || k == "SSL_CERT_DIR" || strings.HasSuffix(strings.ToUpper(k), "_PROXY") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir, "DOCKER_CONFIG="+filepath.Join(dir, ".docker"), "OAT_HOME="+filepath.Join(dir, "oat"),
		"OAT_PASSPHRASE=bench passphrase, not a secret", "OAT_QUIET=1")
}

func runHelper(bin string, env []string, stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(bin, "docker-credential-oat"), args...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker-credential-oat %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// vault makes a vault under dir holding tokens of org acme; each token's
// secret on stdin, its scopes as flags.
func vault(bin, dir string, tokens []vaultToken) ([]string, error) {
	env := helperEnv(dir)
	if _, err := runHelper(bin, env, "", "setup"); err != nil {
		return nil, err
	}
	for i, t := range tokens {
		args := append([]string{"token", "add", "--org", "acme", "--label", t.label}, t.flags...)
		if _, err := runHelper(bin, env, t.secret, args...); err != nil {
			return nil, err
		}
		if i == 0 && len(tokens) > 1 {
			// The rest without the vault's KDF each time.
			if _, err := runHelper(bin, env, "", "unlock", "--for", "30m"); err != nil {
				return nil, err
			}
			defer runHelper(bin, env, "", "lock") //nolint:errcheck
		}
	}
	return env, nil
}

type vaultToken struct {
	label, secret string
	flags         []string
}

// proxyProc is a running oat-proxy.
type proxyProc struct {
	cmd   *exec.Cmd
	addr  string // its listener, host:port
	admin string // its admin listener
	roots string // a bundle of its CA and the hub's, for clients
	audit string
}

func (p *proxyProc) pid() int { return p.cmd.Process.Pid }

// startProxy starts oat-proxy serve for the vault env names, dialling hub
// for Docker Hub's hosts, with the audit log to a file in dir.
func startProxy(bin, dir string, env []string, h *hubtest.Hub, hubCA string, flags ...string) (*proxyProc, error) {
	cmdCA := exec.Command(filepath.Join(bin, "oat-proxy"), "ca")
	cmdCA.Env = env
	out, err := cmdCA.Output()
	if err != nil {
		return nil, fmt.Errorf("oat-proxy ca: %w", err)
	}
	caPEM, err := os.ReadFile(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, err
	}
	hubPEM, err := os.ReadFile(hubCA)
	if err != nil {
		return nil, err
	}
	p := &proxyProc{addr: freeAddr(), admin: freeAddr(), roots: filepath.Join(dir, "clients.pem"), audit: filepath.Join(dir, "audit.jsonl")}
	if err := os.WriteFile(p.roots, append(caPEM, hubPEM...), 0o644); err != nil {
		return nil, err
	}
	args := []string{"serve", "--listen", p.addr, "--audit-log", p.audit, "--admin-listen", p.admin}
	for _, name := range append(append([]string{}, hub.APIHosts...), hub.CloudflareBlobHost) {
		args = append(args, "--upstream", name+"="+h.Addr())
	}
	p.cmd = exec.Command(filepath.Join(bin, "oat-proxy"), append(args, flags...)...)
	p.cmd.Env = append(env, "SSL_CERT_FILE="+hubCA)
	logf, err := os.Create(filepath.Join(dir, "oat-proxy.log"))
	if err != nil {
		return nil, err
	}
	p.cmd.Stderr = logf
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTPS_PROXY=") {
		p.stop()
		log, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("oat-proxy did not start: %q %v: %s", line, err, log)
	}
	go io.Copy(io.Discard, stdout) //nolint:errcheck
	return p, nil
}

func (p *proxyProc) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		_ = p.cmd.Wait()
	}
}

// goroutines is the proxy's go_goroutines from its /metrics.
func (p *proxyProc) goroutines() (int, error) { return goroutinesAt(p.admin) }

// goroutinesAt is go_goroutines from the /metrics at addr.
func goroutinesAt(addr string) (int, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("no go_goroutines in /metrics")
}

//go:embed mitm_addon.py
var mitmAddon []byte

// mitmProc is a running mitmdump.
type mitmProc struct {
	cmd   *exec.Cmd
	addr  string
	roots string // its CA, for clients
}

// startMitmdump starts mitmproxy's mitmdump on loopback, streaming
// bodies, trusting the hub's CA upstream and dialling the hub for Docker
// Hub's names and its CDN host.
func startMitmdump(dir string, h *hubtest.Hub, hubCA string) (*mitmProc, error) {
	exe, err := exec.LookPath("mitmdump")
	if err != nil {
		return nil, errors.New("mitmdump is not installed (Debian's mitmproxy: scripts/install-e2e-deps as root)")
	}
	addon := filepath.Join(dir, "addon.py")
	if err := os.WriteFile(addon, mitmAddon, 0o644); err != nil {
		return nil, err
	}
	addr := freeAddr()
	host, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mitmproxy")
	m := &mitmProc{addr: addr, roots: filepath.Join(conf, "mitmproxy-ca-cert.pem")}
	m.cmd = exec.Command(exe, "-q", "--listen-host", host, "--listen-port", port,
		"--set", "confdir="+conf, "--set", "stream_large_bodies=1", "--set", "ssl_verify_upstream_trusted_ca="+hubCA, "-s", addon)
	m.cmd.Env = append(os.Environ(), "OAT_BENCH_HUB="+h.Addr(), "OAT_BENCH_NAMES="+strings.Join(append(append([]string{}, hub.APIHosts...), hub.CloudflareBlobHost), ","))
	logf, err := os.Create(filepath.Join(dir, "mitmdump.log"))
	if err != nil {
		return nil, err
	}
	m.cmd.Stdout, m.cmd.Stderr = logf, logf
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			if _, err := os.Stat(m.roots); err == nil {
				return m, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.stop()
	log, _ := os.ReadFile(logf.Name())
	return nil, fmt.Errorf("mitmdump did not start: %s", log)
}

func (m *mitmProc) pid() int { return m.cmd.Process.Pid }

func (m *mitmProc) stop() {
	if m.cmd.Process != nil {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		_ = m.cmd.Wait()
	}
}

// haproxyProc is a running HAProxy.
type haproxyProc struct {
	cmd  *exec.Cmd
	addr string // its listener, host:port
	done chan struct{}
}

func (p *haproxyProc) pid() int { return p.cmd.Process.Pid }

// haproxyConfig is HAProxy's configuration for the bench: in the
// foreground (no daemon), TCP only, splice on; one listener passing every
// connection to the hub. splice-auto alone leaves a pull's bytes in user
// space on loopback (HAProxy splices only when it judges it worth it), so
// splicing is asked for both ways: HAProxy at its cheapest, as oat-proxy's
// tunnels splice.
const haproxyConfig = `global
	maxconn 4096

defaults
	mode tcp
	option splice-auto
	option splice-request
	option splice-response
	timeout connect 10s
	timeout client 10m
	timeout server 10m

listen hub
	bind %s
	server hub %s
`

// startHAProxy starts Debian's haproxy on loopback in front of hub, its
// configuration in dir, in the foreground as a process of the bench.
func startHAProxy(dir string, h *hubtest.Hub) (*haproxyProc, error) {
	exe, err := exec.LookPath("haproxy")
	if err != nil {
		exe = "/usr/sbin/haproxy" // not on a user's PATH
		if _, err := os.Stat(exe); err != nil {
			return nil, errors.New("haproxy is not installed (Debian's haproxy: scripts/install-e2e-deps as root)")
		}
	}
	p := &haproxyProc{addr: freeAddr(), done: make(chan struct{})}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, haproxyConfig, p.addr, h.Addr()), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = exec.Command(exe, "-f", cfg, "-db")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			log, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("haproxy did not start: %s", log)
		default:
		}
		if c, err := net.Dial("tcp", p.addr); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	log, _ := os.ReadFile(logf.Name())
	return nil, fmt.Errorf("haproxy did not start: %s", log)
}

func (p *haproxyProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
}

// freeAddr is a loopback address with a port free now.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// status is a field of /proc/PID/status, in KiB.
func status(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// resetPeak resets a process's VmHWM to its current RSS.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// cpuTime is the CPU time process pid has used, to the nanosecond: the
// process's CPU clock (clock_getcpuclockid(3)), all its threads, those
// gone too. Where that clock cannot be read, /proc/PID/stat's user and
// system time, in clock ticks. 0 for pid 0.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	var ts unix.Timespec
	if unix.ClockGettime(int32(^pid<<3|2), &ts) == nil { // CPUCLOCK_SCHED of the process
		return time.Duration(ts.Nano())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's closing parenthesis; utime and stime
	// are the 14th and 15th of the line, in clock ticks (100 a second).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}
