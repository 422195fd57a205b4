// Package admin is oat-proxy's admin listener: /healthz (the process
// answers), /readyz (named checks, all passing) and /metrics (Prometheus).
// It is served apart from the proxy, on an address of its own.
package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oatkit/oat/internal/redact"
)

// Check is one readiness condition.
type Check struct {
	Name string
	// Run returns nil when the condition holds.
	Run func(ctx context.Context) error
}

// Config says what the admin handler serves.
type Config struct {
	// Ready are the checks /readyz runs, in order.
	Ready []Check
	// Gatherer is what /metrics serves (none if nil: 404).
	Gatherer prometheus.Gatherer
	// Timeout bounds all of /readyz's checks together (5s if zero).
	Timeout time.Duration
}

// Handler serves /healthz, /readyz and /metrics.
func Handler(cfg Config) http.Handler {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), cfg.Timeout)
		defer cancel()
		var b strings.Builder
		ready := true
		for _, c := range cfg.Ready {
			if err := c.Run(ctx); err != nil {
				ready = false
				fmt.Fprintf(&b, "%s: %s\n", c.Name, redact.String(err.Error()))
			} else {
				fmt.Fprintf(&b, "%s: ok\n", c.Name)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, b.String())
	})
	if cfg.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{}))
	}
	return mux
}

// Resolver looks host names up (net.DefaultResolver in production; tests
// answer only for loopback names).
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// DNSCheck passes when every address's host resolves through r. Addresses
// are host:port or bare hosts; IP literals pass without a lookup.
func DNSCheck(r Resolver, addrs ...string) Check {
	return Check{Name: "upstream dns", Run: func(ctx context.Context) error {
		for _, a := range addrs {
			host := a
			if h, _, err := net.SplitHostPort(a); err == nil {
				host = h
			}
			if net.ParseIP(host) != nil {
				continue
			}
			got, err := r.LookupHost(ctx, host)
			if err != nil {
				return fmt.Errorf("resolve %s: %w", host, err)
			}
			if len(got) == 0 {
				return fmt.Errorf("resolve %s: no addresses", host)
			}
		}
		return nil
	}}
}

// Server serves h on ln until Shutdown.
func Server(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
}
