package helpercmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
)

const (
	acmeOAT = "dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo"
	testPW  = "correct horse battery"
)

var (
	fastParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}
	testNow    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

func storeJSON(server, user, secret string) string {
	b, _ := json.Marshal(credentials.Credentials{ServerURL: server, Username: user, Secret: secret})
	return string(b)
}

// env returns a Getenv over m.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// run runs the CLI as Docker would, with a file vault under home.
func run(t *testing.T, home string, extraEnv map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	e := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": testPW}
	for k, v := range extraEnv {
		e[k] = v
	}
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Options{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: env(e),
		OpenTTY:     func() (passphrase.TTY, error) { return nil, errors.New("no terminal") },
		VaultParams: fastParams,
	})
	return out.String(), errb.String(), code
}

func TestRunProtocolBadInput(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "oat")
	if _, _, code := run(t, home, nil, storeJSON("registry.example.com", "robot", "keep-me"), "store"); code != 0 {
		t.Fatal("seed store failed")
	}
	vaultPath := filepath.Join(home, store.VaultFile)
	before, _ := os.ReadFile(vaultPath)

	tests := []struct {
		name, action, stdin, want string
	}{
		{"oversized store", "store", `{"ServerURL":"a.example","Username":"u","Secret":"` + strings.Repeat("x", 70<<10) + `"}`, "bufio.Scanner: token too long\n"},
		{"oversized over many lines", "store", strings.Repeat(strings.Repeat("x", 1000)+"\n", 70), "bufio.Scanner: token too long\n"},
		{"malformed JSON", "store", `{"ServerURL":`, "unexpected EOF\n"},
		{"not JSON", "store", `hello`, "invalid character 'h' looking for beginning of value\n"},
		{"empty URL", "store", storeJSON("", "u", "s"), "no credentials server URL\n"},
		{"empty username", "store", storeJSON("a.example", "", "s"), "no credentials username\n"},
		{"get without URL", "get", "\n", "no credentials server URL\n"},
		{"erase without URL", "erase", "", "no credentials server URL\n"},
		{"get unknown", "get", "nowhere.example", "credentials not found in native keychain\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, home, nil, tt.stdin, tt.action)
			if code != 1 || stdout != tt.want || stderr != "" {
				t.Errorf("%s: code %d, stdout %q, stderr %q; want 1, %q, empty", tt.action, code, stdout, stderr, tt.want)
			}
		})
	}
	after, _ := os.ReadFile(vaultPath)
	if !bytes.Equal(before, after) {
		t.Error("bad input changed the vault")
	}
	if out, _, _ := run(t, home, nil, "registry.example.com", "get"); !strings.Contains(out, "keep-me") {
		t.Errorf("entry lost after bad input: %s", out)
	}
}

func TestRunNoPassphrase(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "oat")
	// No vault yet: get and list need no passphrase.
	noPass := map[string]string{"OAT_PASSPHRASE": ""}
	if out, _, code := run(t, home, noPass, "docker.io", "get"); code != 1 || out != "credentials not found in native keychain\n" {
		t.Errorf("get with no vault: %d %q", code, out)
	}
	if out, _, code := run(t, home, noPass, "", "list"); code != 0 || out != "{}\n" {
		t.Errorf("list with no vault: %d %q", code, out)
	}
	stdout, stderr, code := run(t, home, noPass, storeJSON("docker.io", "acme", acmeOAT), "store")
	if code != 1 || !strings.Contains(stdout, "no passphrase for the vault: set OAT_PASSPHRASE, or OAT_PASSPHRASE_FILE") || stderr != "" {
		t.Errorf("store without passphrase: %d %q %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(home, store.VaultFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("vault created without a passphrase")
	}
}

func TestRunWrongPassphraseAndDamage(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "oat")
	run(t, home, nil, storeJSON("docker.io", "acme", acmeOAT), "store")
	vaultPath := filepath.Join(home, store.VaultFile)

	stdout, _, code := run(t, home, map[string]string{"OAT_PASSPHRASE": "not the passphrase"}, "docker.io", "get")
	if code != 1 || !strings.HasPrefix(stdout, vaultPath+": wrong passphrase (") || strings.Contains(stdout, acmeOAT) {
		t.Errorf("wrong passphrase: %d %q", code, stdout)
	}

	raw, _ := os.ReadFile(vaultPath)
	os.WriteFile(vaultPath, raw[:len(raw)-40], 0o600)
	stdout, _, code = run(t, home, nil, "docker.io", "get")
	if code != 1 || !strings.Contains(stdout, "vault "+vaultPath+" is not usable: the file is truncated") || !strings.Contains(stdout, "reset --yes") {
		t.Errorf("truncated vault: %d %q", code, stdout)
	}

	// reset refuses without --yes, then moves the file aside.
	if _, stderr, code := run(t, home, nil, "", "reset"); code != 1 || !strings.Contains(stderr, "reset needs --yes") {
		t.Errorf("reset without --yes: %d %q", code, stderr)
	}
	stdout, _, code = run(t, home, nil, "", "reset", "--yes")
	if code != 0 || !strings.Contains(stdout, "moved "+vaultPath+" to "+vaultPath+".broken-") {
		t.Errorf("reset: %d %q", code, stdout)
	}
	if out, _, code := run(t, home, nil, "", "list"); code != 0 || out != "{}\n" {
		t.Errorf("list after reset: %d %q", code, out)
	}
}

func TestRunDebugNeverLeaks(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "oat")
	debug := map[string]string{"OAT_DEBUG": "1"}
	_, stderr, code := run(t, home, debug, storeJSON("docker.io", "acme", acmeOAT), "store")
	if code != 0 || !strings.Contains(stderr, "store opened") {
		t.Errorf("OAT_DEBUG store: %d %q", code, stderr)
	}
	_, stderr2, _ := run(t, home, debug, "docker.io", "get")
	_, stderr3, _ := run(t, home, map[string]string{"OAT_DEBUG": "1", "OAT_PASSPHRASE": "nope nope"}, "docker.io", "get")
	for _, s := range []string{stderr, stderr2, stderr3} {
		if strings.Contains(s, acmeOAT) || strings.Contains(s, testPW) {
			t.Errorf("debug output leaks a secret: %s", s)
		}
	}
	if _, stderr, _ := run(t, home, nil, "docker.io", "get"); stderr != "" {
		t.Errorf("stderr not silent without OAT_DEBUG: %q", stderr)
	}
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	if out, _, code := run(t, home, nil, "", "--help"); code != 0 || !strings.Contains(out, "Usage: docker-credential-oat") {
		t.Errorf("--help: %d %q", code, out)
	}
	for _, arg := range []string{"version", "--version"} {
		if out, _, code := run(t, home, nil, "", arg); code != 0 || !strings.HasPrefix(out, "docker-credential-oat (github.com/oatkit/oat) ") {
			t.Errorf("%s: %d %q", arg, code, out)
		}
	}
	if _, errOut, code := run(t, home, nil, "", "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if out, _, code := run(t, home, nil, "", "get", "extra"); code != 1 || !strings.Contains(out, "takes no arguments") {
		t.Errorf("get with argument: %d %q", code, out)
	}
}
