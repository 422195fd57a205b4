//go:build unix

package proxycmd

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/proxyauth"
)

// TestServeLogFormats: serve logs one JSON object per line when its
// stderr is not a terminal (auto) or with --log-format json, text with
// --log-format text; every line has the same message and fields in both,
// and neither holds the token's secret, the vault's passphrase or the
// proxy secret.
func TestServeLogFormats(t *testing.T) {
	t.Parallel()
	const pass = "the vault passphrase of the log test"
	tok := oat.Token{Org: "acme", Label: "ci", Secret: "dckr_oat_logLOGlogLOGlogLOGlogLOGlogLO", Active: true}
	dir := t.TempDir()
	vault := filepath.Join(dir, "oat.vault")
	if err := os.WriteFile(vault, vaultImage(t, pass, tok), 0o600); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(pass), 0o600); err != nil {
		t.Fatal(err)
	}
	serveLogs := func(format string) string {
		home := t.TempDir()
		env := map[string]string{"OAT_HOME": home, passphrase.EnvFile: passFile, "OAT_CACHE": "off"}
		args := []string{"--vault", vault, "--inject"}
		if format != "" {
			args = append(args, "--log-format", format)
		}
		s := serveInProcess(t, env, nil, args...)
		if code := s.stop(); code != 0 {
			t.Fatalf("serve exited %d: %s", code, s.errb.String())
		}
		logs := s.errb.String()
		secret, err := proxyauth.Load(home)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{tok.Secret, pass, secret} {
			if strings.Contains(logs+s.out.String(), v) {
				t.Errorf("--log-format %q: a secret in the output:\n%s", format, logs)
			}
		}
		return logs
	}
	// fields are each line's message and its keys, in order.
	type line struct {
		Msg  string
		Keys []string
	}
	fromJSON := func(logs string) []line {
		var out []line
		for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q: %v", l, err)
			}
			var keys []string
			for k := range m {
				if k != "msg" {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			out = append(out, line{Msg: m["msg"].(string), Keys: keys})
		}
		return out
	}
	fromText := func(logs string) []line {
		var out []line
		for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
			var ln line
			// key=value or key="quoted value", as slog's text handler
			// writes them.
			for rest := l; rest != ""; {
				k, v, ok := strings.Cut(rest, "=")
				if !ok {
					t.Fatalf("not a text line: %q", l)
				}
				if strings.HasPrefix(v, `"`) {
					end := 1
					for end < len(v) && (v[end] != '"' || v[end-1] == '\\') {
						end++
					}
					if k == "msg" {
						ln.Msg = strings.ReplaceAll(v[1:end], `\"`, `"`)
					}
					v = v[min(end+1, len(v)):]
				} else {
					val, after, _ := strings.Cut(v, " ")
					if k == "msg" {
						ln.Msg = val
					}
					v = " " + after
				}
				if k != "msg" {
					ln.Keys = append(ln.Keys, k)
				}
				rest = strings.TrimPrefix(v, " ")
			}
			slices.Sort(ln.Keys)
			out = append(out, ln)
		}
		return out
	}

	auto, asJSON, text := fromJSON(serveLogs("")), fromJSON(serveLogs("json")), fromText(serveLogs("text"))
	if diff := cmp.Diff(asJSON, auto); diff != "" {
		t.Errorf("auto on a pipe differs from json (-json +auto):\n%s", diff)
	}
	if diff := cmp.Diff(text, asJSON); diff != "" {
		t.Errorf("json lines differ from text lines (-text +json):\n%s", diff)
	}
	want := line{Msg: "oat-proxy listening", Keys: []string{"addr", "ca", "https_proxy", "level", "time", "version"}}
	if !slices.ContainsFunc(asJSON, func(l line) bool { return cmp.Equal(l, want) }) {
		t.Errorf("no %+v in %+v", want, asJSON)
	}
}

// TestServeLogOutput: with --log-output stdout, the log goes to stdout and
// nothing to stderr; as JSON (auto off a terminal), stdout holds only JSON
// lines, the address for clients in the listening one's https_proxy, at
// which the proxy answers; as text, the HTTPS_PROXY= line comes before the
// listening line. Neither holds the vault's passphrase.
func TestServeLogOutput(t *testing.T) {
	t.Parallel()
	const pass = "the vault passphrase of the log output test"
	env := map[string]string{"OAT_HOME": t.TempDir(), "OAT_PASSPHRASE": pass, "OAT_CACHE": "off"}
	s := serveInProcess(t, env, nil, "--log-output", "stdout")
	var addr string
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" && time.Now().Before(deadline) {
		for _, l := range strings.Split(strings.TrimSpace(s.out.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("stdout holds a line that is not JSON: %q", l)
			}
			if m["msg"] == "oat-proxy listening" {
				addr, _ = m["https_proxy"].(string)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(addr, "http://127.0.0.1:") {
		t.Fatalf("no https_proxy in the listening line: %s", s.out.String())
	}
	resp, err := http.Get(addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the proxy at %s answered %d, want its 400", addr, resp.StatusCode)
	}
	if code := s.stop(); code != 0 || s.errb.String() != "" {
		t.Errorf("exit %d, stderr %q: want 0 and nothing", code, s.errb.String())
	}
	if strings.Contains(s.out.String(), pass) {
		t.Error("the passphrase in the log")
	}

	s = serveInProcess(t, env, nil, "--log-output", "stdout", "--log-format", "text")
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, s.errb.String())
	}
	out := s.out.String()
	at, listening := strings.Index(out, "HTTPS_PROXY=http://127.0.0.1:"), strings.Index(out, `msg="oat-proxy listening"`)
	if at < 0 || listening < 0 || at > listening || s.errb.String() != "" {
		t.Errorf("text on stdout: want HTTPS_PROXY= before the listening line and nothing on stderr; stdout:\n%s\nstderr:\n%s", out, s.errb.String())
	}
}

// TestServeFlagValues: --log-format takes auto, text and json only;
// --shutdown-timeout no negative duration.
func TestServeFlagValues(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir()}
	if _, errOut, code := run(t, env, "serve", "--log-output", "syslog"); code != 2 || !strings.Contains(errOut, `--log-output "syslog": give stderr or stdout`) {
		t.Errorf("--log-output syslog: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, env, "serve", "--log-format", "yaml"); code != 2 || !strings.Contains(errOut, `--log-format "yaml": give auto, text or json`) {
		t.Errorf("--log-format yaml: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, env, "serve", "--shutdown-timeout", "-1s"); code != 2 || !strings.Contains(errOut, "--shutdown-timeout -1s: give 0 or more") {
		t.Errorf("--shutdown-timeout -1s: exit %d, %q", code, errOut)
	}
}
