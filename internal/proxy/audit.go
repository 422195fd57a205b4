package proxy

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// auditEntry is one line of the audit log. It never holds a secret, a
// bearer token or an Authorization value.
type auditEntry struct {
	Time     time.Time `json:"time"`
	Client   string    `json:"client"`
	Agent    string    `json:"user_agent,omitempty"`
	Method   string    `json:"method"`
	Host     string    `json:"host"`
	Path     string    `json:"path"`
	Kind     string    `json:"kind"`
	Label    string    `json:"token_label,omitempty"`
	Org      string    `json:"org,omitempty"`
	Repo     string    `json:"repository,omitempty"`
	Action   string    `json:"action,omitempty"`
	Decision string    `json:"decision"` // allowed, denied, passed (not ours to judge)
	Reason   string    `json:"reason,omitempty"`
	Upstream int       `json:"upstream_status,omitempty"`
	Redirect string    `json:"redirect_host,omitempty"` // host:port of a blob download's Location, never its query

}

type auditLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (a *auditLog) write(e auditEntry) {
	if a == nil || a.w == nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.w.Write(append(b, '\n'))
}
