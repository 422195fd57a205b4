//go:build unix

package proxycmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

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
	want := line{Msg: "oat-proxy listening", Keys: []string{"addr", "ca", "level", "time", "version"}}
	if !slices.ContainsFunc(asJSON, func(l line) bool { return cmp.Equal(l, want) }) {
		t.Errorf("no %+v in %+v", want, asJSON)
	}
}

// TestServeFlagValues: --log-format takes auto, text and json only;
// --shutdown-timeout no negative duration.
func TestServeFlagValues(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir()}
	if _, errOut, code := run(t, env, "serve", "--log-format", "yaml"); code != 2 || !strings.Contains(errOut, `--log-format "yaml": give auto, text or json`) {
		t.Errorf("--log-format yaml: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, env, "serve", "--shutdown-timeout", "-1s"); code != 2 || !strings.Contains(errOut, "--shutdown-timeout -1s: give 0 or more") {
		t.Errorf("--shutdown-timeout -1s: exit %d, %q", code, errOut)
	}
}
