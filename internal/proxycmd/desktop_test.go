package proxycmd

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDesktopChecksLogged: at start (and SIGHUP) the proxy logs a Docker
// Desktop policy it finds, with the advice, and refuses nothing for it.
func TestDesktopChecksLogged(t *testing.T) {
	t.Parallel()
	root, home := t.TempDir(), t.TempDir()
	reg := filepath.Join(root, "usr/share/docker-desktop/registry/registry.json")
	if err := os.MkdirAll(filepath.Dir(reg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reg, []byte(`{"allowedOrgs":["acme"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "DOCKER_CONFIG": filepath.Join(home, ".docker")}
	c := &cli{Options: Options{Getenv: func(k string) string { return env[k] }, SystemRoot: root}}
	var buf bytes.Buffer
	c.desktopChecks(slog.New(slog.NewTextHandler(&buf, nil)))
	got := buf.String()
	if !strings.Contains(got, "sign-in enforcement") || !strings.Contains(got, "allowed_orgs=acme") || !strings.Contains(got, "personal access token") {
		t.Errorf("log: %s", got)
	}
	buf.Reset()
	c.SystemRoot = t.TempDir()
	c.desktopChecks(slog.New(slog.NewTextHandler(&buf, nil)))
	if buf.Len() != 0 {
		t.Errorf("a machine without policy files: %s", buf.String())
	}
}
