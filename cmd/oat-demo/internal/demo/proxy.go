package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// refusal is what the proxy's sentence says of the demo's push.
const refusal = `may not push to acme/app`

// auditLog is oat-proxy's audit log, in the demo's directory.
const auditLog = "audit.jsonl"

// useNetwork points the demo's commands at a proxy (oat-proxy, or the
// relay that stands for the network) and a CA bundle, and prints the
// export a person would type.
func (d *demo) useNetwork(addr, caFile, why string) {
	d.env["HTTPS_PROXY"] = "http://" + addr
	d.env["SSL_CERT_FILE"] = caFile
	fmt.Fprintf(d.out, "$ export HTTPS_PROXY=http://%s SSL_CERT_FILE=%s   # %s\n", addr, d.scrub(caFile), why)
}

// login starts the relay that stands for the network and logs in with the
// client, which hands the token to the helper (credHelpers).
func (d *demo) login(ctx context.Context, hub *hubtest.Hub, hubCA string) error {
	r, err := startRelay(hub.Addr(), func(target string) bool {
		host, port, ok := strings.Cut(target, ":")
		return ok && port == "443" && slices.Contains(append(slices.Clone(hubpkg.APIHosts), hubpkg.CloudflareBlobHost), strings.ToLower(host))
	})
	if err != nil {
		return err
	}
	d.stop = append(d.stop, r.Close)
	d.relay = r
	d.useNetwork(r.Addr(), hubCA, "the demo's network: Docker Hub's names lead to the stand-in hub, TLS end to end")
	if _, err := d.shIn(ctx, d.secret, `printf '%s' "$ACME_OAT" | `, d.client.login...); err != nil {
		return fmt.Errorf("%s login: %w", d.client.name, err)
	}
	return nil
}

// throughProxy starts oat-proxy in front of the stand-in hub, pulls through
// it and is refused the push, checking that the hub never saw it.
func (d *demo) throughProxy(ctx context.Context, hub *hubtest.Hub, hubCA string) error {
	d.step("Through oat-proxy: the pull is in the token's scopes, the push is not")
	addr, caFile, err := d.startProxy(ctx, hub, hubCA)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	// Clients trust the proxy's CA for the hosts it intercepts and the
	// hub's for its CDN host, which the proxy tunnels untouched.
	bundle := filepath.Join(d.home, "clients-ca.pem")
	if err := os.WriteFile(bundle, append(pem, hub.CACertPEM()...), 0o644); err != nil {
		return err
	}
	d.useNetwork(addr, bundle, "oat-proxy, and its CA (with the hub's, for the CDN host it tunnels)")

	if _, err := d.sh(ctx, "", d.client.pull...); err != nil {
		return fmt.Errorf("the pull through oat-proxy failed: %w", err)
	}
	d.say("allowed: %s pulled through oat-proxy", image)
	if d.client.prepare != nil {
		if _, err := d.sh(ctx, "", d.client.prepare...); err != nil {
			return err
		}
	}
	before := len(hub.Requests())
	out, err := d.sh(ctx, "", d.client.push...)
	if err == nil {
		return errors.New("oat-proxy let the out-of-scope push through")
	}
	if !strings.Contains(out, refusal) {
		return fmt.Errorf("the push through oat-proxy failed without the proxy's sentence (%q)", refusal)
	}
	if n := pushesSeen(hub.Requests()[before:]); n > 0 {
		return fmt.Errorf("the stand-in hub saw %d requests of the refused push", n)
	}
	d.say("refused by oat-proxy in the push's first request, with a sentence: the hub's log shows no request of it")
	line, err := deniedLine(filepath.Join(d.home, auditLog))
	if err != nil {
		return err
	}
	d.say("oat-proxy's audit log (%s), the refusal:", auditLog)
	fmt.Fprintf(d.out, "  %s\n", d.scrub(line))
	return nil
}

// withoutProxy makes the same push straight to the hub, for the contrast:
// the client prints the hub's own error.
func (d *demo) withoutProxy(ctx context.Context, hub *hubtest.Hub, hubCA string) error {
	d.step("The same push without oat-proxy: what Docker Hub itself answers")
	proxy, proxyCA := d.env["HTTPS_PROXY"], d.env["SSL_CERT_FILE"]
	d.useNetwork(d.relay.Addr(), hubCA, "the demo's network again, no oat-proxy")
	before := len(hub.Requests())
	out, err := d.sh(ctx, "", d.client.push...)
	if err == nil {
		return errors.New("the stand-in hub accepted a push outside the token's scopes")
	}
	if strings.Contains(out, refusal) {
		return errors.New("the push without oat-proxy printed the proxy's sentence")
	}
	if pushesSeen(hub.Requests()[before:]) == 0 {
		return errors.New("the push without oat-proxy never reached the stand-in hub")
	}
	d.say("refused by the hub, after the client had asked it for push: no token, repository or scope named")

	d.step("docker-credential-oat doctor: what works here and what will not")
	d.useNetwork(strings.TrimPrefix(proxy, "http://"), proxyCA, "oat-proxy again")
	out, err = d.sh(ctx, "", "docker-credential-oat", "doctor")
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		return fmt.Errorf("doctor: %w", err)
	}
	if !strings.Contains(out, label) {
		return fmt.Errorf("doctor did not report the token %q", label)
	}
	if err != nil {
		d.say("(doctor exits 1 here: it finds no Docker Engine, which the demo does not need)")
	}
	return nil
}

// deniedLine is the audit log's first line of a denial. The proxy writes it
// before it answers, so it is there when the client has its refusal.
func deniedLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.Contains(l, `"denied"`) {
			return l, nil
		}
	}
	return "", fmt.Errorf("%s holds no denial", path)
}

// pushesSeen counts the requests in log that asked for, or needed, push on
// the demo's repository.
func pushesSeen(log []hubtest.Request) int {
	n := 0
	for _, r := range log {
		for _, s := range append(slices.Clone(r.Asked), r.Needs...) {
			if strings.HasPrefix(s, "repository:acme/app:") && strings.Contains(s, "push") {
				n++
				break
			}
		}
	}
	return n
}

// startProxy runs the built oat-proxy on a free loopback port, dialing the
// stand-in hub for Docker Hub's names and trusting its CA upstream, and
// returns its address and the path of its CA.
func (d *demo) startProxy(ctx context.Context, hub *hubtest.Hub, hubCA string) (addr, caFile string, err error) {
	bin := filepath.Join(d.bin, "oat-proxy")
	env := append(d.environ(), "SSL_CERT_FILE="+hubCA, "HTTPS_PROXY=", "https_proxy=")
	ca := exec.CommandContext(ctx, bin, "ca")
	ca.Env = env
	out, err := ca.Output()
	if err != nil {
		return "", "", fmt.Errorf("oat-proxy ca: %w", err)
	}
	caFile = strings.TrimSpace(string(out))
	fmt.Fprintf(d.out, "$ oat-proxy ca\n  %s\n", d.scrub(caFile))

	args := []string{"serve", "--listen", "127.0.0.1:0", "--deny-other-hosts", "--audit-log", auditLog}
	shown := "$ oat-proxy serve --listen 127.0.0.1:0 --deny-other-hosts --audit-log " + auditLog + " \\\n"
	for _, h := range append(slices.Clone(hubpkg.APIHosts), hubpkg.CloudflareBlobHost) {
		args = append(args, "--upstream", h+"="+hub.Addr())
		shown += fmt.Sprintf("    --upstream %s=%s \\\n", h, hub.Addr())
	}
	fmt.Fprint(d.out, strings.TrimSuffix(shown, " \\\n")+" &   # the stand-in hub for Docker Hub's names\n")
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = d.home
	logFile, err := os.Create(filepath.Join(d.home, "oat-proxy.log"))
	if err != nil {
		return "", "", err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", err
	}
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	d.stop = append(d.stop, func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTPS_PROXY=http://") {
		log, _ := os.ReadFile(logFile.Name())
		return "", "", fmt.Errorf("oat-proxy did not start: %q %v\n%s", line, err, log)
	}
	addr = strings.TrimSpace(strings.TrimPrefix(line, "HTTPS_PROXY=http://"))
	fmt.Fprintf(d.out, "  %s", line)
	return addr, caFile, nil
}
