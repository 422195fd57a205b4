//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/proxy"
	"github.com/oatkit/oat/internal/proxyauth"
)

const (
	fleetBalancer  = "127.0.0.1:3140"
	fleetPassphase = "the fleet's exported vault passphrase, e2e"
)

// replica is one oat-proxy serve process of a fleet.
type replica struct {
	name, addr, audit, log string
	cmd                    *exec.Cmd
	done                   chan struct{}
}

// startReplica runs oat-proxy serve as a fleet replica: the exported vault
// read-only, the CA (and with --inject among extra, the proxy secret) of
// c's configuration directory, shared, JSON logs. It is stopped by PID when the test
// ends, unless it was already.
func startReplica(t *testing.T, c *client, name, addr, vault, passFile, hubCA string, extra ...string) *replica {
	t.Helper()
	dir := t.TempDir()
	r := &replica{name: name, addr: addr, audit: filepath.Join(dir, "audit.jsonl"), log: filepath.Join(dir, "oat-proxy.log"), done: make(chan struct{})}
	args := append([]string{"serve", "--listen", addr, "--vault", vault, "--audit-log", r.audit, "--log-format", "json"}, extra...)
	r.cmd = exec.Command(filepath.Join(binDir, "oat-proxy"), args...)
	r.cmd.Env = c.with("SSL_CERT_FILE="+hubCA, "OAT_PASSPHRASE=", "OAT_PASSPHRASE_FILE="+passFile, "OAT_CACHE=off").env
	logf, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = logf
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.stop(syscall.SIGTERM, 30*time.Second)
		logf.Close()
		if t.Failed() {
			t.Logf("replica %s log:\n%s", name, tail(r.log, 30))
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTPS_PROXY=") {
		t.Fatalf("replica %s did not start: %q %v\n%s", name, line, err, tail(r.log, 20))
	}
	return r
}

// stop signals the replica by its PID and waits for it, killing it after d.
func (r *replica) stop(sig syscall.Signal, d time.Duration) {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(d):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// startBalancer runs Debian's haproxy in TCP mode, round-robin over addrs,
// on listen; it is stopped by PID when the test ends.
func startBalancer(t *testing.T, listen string, addrs ...string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 2000
defaults
  mode tcp
  timeout connect 2s
  timeout client 5m
  timeout server 5m
  retries 3
  option redispatch
frontend fleet
  bind %s
  default_backend replicas
backend replicas
  balance roundrobin
`, listen)
	for i, a := range addrs {
		fmt.Fprintf(&b, "  server r%d %s check inter 300ms fall 1 rise 2\n", i, a)
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "haproxy.log")
	startDaemon(t, logFile, "haproxy", "-db", "-f", cfg)
	waitListening(t, listen, logFile)
}

// exportFleet writes what a fleet's Secrets hold from c's store: the
// exported vault and its passphrase file. The replicas share c's
// configuration directory's CA and proxy secret (made here), as the
// chart's replicas share their Secrets. bundle is what clients trust: the
// proxy's CA and the hub's (for its CDN host, through a plain tunnel).
func exportFleet(t *testing.T, ctx context.Context, c *client, hubCA string) (vault, passFile, secret, bundle string) {
	t.Helper()
	passFile = filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(passFile, []byte(fleetPassphase), 0o600); err != nil {
		t.Fatal(err)
	}
	vault = filepath.Join(t.TempDir(), "oat.vault")
	c.with("OAT_EXPORT_PASSPHRASE_FILE="+passFile).must(t, ctx, "", helperName, "token", "export", "--vault", vault)
	caFile := strings.TrimSpace(c.must(t, ctx, "", "oat-proxy", "ca").stdout)
	secret, _, err := proxyauth.LoadOrCreate(filepath.Dir(caFile))
	if err != nil {
		t.Fatal(err)
	}
	bundle = filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(bundle, []byte(readFile(t, caFile)+readFile(t, hubCA)), 0o644); err != nil {
		t.Fatal(err)
	}
	return vault, passFile, secret, bundle
}

// auditLine is what the fleet test reads of an audit line.
type auditLine struct {
	Host, Method, Path, Kind, Decision, Reason string
	Label                                      string `json:"token_label"`
	Upstream                                   int    `json:"upstream_status"`
}

func readAudit(t *testing.T, path string) []auditLine {
	t.Helper()
	var out []auditLine
	for _, l := range strings.Split(strings.TrimSpace(readFile(t, path)), "\n") {
		if l == "" {
			continue
		}
		var e auditLine
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// TestFleetBehindBalancer: two oat-proxy replicas with injection from the
// same read-only vault, behind haproxy in round-robin (TCP: clients speak
// CONNECT to the balancer). 200 crane pulls and 20 pushes finish without a
// failure; then one replica is killed in the middle of a run and clients
// retrying through the balancer finish. Nothing out of scope reaches the
// hub, and the two audit logs together account for every request the hub
// saw. It prints the token round trips per pull, through one replica and
// through the fleet: a bearer issued through one replica and used through
// the other is challenged there and fetched again.
func TestFleetBehindBalancer(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h, hubCA := startHub(t, ctx,
		hubtest.Token{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
		hubtest.Token{Org: "acme", Label: "release", Secret: releaseSecret, Pull: []string{"acme/*"}, Push: []string{"acme/app"}},
	)
	for _, repo := range []string{"acme/app", "acme/base"} {
		if _, err := h.Seed(ctx, repo, "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	fleetStart := len(h.Requests()) // the seeding is the hub's own
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app")
	base.must(t, ctx, releaseSecret, helperName, "token", "add", "--org", "acme", "--label", "release", "--push", "acme/app", "--pull", "acme/*")
	vault, passFile, _, bundle := exportFleet(t, ctx, base, hubCA)
	// The replicas take the proxy secret from one mounted file (the
	// chart's Secret, 0440), not the one in the configuration directory.
	secret := proxyauth.New()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret), 0o440); err != nil {
		t.Fatal(err)
	}

	a := startReplica(t, base, "a", "127.0.0.1:3141", vault, passFile, hubCA, "--inject", "--proxy-secret-file", secretFile)
	b := startReplica(t, base, "b", "127.0.0.1:3142", vault, passFile, hubCA, "--inject", "--proxy-secret-file", secretFile)
	startBalancer(t, fleetBalancer, a.addr, b.addr)
	// No docker config, no credentials: the replicas inject.
	via := func(addr string) *client {
		u := proxyauth.URL(addr, secret)
		return base.with("DOCKER_CONFIG="+t.TempDir(), "HTTPS_PROXY="+u, "https_proxy="+u, "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+bundle)
	}
	fleet := via(fleetBalancer)
	out := t.TempDir()
	pull := func(c *client, i int) result {
		return c.run(ctx, "", "crane", "pull", "acme/app:1.0", filepath.Join(out, fmt.Sprintf("app-%d.tar", i)))
	}
	tokenRequests := func(since int) int {
		n := 0
		for _, r := range h.Requests()[since:] {
			if strings.HasPrefix(r.Host, hub.AuthHost) {
				n++
			}
		}
		return n
	}

	// The cost: token round trips to the hub per pull, through one
	// replica alone and through the balancer.
	const costPulls = 10
	since := len(h.Requests())
	for i := range costPulls {
		if r := pull(via(a.addr), 1000+i); r.err != nil {
			t.Fatalf("pull through one replica: %s", r)
		}
	}
	one := float64(tokenRequests(since)) / costPulls

	// runAll runs n jobs on workers, each retried up to retries times,
	// and returns the failures after the last try and the retries used.
	runAll := func(n, workers, tries int, job func(i int) result) (failed []string, retried int64) {
		var (
			mu   sync.Mutex
			next atomic.Int64
			wg   sync.WaitGroup
			rt   atomic.Int64
		)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					var r result
					for try := range tries {
						if try > 0 {
							rt.Add(1)
							time.Sleep(200 * time.Millisecond)
						}
						if r = job(i); r.err == nil {
							break
						}
					}
					if r.err != nil {
						mu.Lock()
						failed = append(failed, fmt.Sprintf("job %d: %s", i, r))
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		return failed, rt.Load()
	}

	since = len(h.Requests())
	const pulls, pushes = 200, 20
	failed, _ := runAll(pulls, 4, 1, func(i int) result { return pull(fleet, i) })
	if len(failed) > 0 {
		t.Fatalf("%d of %d pulls through the fleet failed; the first:\n%s", len(failed), pulls, failed[0])
	}
	perPull := float64(tokenRequests(since)) / pulls
	failed, _ = runAll(pushes, 4, 1, func(i int) result {
		return fleet.run(ctx, "", "crane", "copy", "acme/app:1.0", fmt.Sprintf("acme/app:fleet-%d", i))
	})
	if len(failed) > 0 {
		t.Fatalf("%d of %d pushes through the fleet failed; the first:\n%s", len(failed), pushes, failed[0])
	}
	reissued := 0
	for _, r := range []*replica{a, b} {
		for _, e := range readAudit(t, r.audit) {
			if e.Decision == "injected" && e.Kind == "registry" && strings.Contains(e.Reason, "did not see issued") {
				reissued++
			}
		}
	}
	t.Logf("token round trips to the hub per crane pull: %.2f through one replica, %.2f through 2 replicas round-robin (%d pulls); registry requests sent with a replica's own bearer (the client's came from the other): %d, %.2f per pull",
		one, perPull, pulls, reissued, float64(reissued)/pulls)

	// One replica killed (SIGKILL) in the middle of a run with pulls and
	// out-of-scope pushes: clients retry through the balancer and finish.
	const killRun = 80
	var finished atomic.Int64
	var killedAt, deadAt time.Time // SIGKILL sent; the process reaped
	var kill sync.Once
	failed, retried := runAll(killRun, 4, 4, func(i int) result {
		defer func() {
			if finished.Add(1) == killRun/3 {
				kill.Do(func() { killedAt = time.Now(); b.stop(syscall.SIGKILL, 10*time.Second); deadAt = time.Now() })
			}
		}()
		if i%10 == 9 {
			r := fleet.run(ctx, "", "crane", "copy", "acme/app:1.0", fmt.Sprintf("acme/base:fleet-%d", i))
			if r.err != nil && strings.Contains(r.stderr, "oat-proxy holds no usable token that may repository:acme/base:") {
				r.err = nil // refused, as it must be
			} else if r.err == nil {
				r.err = fmt.Errorf("a push to acme/base succeeded")
			}
			return r
		}
		return pull(fleet, i)
	})
	if len(failed) > 0 {
		t.Fatalf("%d of %d jobs failed after retries with a replica killed; the first:\n%s", len(failed), killRun, failed[0])
	}
	if killedAt.IsZero() {
		t.Fatal("the replica was never killed")
	}
	t.Logf("replica b killed after %d of %d jobs; %d retries through the balancer", killRun/3, killRun, retried)

	// Nothing out of scope reached the hub: every token request asked only
	// what its token's record allows, every registry request needed only
	// that, and nothing touched acme/base but pulls.
	allowed := map[string][]string{
		"ci-pull": {"repository:acme/app:pull"},
		"release": {"repository:acme/app:pull", "repository:acme/app:push", "repository:acme/base:pull"},
	}
	within := func(label, scope string) bool {
		name, actions, _ := strings.Cut(strings.TrimPrefix(scope, "repository:"), ":")
		for _, act := range strings.Split(actions, ",") {
			if !slices.Contains(allowed[label], "repository:"+name+":"+act) {
				return false
			}
		}
		return true
	}
	var apiSeen []hubtest.Request
	for _, r := range h.Requests()[fleetStart:] {
		if strings.Split(r.Host, ":")[0] == hub.CloudflareBlobHost {
			continue // a signed blob URL, through a plain tunnel
		}
		apiSeen = append(apiSeen, r)
		for _, s := range append(slices.Clone(r.Asked), r.Needs...) {
			if !within(r.Label, s) {
				t.Errorf("out of scope at the hub: %s %s%s by %q needs %q", r.Method, r.Host, r.Path, r.Label, s)
			}
		}
	}

	// The two audit logs together account for every request the hub saw,
	// but those in flight to the killed replica when it died (it could not
	// write their lines): at most one per client.
	type key struct {
		method, host, path string
		status             int
	}
	// A replica writes a request's audit line once the request has ended,
	// which may be just after its client had all it needed: the lines are
	// read again for a moment when some are missing. The hub's requests and
	// the audit lines are counted by method, host, path and status (every
	// pull asks for the same manifest and blob): what the hub saw more of
	// than the logs have must have been in flight to the killed replica, so
	// seen around the kill as often.
	account := func() (unaccounted, missing []string) {
		sent := map[key]int{}
		for _, r := range []*replica{a, b} {
			for _, e := range readAudit(t, r.audit) {
				if e.Upstream != 0 {
					sent[key{e.Method, e.Host, e.Path, e.Upstream}]++
				}
			}
		}
		seen := map[key][]time.Time{}
		var keys []key
		for _, r := range apiSeen {
			k := key{r.Method, strings.Split(r.Host, ":")[0], r.Path, r.Status}
			if seen[k] == nil {
				keys = append(keys, k)
			}
			seen[k] = append(seen[k], r.Time)
		}
		for _, k := range keys {
			extra := len(seen[k]) - sent[k]
			if extra <= 0 {
				continue
			}
			near := 0
			for _, at := range seen[k] {
				if at.Before(deadAt) && at.After(killedAt.Add(-5*time.Second)) {
					near++
				}
			}
			for i := range extra {
				if i < near {
					unaccounted = append(unaccounted, fmt.Sprintf("%s %s%s %d (in flight at the kill)", k.method, k.host, k.path, k.status))
					continue
				}
				missing = append(missing, fmt.Sprintf("the hub saw %s %s%s (%d) %d times, the audit logs have %d, and %d of them were near the kill (replica b killed %s, reaped %s)",
					k.method, k.host, k.path, k.status, len(seen[k]), sent[k], near, killedAt.Format(time.StampMicro), deadAt.Format(time.StampMicro)))
				break
			}
		}
		return unaccounted, missing
	}
	unaccounted, missing := account()
	for i := 0; i < 20 && len(missing) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
		unaccounted, missing = account()
	}
	for _, m := range missing {
		t.Error(m)
	}
	if len(unaccounted) > 4 {
		t.Errorf("%d requests in flight at the kill unaccounted for, more than the 4 clients had: %q", len(unaccounted), unaccounted)
	}
	t.Logf("the hub saw %d requests on Docker Hub's API hosts; the audit logs account for all but %d in flight to the killed replica", len(apiSeen), len(unaccounted))

	// A measurement, for BENCHMARKS.md: replicas without injection, and
	// clients sending their own token (the helper's). A bearer from one
	// replica is challenged by the other; the client's token requests go on
	// its own connection, which the balancer may have given the first.
	const ownPulls = 40
	c := startReplica(t, base, "c", "127.0.0.1:3144", vault, passFile, hubCA)
	d := startReplica(t, base, "d", "127.0.0.1:3145", vault, passFile, hubCA)
	const plainBalancer = "127.0.0.1:3146"
	startBalancer(t, plainBalancer, c.addr, d.addr)
	base.must(t, ctx, "", helperName, "token", "default", "ci-pull")
	own := base.with("HTTPS_PROXY=http://"+plainBalancer, "https_proxy=", "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+bundle)
	since = len(h.Requests())
	failed, _ = runAll(ownPulls, 4, 1, func(i int) result { return pull(own, 2000+i) })
	challenged := 0
	for _, r := range []*replica{c, d} {
		for _, e := range readAudit(t, r.audit) {
			if e.Decision == "challenged" && strings.Contains(e.Reason, "did not see issued") {
				challenged++
			}
		}
	}
	t.Logf("without injection, the client's own token, 2 replicas round-robin: %d of %d pulls failed; %.2f token round trips per pull; %.2f challenges of another replica's bearer per pull",
		len(failed), ownPulls, float64(tokenRequests(since))/ownPulls, float64(challenged)/ownPulls)
}

// TestGracefulShutdown: SIGTERM in the middle of a crane pull of a large
// layer through oat-proxy serve: the proxy stops accepting at once, the
// pull completes intact, and the process exits well within
// --shutdown-timeout — through a tunnel (the hub redirects the layer to its
// CDN host, as Docker Hub does) and through the intercepted path (a hub
// that serves it itself).
func TestGracefulShutdown(t *testing.T) {
	checkIsolated(t)
	for _, tt := range []struct {
		name   string
		direct bool
	}{
		{"tunnel", false},
		{"intercepted", true},
	} {
		t.Run(tt.name, func(t *testing.T) { shutdownMidPull(t, tt.direct) })
	}
}

func shutdownMidPull(t *testing.T, direct bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	h, hubCA := startHubWith(t, ctx, hubtest.Options{DirectBlobs: direct, Tokens: []hubtest.Token{
		{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/*"}},
	}})
	digest := seedBig(t, ctx, h, 48<<20)

	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, "", helperName, "setup")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/*")
	vault, passFile, secret, bundle := exportFleet(t, ctx, base, hubCA)
	const timeout = 20 * time.Second
	r := startReplica(t, base, "a", "127.0.0.1:3143", vault, passFile, hubCA, "--inject", "--shutdown-timeout", timeout.String())
	u := proxyauth.URL(r.addr, secret)
	c := base.with("DOCKER_CONFIG="+t.TempDir(), "HTTPS_PROXY="+u, "https_proxy="+u, "NO_PROXY=", "no_proxy=", "SSL_CERT_FILE="+bundle)

	// crane writes the layer to a pipe the test reads slowly: the pull
	// stays in flight, held back by the reader, as a slow disk would.
	cmd := exec.CommandContext(ctx, "crane", "blob", "registry-1.docker.io/acme/big@"+digest.String())
	cmd.Env = c.env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.New()
	buf := make([]byte, 256<<10)
	var got int64
	var signalled time.Time
	for {
		n, err := stdout.Read(buf)
		sum.Write(buf[:n])
		got += int64(n)
		if signalled.IsZero() && got >= 4<<20 {
			signalled = time.Now()
			if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// It stops accepting at once.
			deadline := time.Now().Add(2 * time.Second)
			for {
				conn, err := net.DialTimeout("tcp", r.addr, time.Second)
				if err != nil {
					break
				}
				conn.Close()
				if time.Now().After(deadline) {
					t.Error("the proxy still accepts connections 2s after SIGTERM")
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("crane blob, SIGTERM sent to the proxy after %d bytes: %v: %s", 4<<20, err, stderr.String())
	}
	pulled := time.Now()
	if want := "sha256:" + hex.EncodeToString(sum.Sum(nil)); want != digest.String() || got != 48<<20 {
		t.Fatalf("pulled %d bytes, %s; want %d bytes, %s", got, want, 48<<20, digest)
	}
	if pulled.Sub(signalled) < 500*time.Millisecond {
		t.Fatalf("the pull ended %v after SIGTERM: it was not in flight", pulled.Sub(signalled))
	}
	select {
	case <-r.done:
	case <-time.After(timeout):
		t.Fatalf("the proxy did not exit within --shutdown-timeout %v", timeout)
	}
	exited := time.Since(signalled)
	afterPull := time.Since(pulled)
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the proxy exited %d after SIGTERM, want 0", code)
	}
	if afterPull > proxy.TunnelQuiet+2*time.Second {
		t.Errorf("the proxy exited %v after the pull ended: it waited for idle connections", afterPull)
	}
	log := readFile(t, r.log)
	if !strings.Contains(log, `"msg":"oat-proxy stopped"`) || !strings.Contains(log, `"closed_in_flight":0`) {
		t.Errorf("no clean stop in the log:\n%s", log)
	}
	t.Logf("pull ended %v after SIGTERM; the proxy exited %v after SIGTERM", pulled.Sub(signalled).Round(time.Millisecond), exited.Round(time.Millisecond))
}
