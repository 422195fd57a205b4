package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// loopbackOnly resolves localhost and *.localhost to 127.0.0.1 and
// nothing else: tests never ask a real DNS server.
type loopbackOnly struct{}

func (loopbackOnly) LookupHost(_ context.Context, host string) ([]string, error) {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return []string{"127.0.0.1"}, nil
	}
	return nil, errors.New("no such host")
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "oat_test_gauge", Help: "a test gauge"})
	g.Set(3)
	reg.MustRegister(g)
	failing := errors.New("records not read: token dckr_oat_abcdefghijklmnopqrstuvwxyz0 refused")
	tests := []struct {
		name     string
		ready    []Check
		path     string
		code     int
		contains []string
		absent   []string
	}{
		{"healthz", nil, "/healthz", 200, []string{"ok"}, nil},
		{"ready", []Check{{Name: "a", Run: func(context.Context) error { return nil }}, DNSCheck(loopbackOnly{}, "registry.localhost:443", "127.0.0.1:5000")}, "/readyz", 200, []string{"a: ok", "upstream dns: ok"}, nil},
		{"not ready", []Check{{Name: "records", Run: func(context.Context) error { return failing }}, DNSCheck(loopbackOnly{}, "registry-1.docker.io:443")}, "/readyz", 503,
			[]string{"records: ", "upstream dns: resolve registry-1.docker.io: no such host"}, []string{"dckr_oat_abcdefghijklmnopqrstuvwxyz0"}},
		{"metrics", nil, "/metrics", 200, []string{"oat_test_gauge 3"}, nil},
		{"unknown", nil, "/nope", 404, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := Handler(Config{Ready: tt.ready, Gatherer: reg})
			code, body := get(t, h, tt.path)
			if code != tt.code {
				t.Errorf("GET %s: %d, want %d (%q)", tt.path, code, tt.code, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("GET %s: body %q lacks %q", tt.path, body, s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(body, s) {
					t.Errorf("GET %s: body %q shows %q", tt.path, body, s)
				}
			}
		})
	}
}
