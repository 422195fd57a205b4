package demo

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// build builds the two binaries into dir and puts the repository's .tools
// on PATH when crane is not there already (make test-demo installs the
// pinned crane the e2e suite uses).
func build(t *testing.T, dir string) {
	t.Helper()
	if _, err := exec.LookPath("crane"); err != nil {
		tools, _ := filepath.Abs("../../../../.tools")
		if !fileExists(filepath.Join(tools, "crane")) {
			t.Fatal("the demo needs crane: on PATH, or in .tools (make test-demo installs it there, pinned)")
		}
		t.Setenv("PATH", tools+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	for _, c := range []string{"docker-credential-oat", "oat-proxy"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, c), "../../../../cmd/"+c)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", c, err, out)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// section is the text of the demo's step whose header starts with title,
// up to the next step.
func section(t *testing.T, out, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "\n==> "+title)
	if !ok {
		t.Fatalf("no step %q in the demo's output:\n%s", title, out)
	}
	s, _, _ := strings.Cut(rest, "\n==> ")
	return s
}

// TestDemo runs make demo's story with crane, and with the docker CLI when
// it is installed, and checks its key lines: the pull allowed and the push
// refused with the proxy's sentence through oat-proxy, the hub's own error
// without it, doctor's report, and nothing left running or on disk.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the whole story")
	}
	bin := t.TempDir()
	build(t, bin)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	clients := map[string]string{ // the hub's own refusal, as each client prints it
		"crane": "UNAUTHORIZED: authentication required",
	}
	if _, err := exec.LookPath("docker"); err == nil {
		clients["docker"] = "denied: requested access to the resource is denied"
	}
	for name, hubError := range clients {
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // the demo's directory, and the hub's
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := Run(ctx, Options{Bin: bin, Client: name, Out: &out}); err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			text := out.String()
			t.Log(text)

			wiring := section(t, text, "Wire Docker")
			for _, want := range []string{
				"$ docker-credential-oat setup",
				`$ printf '%s' "$ACME_OAT" | docker-credential-oat token add --org acme --label ci-pull --pull 'acme/*'`,
				`$ printf '%s' "$ACME_OAT" | ` + name + ` `,
				"ci-pull  acme  pull acme/*",
			} {
				if !strings.Contains(wiring, want) {
					t.Errorf("the wiring step lacks %q:\n%s", want, wiring)
				}
			}

			through := section(t, text, "Through oat-proxy")
			pull := "$ " + shellLine(pickMust(t, name).pull) + "\n"
			push := "$ " + shellLine(pickMust(t, name).push) + "\n"
			for _, want := range []string{
				pull, "# allowed: acme/app:1.0 pulled through oat-proxy",
				push, `token "ci-pull" (acme) may not push to acme/app: it has pull only. Use a token with Image Push on acme/app`,
				`"decision":"denied"`,
			} {
				if !strings.Contains(through, want) {
					t.Errorf("through oat-proxy, no %q:\n%s", want, through)
				}
			}
			if i, j := strings.Index(through, pull), strings.Index(through, push); i < 0 || j < i {
				t.Errorf("through oat-proxy, the pull is not before the push:\n%s", through)
			}

			without := section(t, text, "The same push without oat-proxy")
			if !strings.Contains(without, push) || !strings.Contains(without, hubError) {
				t.Errorf("without oat-proxy, no %q with %q:\n%s", push, hubError, without)
			}
			if strings.Contains(without, "may not push") {
				t.Errorf("without oat-proxy, the proxy's sentence:\n%s", without)
			}

			doctor := section(t, text, "docker-credential-oat doctor")
			for _, want := range []string{"$ docker-credential-oat doctor", `tokens    token "ci-pull" (acme): pull acme/*`, "proxy     the proxy at 127.0.0.1:"} {
				if !strings.Contains(doctor, want) {
					t.Errorf("doctor's step lacks %q:\n%s", want, doctor)
				}
			}

			// The demo masks the secret as a last guard: no command
			// should have printed it to be masked.
			if regexp.MustCompile(`dckr_oat_[A-Za-z0-9]{8}`).MatchString(text) || strings.Contains(text, "[the token]") {
				t.Errorf("a command of the demo printed the token:\n%s", text)
			}
			left, err := os.ReadDir(tmp)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) > 0 {
				t.Errorf("the demo left %v in its temporary directory", left)
			}
			if pids := running(t, bin); len(pids) > 0 {
				t.Errorf("processes of the demo still running: %v", pids)
			}
		})
	}
}

func pickMust(t *testing.T, name string) client {
	t.Helper()
	c, err := pickClient(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// running lists the processes whose executable is in dir.
func running(t *testing.T, dir string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/exe")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range procs {
		if exe, err := os.Readlink(p); err == nil && strings.HasPrefix(exe, dir+string(os.PathSeparator)) {
			out = append(out, p)
		}
	}
	return out
}
