//go:build linux

package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/store"
)

// Secrets the suite hands the helper; none may come out anywhere but where
// it belongs (the vault, encrypted, and get's answer).
const (
	canaryHub    = "dckr_oat_CANARYhubLogin7Zt3Lm9Xw2Vb8N"
	canaryToken  = "dckr_oat_CANARYtokenAdd4Kd6Qp1Rs5Tu0"
	canaryOther  = "CANARY-opaque-registry-secret-Hj3Fg8"
	canaryPass   = "CANARY passphrase correct horse"
	canaryWrong  = "CANARY wrong passphrase battery"
	canaryBroken = "dckr_oat_CANARYbrokenInput5Yx2Wv7Uq"
)

var canaries = []string{canaryHub, canaryToken, canaryOther, canaryPass, canaryWrong, canaryBroken}

// leak returns the canaries found in b, plainly or as docker's base64
// "user:secret".
func leak(b []byte) []string {
	var found []string
	for _, c := range canaries {
		if bytes.Contains(b, []byte(c)) {
			found = append(found, c)
		}
	}
	for _, c := range []string{canaryHub, canaryToken, canaryOther} {
		for _, user := range []string{"acme", "robot"} {
			if bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString([]byte(user+":"+c)))) {
				found = append(found, user+":"+c+" (base64)")
			}
		}
	}
	return found
}

type canaryEnv struct {
	t              *testing.T
	home, passFile string
	env            []string
	ran            int
}

func newCanaryEnv(t *testing.T, debug bool) *canaryEnv {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	passFile := filepath.Join(dir, "pass")
	if err := os.WriteFile(passFile, []byte(canaryPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &canaryEnv{t: t, home: home, passFile: passFile}
	e.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR=" + filepath.Join(home, "run"),
		"DOCKER_HOST=unix://" + filepath.Join(dir, "no-engine.sock"),
		"OAT_PASSPHRASE_FILE=" + passFile,
		"OAT_BACKEND=file",
		"GORACE=" + os.Getenv("GORACE"),
		envIsolatedKeyring(),
	}
	if debug {
		e.env = append(e.env, "OAT_DEBUG=1")
	}
	vaultPath := filepath.Join(home, ".local", "share", paths.App, store.VaultFile)
	if err := makeVault(vaultPath, canaryPass); err != nil {
		t.Fatal(err)
	}
	return e
}

// envIsolatedKeyring passes on the test's own session keyring marker, so
// the children use the test's anonymous keyring (see scripttest).
func envIsolatedKeyring() string {
	const k = "OAT_TEST_SESSION_KEYRING"
	return k + "=" + os.Getenv(k)
}

// run runs the helper with args and stdin, with extra environment, checks
// its command line and environment while it runs, and returns stdout.
func (e *canaryEnv) run(stdin string, extraEnv []string, args ...string) (stdout string, code int) {
	t := e.t
	t.Helper()
	e.ran++
	cmd := exec.Command("docker-credential-oat", args...)
	cmd.Env = append(append([]string{}, e.env...), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The process waits for stdin: look at it before giving it any.
	pid := strconv.Itoa(cmd.Process.Pid)
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(filepath.Join("/proc", pid, f))
		if err != nil {
			continue // exited already: it did not need stdin
		}
		if l := leak(b); l != nil {
			t.Errorf("%v: /proc/%s/%s holds %v", args, pid, f, l)
		}
	}
	if len(args) > 0 && (args[0] == "get" || args[0] == "store") {
		// Waiting for stdin, after start-up: core dumps are off by now.
		if limit := coreLimit(pid); limit != "0 0" {
			t.Errorf("%v: core file size limit %q, want 0 0", args, limit)
		}
	}
	_, _ = in.Write([]byte(stdin))
	in.Close()
	err = cmd.Wait()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("%v: %v", args, err)
	}
	if l := leak(errb.Bytes()); l != nil {
		t.Errorf("%v: stderr holds %v:\n%s", args, l, errb.String())
	}
	if len(args) > 0 && args[0] != "get" {
		if l := leak(out.Bytes()); l != nil {
			t.Errorf("%v: stdout holds %v:\n%s", args, l, out.String())
		}
	}
	return out.String(), code
}

// must runs a command that has to succeed (exit 0) or, with code >= 0 set,
// exit with that code.
func (e *canaryEnv) must(want int, stdin string, args ...string) string {
	e.t.Helper()
	out, code := e.run(stdin, nil, args...)
	if code != want {
		e.t.Fatalf("%v: exit %d, want %d\n%s", args, code, want, out)
	}
	return out
}

// files checks every file under the home (config.json, XDG config and data
// dirs, state files, the audit of warnings) outside the vault itself.
func (e *canaryEnv) files() {
	t := e.t
	t.Helper()
	vaults := 0
	err := filepath.WalkDir(e.home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := d.Name()
		if name == store.VaultFile || strings.HasPrefix(name, store.VaultFile+".broken-") {
			vaults++
			// Encrypted: not even the vault holds a secret in the clear.
			if l := leak(b); l != nil {
				t.Errorf("the vault %s holds %v in the clear", path, l)
			}
			return nil
		}
		if l := leak(b); l != nil {
			t.Errorf("%s holds %v", path, l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if vaults == 0 {
		t.Fatal("no vault found: the suite looked in the wrong place")
	}
}

func storeReq(server, user, secret string) string {
	return fmt.Sprintf(`{"ServerURL":%q,"Username":%q,"Secret":%q}`, server, user, secret)
}

// TestCanaryNeverEscapes drives every command, on success and error paths,
// with and without OAT_DEBUG, and looks for the canary secrets everywhere
// but get's answer and the encrypted vault.
func TestCanaryNeverEscapes(t *testing.T) {
	// Children inherit a core limit above zero, so that the helper's own
	// zero limit shows.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &lim); err == nil && lim.Cur == 0 && lim.Max != 0 {
		raised := syscall.Rlimit{Cur: min(lim.Max, 1<<20), Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &raised); err == nil {
			t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_CORE, &lim) })
		}
	}
	for _, debug := range []bool{false, true} {
		t.Run(fmt.Sprintf("debug=%v", debug), func(t *testing.T) {
			t.Parallel()
			e := newCanaryEnv(t, debug)
			importFile := filepath.Join(t.TempDir(), "tokens.json")
			if err := os.WriteFile(importFile, []byte(`{"results":[{"label":"imported","is_active":true,"resources":[{"type":"TYPE_REPO","path":"acme/base","scopes":["repo-pull"]}]}]}`), 0o600); err != nil {
				t.Fatal(err)
			}

			// The protocol.
			e.must(0, storeReq("https://index.docker.io/v1/", "acme", canaryHub), "store")
			e.must(0, storeReq("ghcr.io", "robot", canaryOther), "store")
			if out := e.must(0, "https://index.docker.io/v1/\n", "get"); !strings.Contains(out, canaryHub) {
				t.Fatalf("get does not answer with the stored secret: %q", out)
			}
			if out := e.must(0, "ghcr.io\n", "get"); !strings.Contains(out, canaryOther) {
				t.Fatalf("get ghcr.io: %q", out)
			}
			e.must(0, "", "list")
			e.must(0, "", "version")

			// The people commands.
			e.must(0, canaryToken+"\n", "token", "add", "--org", "acme", "--label", "canary", "--pull", "acme/app", "--expires", "30d")
			e.must(0, "", "token", "ls")
			e.must(0, "", "token", "ls", "--json")
			e.must(0, "", "token", "show", "canary")
			e.must(0, "", "token", "show", "canary", "--json")
			e.must(0, "", "token", "edit", "canary", "--push", "acme/app")
			e.must(0, "", "token", "default", "canary")
			if out := e.must(0, "docker.io\n", "get"); !strings.Contains(out, canaryToken) {
				t.Fatalf("get after token default: %q", out)
			}
			e.must(0, "", "token", "import", importFile)
			e.must(0, "", "setup", "--dry-run")
			e.must(0, "", "setup")
			e.must(0, "", "setup", "--creds-store")
			e.run("", nil, "doctor")
			e.run("", nil, "doctor", "--json")
			e.must(0, "", "unlock", "--for", "1m")
			if out, code := e.run("docker.io\n", []string{"OAT_PASSPHRASE_FILE="}, "get"); code != 0 || !strings.Contains(out, canaryToken) {
				t.Fatalf("get while unlocked: exit %d, %q", code, out)
			}
			e.run("", nil, "doctor", "--json")
			e.must(0, "", "lock")
			e.must(0, "", "token", "rm", "canary")
			e.must(0, "ghcr.io\n", "erase")

			// Error paths: bad input carrying a secret, bad flags with a
			// secret on stdin, the wrong passphrase.
			e.must(1, `{"ServerURL":"docker.io","Username":"acme","Secret":"`+canaryBroken, "store")
			e.must(1, `{"ServerURL":"docker.io","Username":"acme","Secret":"`+canaryBroken+`","Secret":[1]}`, "store")
			e.must(1, storeReq("", "acme", canaryBroken), "store")
			e.run(canaryBroken+"\n", nil, "token", "add", "--org", "acme", "--label", "bad label!", "--pull", "acme/app")
			e.run(canaryBroken+"\n", nil, "token", "add", "--org", "acme", "--label", "x", "--pull", "not a/repo//")
			e.run(canaryBroken+"\n", nil, "token", "add", "--org", "acme", "--label", "canary")
			wrong := filepath.Join(t.TempDir(), "wrong")
			if err := os.WriteFile(wrong, []byte(canaryWrong), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"get"}, {"store"}, {"list"}, {"token", "ls"}, {"unlock"}, {"doctor", "--json"}} {
				stdin := "docker.io\n"
				if args[0] == "store" {
					stdin = storeReq("docker.io", "acme", canaryBroken)
				}
				e.run(stdin, []string{"OAT_PASSPHRASE_FILE=" + wrong}, args...)
			}

			// A damaged vault: every command says so, with no secret.
			vaultPath := filepath.Join(e.home, ".local", "share", paths.App, store.VaultFile)
			b, err := os.ReadFile(vaultPath)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte(`"ciphertext": "`)) + 20
			b[i] ^= 1
			if err := os.WriteFile(vaultPath, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"get"}, {"list"}, {"token", "ls", "--json"}, {"doctor", "--json"}} {
				e.run("docker.io\n", nil, args...)
			}
			e.must(1, storeReq("docker.io", "acme", canaryBroken), "store")
			e.must(0, "", "reset", "--yes")
			e.must(0, storeReq("docker.io", "acme", canaryHub), "store")

			e.files()
			if e.ran < 45 {
				t.Fatalf("only %d commands ran", e.ran)
			}
		})
	}
}

// coreLimit returns the soft and hard core file size limits of a running
// process, waiting a while for it to set them.
func coreLimit(pid string) string {
	var limit string
	for range 200 {
		b, err := os.ReadFile(filepath.Join("/proc", pid, "limits"))
		if err != nil {
			return "unreadable: " + err.Error()
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(strings.TrimPrefix(line, "Max core file size")); len(f) >= 2 && strings.HasPrefix(line, "Max core file size") {
				limit = f[0] + " " + f[1]
			}
		}
		if limit == "0 0" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return limit
}
