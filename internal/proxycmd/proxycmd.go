// Package proxycmd is the oat-proxy command line.
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
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/keycache"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/proxy"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/version"
)

// Program is the proxy's executable name.
const Program = "oat-proxy"

// EnvListen is the listen address's environment variable.
const EnvListen = "OAT_PROXY_LISTEN"

// DefaultListen is where the proxy listens unless told otherwise.
const DefaultListen = "127.0.0.1:3128"

const usage = `Usage: oat-proxy <command> [arguments]

A local proxy for Docker Hub that checks every request against the scopes of
the organization access token in use, and refuses an out-of-scope one with a
sentence that names the token, the repository and the missing scope, before
anything reaches Docker Hub.

Commands:
  serve [--listen ADDR] [--audit-log FILE] [--upstream HOST=ADDR ...] [--deny-other-hosts]
                       run the proxy (default 127.0.0.1:3128, or $OAT_PROXY_LISTEN);
                       --deny-other-hosts refuses every host but Docker Hub's:
                       its API hosts and the blob hosts it redirects downloads to
  ca                   create the proxy's CA on first use and print its path
  version, --version   print the version
  help, --help         print this text

Clients use it with HTTPS_PROXY=http://127.0.0.1:3128 and trust the CA that
'oat-proxy ca' prints. Tokens come from docker-credential-oat's store (the
same OAT_PASSPHRASE, OAT_PASSPHRASE_FILE or terminal prompt).
`

// Main runs oat-proxy with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	keycache.Harden()
	c := &cli{ctx: ctx, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "-v", "--version", "version":
		fmt.Fprintf(stdout, "%s %s\n", Program, version.Version())
		return 0
	case "ca":
		return c.ca(args[1:])
	case "serve":
		return c.serve(args[1:])
	default:
		c.fail(fmt.Errorf("unknown command %q", args[0]), "run '"+Program+" --help' for the commands")
		return 2
	}
}

type cli struct {
	ctx            context.Context
	stdout, stderr io.Writer
	getenv         func(string) string
}

func (c *cli) fail(err error, hint string) {
	fmt.Fprintf(c.stderr, "%s: error: %s\n", Program, redact.String(err.Error()))
	if hint != "" {
		fmt.Fprintf(c.stderr, "%s: hint: %s\n", Program, hint)
	}
}

func (c *cli) loadCA() (*proxy.CA, bool, error) {
	dirs, err := paths.Resolve(c.getenv)
	if err != nil {
		return nil, false, err
	}
	return proxy.LoadOrCreateCA(dirs.Config)
}

func (c *cli) ca(args []string) int {
	if len(args) > 0 {
		c.fail(fmt.Errorf("unexpected argument %q", args[0]), "")
		return 2
	}
	ca, created, err := c.loadCA()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	if created {
		fmt.Fprintf(c.stderr, "%s: created a CA for %s (valid until %s)\n", Program, strings.Join(hub.APIHosts, ", "), ca.Cert.NotAfter.Format("2006-01-02"))
	}
	fmt.Fprintln(c.stdout, ca.CertPath)
	return 0
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

func (c *cli) serve(args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "")
	auditPath := fs.String("audit-log", "", "")
	deny := fs.Bool("deny-other-hosts", false, "")
	ups := upstreams{}
	fs.Var(ups, "upstream", "")
	if err := fs.Parse(args); err != nil {
		c.fail(err, "run '"+Program+" --help' for the flags")
		return 2
	}
	if fs.NArg() > 0 {
		c.fail(fmt.Errorf("unexpected argument %q", fs.Arg(0)), "")
		return 2
	}
	addr := *listen
	if addr == "" {
		addr = c.getenv(EnvListen)
	}
	if addr == "" {
		addr = DefaultListen
	}
	log := slog.New(redact.Handler(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	ca, _, err := c.loadCA()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	src, err := openTokens(c.getenv, log)
	if err != nil {
		c.fail(err, "")
		return 1
	}
	debug.FreeOSMemory() // the vault's KDF memory is not needed again
	var audit io.Writer
	if *auditPath != "" {
		f, err := os.OpenFile(*auditPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			c.fail(err, "")
			return 1
		}
		defer f.Close()
		audit = f
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.fail(err, "")
		return 1
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn("listening beyond loopback: anyone who can reach this address can use the proxy", "addr", ln.Addr().String())
	}
	p := proxy.New(proxy.Config{Tokens: src, CA: ca, Upstream: ups, DenyOtherHosts: *deny, Audit: audit, Log: log})
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			src.force()
			log.Info("reloading the token records (SIGHUP)")
		}
	}()

	log.Info("oat-proxy listening", "addr", ln.Addr().String(), "ca", ca.CertPath, "version", version.Version())
	fmt.Fprintf(c.stdout, "HTTPS_PROXY=http://%s\n", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		c.fail(err, "")
		return 1
	case <-c.ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
	}
	log.Info("oat-proxy stopped")
	return 0
}

// tokenSource reads the token records from the store, again when the vault
// file changes or on SIGHUP.
type tokenSource struct {
	store   *store.Store
	path    string
	modTime time.Time
	forced  chan struct{}
}

func openTokens(getenv func(string) string, log *slog.Logger) (*tokenSource, error) {
	s, err := store.Open(store.Config{Getenv: getenv, Logger: log})
	if err != nil {
		return nil, err
	}
	ts := &tokenSource{store: s, path: s.Location(), forced: make(chan struct{}, 1)}
	all, err := ts.Tokens()
	if err != nil {
		return nil, fmt.Errorf("read the token records: %w", err)
	}
	log.Info("token records read", "tokens", len(all), "store", s.Location())
	return ts, nil
}

// Tokens reads the records.
func (t *tokenSource) Tokens() ([]oat.Token, error) {
	if fi, err := os.Stat(t.path); err == nil {
		t.modTime = fi.ModTime()
	}
	return t.store.Tokens()
}

// Changed reports a changed vault file, or a SIGHUP.
func (t *tokenSource) Changed() bool {
	select {
	case <-t.forced:
		return true
	default:
	}
	fi, err := os.Stat(t.path)
	return err == nil && !fi.ModTime().Equal(t.modTime)
}

func (t *tokenSource) force() {
	select {
	case t.forced <- struct{}{}:
	default:
	}
}
