package proxycmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/metrics"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/proxy"
	"github.com/oatkit/oat/internal/proxyauth"
	"github.com/oatkit/oat/internal/version"
)

// EnvListen is the listen address's environment variable.
const EnvListen = "OAT_PROXY_LISTEN"

// DefaultListen is where the proxy listens unless told otherwise.
const DefaultListen = "127.0.0.1:3128"

// listenDefault is what the --listen flags say of the address when none is
// given: listenAddr's order.
const listenDefault = "(default " + DefaultListen + ", or $" + EnvListen + ")"

// DefaultShutdownTimeout is how long serve drains on SIGTERM: within
// Kubernetes' default termination grace period of 30 s, with time to spare
// for the process to exit.
const DefaultShutdownTimeout = 25 * time.Second

func (c *cli) serveCommand() *command.Command {
	return &command.Command{
		Name:  "serve",
		Short: "run the proxy",
		Long: `Runs the proxy until interrupted. It intercepts Docker Hub's API hosts,
checks each request against the scopes of the token whose secret the client
sent, refuses an out-of-scope one with a registry error before anything is
sent upstream, and tunnels every other host untouched. It prints
HTTPS_PROXY=… for clients on stdout and logs on stderr (with --log-output
stdout, on stdout after it; as JSON, stdout holds only JSON lines, the first
"oat-proxy listening" with https_proxy). SIGHUP reads the
token records again. SIGTERM or SIGINT stops it: it stops accepting, lets
requests and tunnels in flight finish for up to --shutdown-timeout, closes
the rest and exits.

It listens on loopback only, unless --allow-remote is given too; a Unix
socket (unix:PATH) is made 0600, for clients of the same user.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			var o serveOptions
			o.register(fs)
			fs.StringVar(&o.listen, "listen", "", "the `ADDR`ess to listen on: host:port, or unix:PATH "+listenDefault)
			fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow --listen on an address other hosts can reach")
			o.logFormat = logAuto
			fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", DefaultShutdownTimeout, "on SIGTERM or SIGINT, stop accepting and let requests and tunnels in flight finish for at most `DURATION`, then close the rest (within Kubernetes' default 30s grace period)")
			fs.Var(&o.logFormat, "log-format", "log as `FORMAT`: text, json (one object per line), or auto: json unless the log's stream is a terminal")
			o.logOutput = logStderr
			fs.Var(&o.logOutput, "log-output", "log on `STREAM`: stderr, or stdout (a container's log collector); as JSON, stdout then holds only JSON lines")
			o.fleet.register(fs)
			return func(args []string) error {
				if err := errors.Join(command.NoArgs(args), o.check()); err != nil {
					return err
				}
				return c.serve(o)
			}
		},
	}
}

// serveOptions are the flags serve and run share.
type serveOptions struct {
	listen, auditPath string
	deny, allowRemote bool
	inject, noAuth    bool
	maxConns          int
	upstreams         upstreams
	fleet             fleetOptions      // serve's only
	logFormat         logFormat         // serve's only
	logOutput         logOutput         // serve's only
	announce          func(addr string) // serve's HTTPS_PROXY= line, before the listening log line
	shutdownTimeout   time.Duration     // serve's only; run's proxy stops when CMD has
}

// check refuses flag values that make no sense.
func (o *serveOptions) check() error {
	if o.maxConns < 1 {
		return command.Usagef("--max-conns %d: give at least 1", o.maxConns)
	}
	if o.shutdownTimeout < 0 {
		return command.Usagef("--shutdown-timeout %v: give 0 or more", o.shutdownTimeout)
	}
	if o.fleet.secretFile != "" && (!o.inject || o.noAuth) {
		return command.Usagef("--proxy-secret-file is the secret --inject requires: give --inject, without --no-proxy-auth")
	}
	return nil
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.auditPath, "audit-log", "", "append one JSON line per decision to `FILE` (0600; SIGHUP reopens it)")
	fs.IntVar(&o.maxConns, "max-conns", proxy.DefaultMaxConns, "at most `N` client connections at once; a 503 past it")
	fs.BoolVar(&o.inject, "inject", false, "attach the least-privileged token that covers it to every token request that comes without credentials")
	fs.BoolVar(&o.noAuth, "no-proxy-auth", false, "with --inject, do not require the proxy secret (anyone who reaches the proxy borrows the tokens)")
	fs.BoolVar(&o.deny, "deny-other-hosts", false, "refuse CONNECT to every host but Docker Hub's (its API hosts, and the blob hosts it redirects downloads to) instead of tunnelling it")
	o.upstreams = upstreams{}
	fs.Var(o.upstreams, "upstream", "dial `HOST=ADDR` for HOST, keeping HOST for TLS and Host (repeatable; tests and mirrors)")
}

// upstreams is the repeatable --upstream HOST=ADDR flag.
type upstreams map[string]string

func (u upstreams) String() string { return fmt.Sprint(map[string]string(u)) }

func (u upstreams) Set(s string) error {
	host, addr, ok := strings.Cut(s, "=")
	if !ok || host == "" || addr == "" {
		return fmt.Errorf("--upstream %q: give HOST=ADDR, as in registry-1.docker.io=10.0.0.5:443", s)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("--upstream %q: ADDR must be host:port", s)
	}
	u[strings.ToLower(host)] = addr
	return nil
}

// listenAddr is where serve listens: --listen, $OAT_PROXY_LISTEN, the
// default.
func (c *cli) listenAddr(flagValue string) string {
	for _, a := range []string{flagValue, c.Getenv(EnvListen)} {
		if a != "" {
			return a
		}
	}
	return DefaultListen
}

func (c *cli) serve(o serveOptions) error {
	logw := c.Stderr
	if o.logOutput == logStdout {
		logw = c.Stdout
	}
	log := newLogger(logw, o.logFormat, slog.LevelInfo)
	// Stdout that is the JSON log holds nothing else: the address is in
	// the listening line.
	jsonStdout := o.logOutput == logStdout && isJSON(logw, o.logFormat)
	var secret string
	switch {
	case o.inject && o.noAuth:
		log.Warn("--inject with --no-proxy-auth: anyone who can reach the proxy uses the organization's tokens")
	case o.inject && o.fleet.secretFile != "":
		var err error
		if secret, err = proxyauth.LoadFile(o.fleet.secretFile, true); err != nil {
			return err
		}
	case o.inject:
		dirs, err := paths.Resolve(c.Getenv)
		if err != nil {
			return err
		}
		var created bool
		if secret, created, err = proxyauth.LoadOrCreate(dirs.Config); err != nil {
			return err
		}
		if created {
			log.Info("made the proxy secret clients must send; eval \"$(oat-proxy env)\" sets HTTPS_PROXY with it", "file", filepath.Join(dirs.Config, proxyauth.File))
		}
	}
	if !jsonStdout {
		// Printed before the listening line, so that it is stdout's first.
		o.announce = func(addr string) { fmt.Fprintf(c.Stdout, "%s=%s\n", envHTTPSProxy, proxyauth.URL(addr, "")) }
	}
	inst, err := c.start(o, c.listenAddr(o.listen), secret, log)
	if err != nil {
		return err
	}
	select {
	case err := <-inst.errc:
		inst.stop(0)
		return err
	case <-c.ctx.Done():
	}
	inst.stop(o.shutdownTimeout)
	return nil
}

// instance is a running proxy.
type instance struct {
	addr    string
	srv     *http.Server
	proxy   *proxy.Proxy
	errc    chan error
	log     *slog.Logger
	done    []func()
	metrics *metrics.Metrics // with --admin-listen

	// adminAddr is where the admin listener listens ("" if none).
	adminAddr string
	// draining is set once stop begins: /readyz fails from then on.
	draining atomic.Bool
}

// start opens everything the proxy needs and serves on addr; with a
// secret, every client must send it (Proxy-Authorization).
func (c *cli) start(o serveOptions, addr, secret string, log *slog.Logger) (_ *instance, err error) {
	inst := &instance{log: log, errc: make(chan error, 1)}
	defer func() {
		if err != nil {
			inst.release()
		}
	}()
	ca, err := c.loadServeCA(o, inst)
	if err != nil {
		return nil, err
	}
	src, err := c.openTokenSource(o, log)
	if err != nil {
		return nil, err
	}
	debug.FreeOSMemory() // the vault's KDF memory is not needed again
	if o.maxConns == 0 { // not from the command line: the default
		o.maxConns = proxy.DefaultMaxConns
	}
	var (
		audit     io.Writer
		auditFile *proxy.AuditFile
	)
	if o.auditPath != "" {
		f, err := proxy.OpenAuditFile(o.auditPath)
		if err != nil {
			return nil, err
		}
		inst.done = append(inst.done, func() { f.Close() })
		audit, auditFile = f, f
	}
	ln, err := listen(addr, o.allowRemote)
	if err != nil {
		return nil, err
	}
	inst.addr = ln.Addr().String()
	if ln, err = c.startAdmin(o, inst, ln, src, ca); err != nil {
		return nil, err
	}
	p := proxy.New(proxy.Config{Tokens: src.forProxy(), CA: ca, Upstream: o.upstreams, DenyOtherHosts: o.deny, Inject: o.inject,
		Limits: proxy.Limits{MaxConns: o.maxConns}, Audit: audit, Log: log, Metrics: inst.recorder()})
	inst.srv, inst.proxy = p.Server(), p
	inst.srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	if secret != "" {
		inst.srv.Handler = proxyauth.Require(secret, inst.srv.Handler)
	}

	hup := c.Reload
	if hup == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		inst.done = append(inst.done, func() { signal.Stop(ch) })
		hup = ch
	}
	go onHangup(hup, src, auditFile, log, func() { c.desktopChecks(log) })
	if o.announce != nil {
		o.announce(inst.addr)
	}
	log.Info("oat-proxy listening", "addr", inst.addr, "https_proxy", "http://"+inst.addr, "ca", ca.CertPath, "version", version.Version())
	c.desktopChecks(log)
	go func() { inst.errc <- inst.srv.Serve(p.Listener(ln)) }()
	return inst, nil
}

// listen listens on addr: unix:PATH (0600), or host:port, which must be
// loopback unless allowRemote.
func listen(addr string, allowRemote bool) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path) // a socket left by an earlier run
		}
		restore := privateUmask()
		ln, err := net.Listen("unix", path)
		restore()
		if err != nil {
			return nil, err
		}
		return ln, os.Chmod(path, 0o600)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, command.Usagef("--listen %q: give host:port or unix:PATH", addr)
	}
	if !allowRemote && !isLoopback(host) {
		return nil, command.WithHint(fmt.Errorf("refusing to listen on %s: other hosts could reach it", addr),
			"listen on 127.0.0.1 or ::1 (the default), on unix:PATH, or add --allow-remote if other hosts must use this proxy")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return ln, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// recorder is what counts the proxy's decisions: the metrics /metrics
// serves, or nothing.
func (i *instance) recorder() proxy.Recorder {
	if i.metrics == nil {
		return nil
	}
	return i.metrics
}

// stop shuts the proxy down: it stops accepting, lets requests and
// tunnels in flight finish for at most timeout (a second if zero), then
// closes what is left.
func (i *instance) stop(timeout time.Duration) {
	if timeout <= 0 {
		timeout = time.Second
	}
	i.draining.Store(true)
	start := time.Now()
	shutdown, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if open := i.proxy.Open(); open > 0 {
		i.log.Info("oat-proxy stopping: letting what is in flight finish", "connections", open, "timeout", timeout.String())
	}
	if err := i.srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = i.srv.Close()
	}
	forced, _ := i.proxy.Shutdown(shutdown)
	i.release()
	i.log.Info("oat-proxy stopped", "after", time.Since(start).Round(time.Millisecond).String(), "closed_in_flight", forced)
}

func (i *instance) release() {
	for _, f := range i.done {
		f()
	}
	i.done = nil
}

// onHangup reads the token records again, runs checks (if any) and
// reopens the audit log (so that logrotate works) on every SIGHUP, until
// hup is closed.
func onHangup(hup <-chan os.Signal, src *tokenSource, audit *proxy.AuditFile, log *slog.Logger, checks func()) {
	for range hup {
		src.force()
		log.Info("reloading the token records (SIGHUP)")
		if checks != nil {
			checks()
		}
		if audit == nil {
			continue
		}
		if err := audit.Reopen(); err != nil {
			log.Error("cannot reopen the audit log: lines go to the old file", "error", err)
		}
	}
}
