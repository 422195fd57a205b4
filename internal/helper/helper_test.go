package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
)

const (
	acmeOAT = "dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo"
	testPW  = "correct horse battery"
)

var fastParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

// memHelper is a Helper over an in-memory keyring.
func memHelper() *Helper {
	return New(store.New(keyring.NewArrayKeyring(nil), "memory"))
}

func storeJSON(server, user, secret string) string {
	b, _ := json.Marshal(credentials.Credentials{ServerURL: server, Username: user, Secret: secret})
	return string(b)
}

func handle(t *testing.T, h credentials.Helper, action, in string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := credentials.HandleCommand(h, action, strings.NewReader(in), &out)
	return out.String(), err
}

func TestHubIsOneEntry(t *testing.T) {
	t.Parallel()
	spellings := []string{
		"https://index.docker.io/v1/", "https://index.docker.io/v1", "index.docker.io", "docker.io",
		"https://docker.io/", "registry-1.docker.io", "https://registry-1.docker.io/v2/",
	}
	for _, storeAs := range spellings {
		t.Run(storeAs, func(t *testing.T) {
			t.Parallel()
			h := memHelper()
			if _, err := handle(t, h, "store", storeJSON(storeAs, "acme", acmeOAT)); err != nil {
				t.Fatal(err)
			}
			for _, getAs := range spellings {
				out, err := handle(t, h, "get", getAs+"\n")
				if err != nil {
					t.Fatalf("get %q after store %q: %v", getAs, storeAs, err)
				}
				want := storeJSON(getAs, "acme", acmeOAT) + "\n"
				if out != want {
					t.Errorf("get %q = %s, want %s", getAs, out, want)
				}
			}
			out, _ := handle(t, h, "list", "")
			if out != `{"https://index.docker.io/v1/":"acme"}`+"\n" {
				t.Errorf("list = %s", out)
			}
			if _, err := handle(t, h, "erase", "docker.io"); err != nil {
				t.Fatal(err)
			}
			if _, err := handle(t, h, "get", "https://index.docker.io/v1/"); !credentials.IsErrCredentialsNotFound(err) {
				t.Errorf("get after erase: %v", err)
			}
		})
	}
}

func TestOpaqueEntries(t *testing.T) {
	t.Parallel()
	h := memHelper()
	entries := []credentials.Credentials{
		{ServerURL: "https://index.docker.io/v1/", Username: "acme", Secret: acmeOAT},
		{ServerURL: "https://index.docker.io/v1/access-token", Username: "someone", Secret: "eyJ.access.token"},
		{ServerURL: "https://index.docker.io/v1/refresh-token", Username: "someone", Secret: "refresh-secret"},
		{ServerURL: "registry.example.com:5000", Username: "robot", Secret: "pw1"},
		{ServerURL: "http://localhost:5001", Username: "local", Secret: "pw2"},
	}
	for _, c := range entries {
		if _, err := handle(t, h, "store", storeJSON(c.ServerURL, c.Username, c.Secret)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range entries {
		out, err := handle(t, h, "get", c.ServerURL)
		if err != nil {
			t.Fatalf("get %s: %v", c.ServerURL, err)
		}
		var got credentials.Credentials
		json.Unmarshal([]byte(out), &got)
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("get %s mismatch (-want +got):\n%s", c.ServerURL, diff)
		}
	}
	// Other spellings of a non-Hub registry reach the same entry.
	if out, err := handle(t, h, "get", "https://registry.example.com:5000/"); err != nil || !strings.Contains(out, `"robot"`) {
		t.Errorf("get with scheme: %s, %v", out, err)
	}
	out, err := handle(t, h, "list", "")
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]string
	json.Unmarshal([]byte(out), &list)
	want := map[string]string{
		"https://index.docker.io/v1/": "acme", "https://index.docker.io/v1/access-token": "someone",
		"https://index.docker.io/v1/refresh-token": "someone", "registry.example.com:5000": "robot",
		"http://localhost:5001": "local",
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("list mismatch (-want +got):\n%s", diff)
	}
	for _, secret := range []string{acmeOAT, "eyJ", "refresh-secret", "pw1", "pw2"} {
		if strings.Contains(out, secret) {
			t.Errorf("list output contains secret %q", secret)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	h := memHelper()
	if _, err := handle(t, h, "get", "nowhere.example.com"); err == nil || err.Error() != "credentials not found in native keychain" {
		t.Errorf("get unknown: %v", err)
	}
	if _, err := handle(t, h, "erase", "nowhere.example.com"); err != nil {
		t.Errorf("erase unknown: %v", err)
	}
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
