package proxycmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/oatkit/oat/internal/admin"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/metrics"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/proxy"
)

// fleetOptions are serve's flags for running as a service (Kubernetes):
// a read-only vault of its own and the admin listener.
type fleetOptions struct {
	vault, adminListen, caDir, secretFile string
}

func (f *fleetOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&f.vault, "vault", "", "read the token records from the vault `FILE`, read-only (a mounted Secret; $"+passphrase.EnvFile+" names its passphrase file), again when it or the passphrase changes")
	fs.StringVar(&f.caDir, "ca-dir", "", "load the CA from `DIR` ("+proxy.CACertFile+", "+proxy.CAKeyFile+"; a mounted Secret, readable by the group) instead of the configuration directory")
	fs.StringVar(&f.secretFile, "proxy-secret-file", "", "with --inject, read the proxy secret clients must send from `FILE` (a mounted Secret, readable by the group, never by others) instead of making one in the configuration directory")
	fs.StringVar(&f.adminListen, "admin-listen", "", "serve /healthz, /readyz and /metrics on `ADDR` (host:port; off by default; loopback unless --allow-remote)")
}

// openTokenSource opens --vault, or the store the environment chooses.
func (c *cli) openTokenSource(o serveOptions, log *slog.Logger) (*tokenSource, error) {
	if o.fleet.vault != "" {
		return openVaultTokens(o.fleet.vault, c.Getenv, log)
	}
	return openTokens(c.Getenv, log)
}

// loadServeCA loads the CA from --ca-dir, or from the configuration
// directory (made there on first use). A mounted Secret's key is readable
// by its group (kubelet's fsGroup), which the CA loader refuses: it is
// copied into a private directory under the temporary directory (0700,
// the key 0600; memory in the chart), removed when the proxy stops.
func (c *cli) loadServeCA(o serveOptions, inst *instance) (*proxy.CA, error) {
	if o.fleet.caDir == "" {
		ca, _, err := c.loadCA()
		return ca, err
	}
	tmp, err := os.MkdirTemp("", "oat-proxy-ca-")
	if err != nil {
		return nil, fmt.Errorf("--ca-dir: %w", err)
	}
	inst.done = append(inst.done, func() { _ = os.RemoveAll(tmp) })
	for _, name := range []string{proxy.CACertFile, proxy.CAKeyFile} {
		src := filepath.Join(o.fleet.caDir, name)
		data, err := readMounted(src)
		if err != nil {
			return nil, fmt.Errorf("--ca-dir: %w", err)
		}
		err = os.WriteFile(filepath.Join(tmp, name), data, 0o600)
		clear(data)
		if err != nil {
			return nil, fmt.Errorf("--ca-dir: %w", err)
		}
	}
	ca, _, err := proxy.LoadOrCreateCA(tmp)
	if err != nil {
		return nil, fmt.Errorf("--ca-dir %s: %w", o.fleet.caDir, err)
	}
	return ca, nil
}

// startAdmin starts the admin listener if --admin-listen is given, and
// returns ln counting its connections for /metrics. On error ln is closed.
func (c *cli) startAdmin(o serveOptions, inst *instance, ln net.Listener, src *tokenSource, ca *proxy.CA) (net.Listener, error) {
	if o.fleet.adminListen == "" {
		return ln, nil
	}
	aln, err := listen(o.fleet.adminListen, o.allowRemote)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("--admin-listen: %w", err)
	}
	m := metrics.New()
	inst.metrics = m
	m.WatchTokens(src, c.Now)
	h := admin.Handler(admin.Config{
		Gatherer: m.Registry(),
		Ready: []admin.Check{
			{Name: "serving", Run: func(context.Context) error {
				if inst.draining.Load() {
					return errors.New("shutting down")
				}
				return nil
			}},
			{Name: "token records", Run: func(context.Context) error {
				if !src.Loaded() {
					return errors.New("not read yet")
				}
				if len(src.Current()) == 0 {
					return errors.New("none loaded")
				}
				return nil
			}},
			{Name: "ca", Run: func(context.Context) error {
				if ca == nil || ca.Cert == nil {
					return errors.New("not loaded")
				}
				if now := c.Now(); now.After(ca.Cert.NotAfter) {
					return fmt.Errorf("expired on %s", ca.Cert.NotAfter.Format(time.DateOnly))
				}
				return nil
			}},
			admin.DNSCheck(net.DefaultResolver, upstreamAddrs(o.upstreams)...),
		},
	})
	srv := admin.Server(h)
	srv.ErrorLog = slog.NewLogLogger(inst.log.Handler(), slog.LevelDebug)
	inst.adminAddr = aln.Addr().String()
	go func() {
		if err := srv.Serve(aln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			inst.log.Error("admin listener stopped", "err", err)
		}
	}()
	inst.done = append(inst.done, func() { _ = srv.Close() })
	inst.log.Info("admin listening", "addr", inst.adminAddr)
	return m.Listener(ln), nil
}

// upstreamAddrs are the addresses the proxy dials for Docker Hub's
// registry and token hosts: --upstream's, else the hosts themselves.
func upstreamAddrs(u upstreams) []string {
	var out []string
	for _, h := range []string{hub.RegistryHost, hub.AuthHost} {
		if a, ok := u[h]; ok {
			out = append(out, a)
		} else {
			out = append(out, net.JoinHostPort(h, "443"))
		}
	}
	return out
}
