package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const oat = "dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo"

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"token " + oat + " rejected", "token [REDACTED] rejected"},
		{"dckr_pat_abc-DEF_123", "[REDACTED]"},
		{"Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "Authorization: Bearer [REDACTED]"},
		{"Basic YWNtZTpzZWNyZXQ=", "Basic [REDACTED]"},
		{"jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln end", "jwt [REDACTED] end"},
		{"nothing to see", "nothing to see"},
		{"basically fine", "basically fine"},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://acme:" + oat + "@auth.docker.io/token?scope=repository%3Aacme%2Fapp%3Apull&refresh_token=abc&service=registry.docker.io")
	got := URL(u)
	for _, leak := range []string{oat, "acme:", "abc"} {
		if strings.Contains(got, leak) {
			t.Errorf("URL() = %q leaks %q", got, leak)
		}
	}
	if !strings.Contains(got, "scope=repository%3Aacme%2Fapp%3Apull") || !strings.Contains(got, "refresh_token=%5BREDACTED%5D") {
		t.Errorf("URL() = %q, want scope kept and refresh_token masked", got)
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{oat, "dckr_oat_…Qjxo"},
		{"dckr_pat_0123456789abcdef", "dckr_pat_…cdef"},
		{"plainpassword-long-enough", "plai…ough"},
		{"short", Mask},
	}
	for _, tt := range tests {
		if got := Fingerprint(tt.in); got != tt.want {
			t.Errorf("Fingerprint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, nil)))
	h := http.Header{"Authorization": {"Bearer " + oat}}
	u, _ := url.Parse("https://x:y@auth.docker.io/token?password=" + oat)
	log.With("secret", oat).Info("login with "+oat,
		"header", h, "url", u, "err", errors.New("bad "+oat), "password", "hunter2",
		slog.Group("g", "v", oat), "tok", oat)
	out := buf.String()
	for _, leak := range []string{"7awg", "hunter2", "x:y"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"msg":"login with [REDACTED]"`) {
		t.Errorf("message not kept in redacted form: %s", out)
	}

	buf.Reset()
	log2 := slog.New(slog.NewTextHandler(&buf, HandlerOptions(slog.LevelInfo)))
	log2.Info("got "+oat, "password", "hunter2")
	if strings.Contains(buf.String(), "7awg") || strings.Contains(buf.String(), "hunter2") {
		t.Errorf("ReplaceAttr path leaks: %s", buf.String())
	}
}

func FuzzString(f *testing.F) {
	f.Add("Bearer " + oat)
	f.Add("x dckr_pat_y z")
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if strings.Contains(out, "dckr_oat_") && !strings.Contains(s, "dckr_oat_") {
			t.Fatalf("String introduced a token prefix")
		}
		if m := secretPattern.FindString(out); m != "" && !strings.Contains(m, Mask) && strings.HasPrefix(m, "dckr_") {
			t.Fatalf("String(%q) left %q", s, m)
		}
	})
}
