// Package redact keeps secrets out of everything a person or a log reads:
// strings that may hold tokens, HTTP headers, URLs, and slog records. Every
// logger in the project goes through Handler.
package redact

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces what was removed.
const Mask = "[REDACTED]"

// secretPattern matches Docker Hub access tokens (dckr_oat_, dckr_pat_ and
// their siblings), JSON Web Tokens, and the credentials of an HTTP
// Authorization value.
var secretPattern = regexp.MustCompile(
	`dckr_[a-z]+_[A-Za-z0-9_\-]+` +
		`|eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*` +
		`|(?i:\b(?:bearer|basic)\s+)[A-Za-z0-9+/=._~\-]+`)

// String returns s with anything that looks like a secret masked.
func String(s string) string {
	return secretPattern.ReplaceAllStringFunc(s, func(m string) string {
		if i := strings.IndexAny(m, " \t"); i > 0 && !strings.HasPrefix(m, "dckr_") && !strings.HasPrefix(m, "eyJ") {
			return m[:i+1] + Mask // keep the scheme: "Bearer [REDACTED]"
		}
		return Mask
	})
}

// sensitiveHeaders are header names whose values never appear in logs.
var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Registry-Auth"}

// sensitiveParams are attribute names whose values are secrets.
var sensitiveParams = map[string]bool{
	"password": true, "refresh_token": true, "access_token": true, "token": true,
	"secret": true, "client_secret": true, "code": true, "id_token": true,
}

// URL returns u as a string without userinfo and with secret-bearing query
// parameters masked.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = Query(c.RawQuery)
	}
	return c.String()
}

// Query returns an encoded query string with secret-bearing values masked.
// A query that does not parse is masked whole.
func Query(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return Mask
	}
	for k, vs := range q {
		for i, v := range vs {
			if sensitiveParams[strings.ToLower(k)] {
				vs[i] = Mask
			} else {
				vs[i] = String(v)
			}
		}
	}
	return q.Encode()
}

// Fingerprint names a secret without revealing it: its prefix up to the last
// underscore (or its first four characters) and its last four characters,
// e.g. "dckr_oat_…Xy9z". Short secrets are masked whole.
func Fingerprint(secret string) string {
	if len(secret) < 16 {
		return Mask
	}
	prefix := secret[:4]
	if i := strings.LastIndexByte(secret[:min(len(secret)-8, 16)], '_'); i > 0 {
		prefix = secret[:i+1]
	}
	return prefix + "…" + secret[len(secret)-4:]
}

// Handler wraps h so that every attribute value and message is passed
// through String, and attributes named like credentials are masked whole.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

// HandlerOptions returns slog options whose ReplaceAttr redacts, for use with
// slog.NewTextHandler and slog.NewJSONHandler.
func HandlerOptions(level slog.Leveler) *slog.HandlerOptions {
	return &slog.HandlerOptions{Level: level, ReplaceAttr: replaceAttr}
}

func replaceAttr(_ []string, a slog.Attr) slog.Attr { return redactAttr(a) }

type handler struct{ next slog.Handler }

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return handler{h.next.WithAttrs(red)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.next.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	key := strings.ToLower(a.Key)
	if sensitiveParams[key] || key == "passphrase" || slices.ContainsFunc(sensitiveHeaders, func(h string) bool { return strings.EqualFold(h, key) }) {
		return slog.String(a.Key, Mask)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, String(v.String()))
	case slog.KindGroup:
		as := v.Group()
		red := make([]any, len(as))
		for i, g := range as {
			red[i] = redactAttr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case *url.URL:
			return slog.String(a.Key, URL(x))
		case error:
			return slog.String(a.Key, String(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, String(x.String()))
		default:
			return slog.String(a.Key, String(fmt.Sprint(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
