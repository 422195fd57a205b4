//go:build unix

package proxycmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses an audit log that others can read, before it listens.
func TestServeRefusesSharedAuditLog(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	log := filepath.Join(home, "audit.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(log, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--audit-log", log},
		Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	if code != 1 || !strings.Contains(errb.String(), "(mode 0644); run: chmod 600 "+log) || out.Len() != 0 {
		t.Fatalf("serve with a world-readable audit log: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// A new audit log is made 0600.
func TestServeCreatesPrivateAuditLog(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	log := filepath.Join(home, "audit.log")
	env := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve returns as soon as it has opened everything
	var out, errb bytes.Buffer
	_ = Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--audit-log", log},
		Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	fi, err := os.Stat(log)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit log: %v, %v; want mode 0600 (stderr %q)", fi, err, errb.String())
	}
}
