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
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/proxy"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/version"
)

// EnvListen is the listen address's environment variable.
const EnvListen = "OAT_PROXY_LISTEN"

// DefaultListen is where the proxy listens unless told otherwise.
const DefaultListen = "127.0.0.1:3128"

func (c *cli) serveCommand() *command.Command {
	return &command.Command{
		Name:  "serve",
		Short: "run the proxy",
		Long: `Runs the proxy until interrupted. It intercepts Docker Hub's API hosts,
checks each request against the scopes of the token whose secret the client
sent, refuses an out-of-scope one with a registry error before anything is
sent upstream, and tunnels every other host untouched. It prints
HTTPS_PROXY=… for clients on stdout. SIGHUP reads the token records again.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			var o serveOptions
			fs.StringVar(&o.listen, "listen", "", "the `ADDR`ess to listen on, host:port (default "+DefaultListen+", or $"+EnvListen+")")
			fs.StringVar(&o.auditPath, "audit-log", "", "append one JSON line per decision to `FILE` (0600)")
			fs.BoolVar(&o.deny, "deny-other-hosts", false, "refuse CONNECT to hosts other than Docker Hub's instead of tunnelling them")
			o.upstreams = upstreams{}
			fs.Var(o.upstreams, "upstream", "dial `HOST=ADDR` for HOST, keeping HOST for TLS and Host (repeatable; tests and mirrors)")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.serve(o)
			}
		},
	}
}

type serveOptions struct {
	listen, auditPath string
	deny              bool
	upstreams         upstreams
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

func (c *cli) serve(o serveOptions) error {
	addr := o.listen
	if addr == "" {
		addr = c.Getenv(EnvListen)
	}
	if addr == "" {
		addr = DefaultListen
	}
	log := slog.New(redact.Handler(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))

	ca, _, err := c.loadCA()
	if err != nil {
		return err
	}
	src, err := openTokens(c.Getenv, log)
	if err != nil {
		return err
	}
	debug.FreeOSMemory() // the vault's KDF memory is not needed again
	var audit io.Writer
	if o.auditPath != "" {
		f, err := os.OpenFile(o.auditPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		// The log names clients, tokens and repositories: the user's only.
		if fi, err := f.Stat(); err != nil {
			return err
		} else if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
			return fmt.Errorf("audit log %s is accessible by other users (mode %04o); run: chmod 600 %s", o.auditPath, perm, o.auditPath)
		}
		audit = f
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn("listening beyond loopback: anyone who can reach this address can use the proxy", "addr", ln.Addr().String())
	}
	p := proxy.New(proxy.Config{Tokens: src, CA: ca, Upstream: o.upstreams, DenyOtherHosts: o.deny, Audit: audit, Log: log})
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}

	hup := c.Reload
	if hup == nil {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGHUP)
		defer signal.Stop(ch)
		hup = ch
	}
	go func() {
		for range hup {
			src.force()
			log.Info("reloading the token records (SIGHUP)")
		}
	}()

	log.Info("oat-proxy listening", "addr", ln.Addr().String(), "ca", ca.CertPath, "version", version.Version())
	fmt.Fprintf(c.Stdout, "HTTPS_PROXY=http://%s\n", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-c.ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
	}
	log.Info("oat-proxy stopped")
	return nil
}
