package proxy

import (
	"time"

	"github.com/oatkit/oat/internal/policy"
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

// record counts one decision, as its audit line says it: the decision is
// the outcome's word, a refusal's reason its cause's name.
func record(r Recorder, e auditEntry) {
	if e.Decision == policy.Denied {
		r.Denial(e.Label, e.Cause.String())
	}
	kind := e.Kind
	if kind == "" {
		kind = "other"
	}
	r.Request(kind, e.Decision.String(), e.Host)
	if e.Upstream != 0 {
		r.Upstream(e.Upstream)
	}
	if !e.Time.IsZero() {
		r.Latency(kind, time.Since(e.Time))
	}
}
