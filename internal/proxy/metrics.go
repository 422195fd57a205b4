package proxy

import (
	"strings"
	"time"
)

// Recorder counts the proxy's decisions for /metrics (package metrics
// implements it).
type Recorder interface {
	Request(kind, decision, host string)
	Denial(label, reason string)
	Upstream(status int)
	Bytes(kind string, in, out int64)
	Latency(kind string, d time.Duration)
}

// record counts one decision, as its audit line says it.
func record(r Recorder, e auditEntry) {
	decision := "allow"
	switch e.Decision {
	case "denied":
		decision = "deny"
		r.Denial(e.Label, denialReason(e.Reason))
	case "passed", "challenged", "narrowed":
		decision = e.Decision
	}
	if e.Kind == "tunnel" {
		decision = "tunnel"
		if e.Decision == "denied" {
			decision = "deny"
		}
	}
	kind := e.Kind
	if kind == "" {
		kind = "other"
	}
	r.Request(kind, decision, e.Host)
	if e.Upstream != 0 {
		r.Upstream(e.Upstream)
	}
	if !e.Time.IsZero() {
		r.Latency(kind, time.Since(e.Time))
	}
}

// denialReason is a refusal's reason as one word of a small fixed set, so
// that a metric's labels stay few.
func denialReason(reason string) string {
	for _, w := range []struct{ in, word string }{
		{"outside the token's scopes", "scope"},
		{"no token covers", "no-token"},
		{"conflicting", "conflict"},
		{"--deny-other-hosts", "other-host"},
		{"plain HTTP", "plain-http"},
		{"host", "host"},
		{"not understood", "fail-closed"},
		{"body", "body"},
	} {
		if strings.Contains(reason, w.in) {
			return w.word
		}
	}
	return "fail-closed"
}
