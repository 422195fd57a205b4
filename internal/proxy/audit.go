package proxy

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oatkit/oat/internal/policy"
)

// auditEntry is one line of the audit log. It never holds a secret, a
// bearer token or an Authorization value.
type auditEntry struct {
	Time     time.Time      `json:"time"`
	Client   string         `json:"client"`
	Agent    string         `json:"user_agent,omitempty"`
	Family   string         `json:"client_family,omitempty"` // the client, recognised by its user agent
	Method   string         `json:"method"`
	Host     string         `json:"host"`
	Path     string         `json:"path"`
	Kind     string         `json:"kind"`
	Label    string         `json:"token_label,omitempty"`
	Org      string         `json:"org,omitempty"`
	Repo     string         `json:"repository,omitempty"`
	Action   string         `json:"action,omitempty"`
	Decision policy.Outcome `json:"decision"`
	Cause    policy.Cause   `json:"cause"`
	Reason   string         `json:"reason,omitempty"`
	Upstream int            `json:"upstream_status,omitempty"`
	// Desktop says why the client is thought to be a Docker Desktop engine.
	Desktop string `json:"docker_desktop,omitempty"`
	// Redirect is the host:port of a blob download's Location, never its
	// query (a signature).
	Redirect string `json:"redirect_host,omitempty"`
}

// judge writes v into the entry: the decision, its cause and reason, the
// token and the access refused.
func (e *auditEntry) judge(v policy.Verdict) {
	e.Decision, e.Cause, e.Reason = v.Outcome, v.Cause, v.Reason()
	if v.Token != nil {
		e.Label, e.Org = v.Token.Label, v.Token.Org
	}
	if v.Repo != "" {
		e.Repo = v.Repo
	}
	if v.Action != "" {
		e.Action = v.Action
	}
}

type auditLog struct {
	mu     sync.Mutex
	w      io.Writer
	log    *slog.Logger
	rec    Recorder
	failed atomic.Int64
}

// write records a decision: its audit line, and its metrics.
func (a *auditLog) write(e auditEntry) {
	if a == nil {
		return
	}
	if a.rec != nil {
		record(a.rec, e)
	}
	if a.w == nil {
		return
	}
	bp := lineBufs.Get().(*[]byte)
	b := append(e.appendJSON((*bp)[:0]), '\n')
	a.mu.Lock()
	_, err := a.w.Write(b)
	a.mu.Unlock()
	if cap(b) <= 64<<10 { // not a buffer an outsized line grew
		*bp = b
		lineBufs.Put(bp)
	}
	if err != nil {
		// Counted, and logged on the first failure and every 1000th after.
		if n := a.failed.Add(1); n == 1 || n%1000 == 0 {
			a.log.Error("audit log write failed: decisions are going unrecorded", "error", err, "failures", n)
		}
	}
}

// AuditFailures is how many audit lines could not be written.
func (p *Proxy) AuditFailures() int64 { return p.audit.failed.Load() }

// AuditFile is an audit log file that Reopen opens again by name, so that
// a rotated file (logrotate, then SIGHUP) is let go.
type AuditFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// OpenAuditFile opens path for appending, creating it 0600.
func OpenAuditFile(path string) (*AuditFile, error) {
	a := &AuditFile{path: path}
	return a, a.Reopen()
}

// Reopen opens the file by its name again; on error the old one stays. A
// file others may read is refused: the log names clients, tokens and
// repositories, for the user's eyes only.
func (a *AuditFile) Reopen() error {
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err != nil {
		f.Close()
		return err
	} else if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		f.Close()
		return fmt.Errorf("audit log %s is accessible by other users (mode %04o); run: chmod 600 %s", a.path, perm, a.path)
	}
	a.mu.Lock()
	old := a.f
	a.f = f
	a.mu.Unlock()
	if old != nil {
		return old.Close()
	}
	return nil
}

// Write appends one line.
func (a *AuditFile) Write(b []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Write(b)
}

// Close closes the file.
func (a *AuditFile) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.f.Close()
}
