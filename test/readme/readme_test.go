// Package readme runs the commands of the documentation's sh blocks
// (README.md, then docs/*.md) that are safe to run anywhere (help,
// version, setup in an isolated home, token add of made-up tokens,
// token ls, doctor, ca) against freshly built binaries, so that the
// newcomer's path does not rot. Blocks fenced as plain text (installing
// packages, logging in, CI recipes) are documentation only. It also checks
// the --json table against the commands' output, and the README's layout
// table against the repository's directories.
package readme

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// safe are the command lines that may run, by their first words.
var safe = [][]string{
	{"docker-credential-oat", "version"},
	{"docker-credential-oat", "--help"},
	{"docker-credential-oat", "setup"},
	{"docker-credential-oat", "token", "ls"},
	{"docker-credential-oat", "token", "default"},
	{"docker-credential-oat", "doctor"},
	{"oat-proxy", "--help"},
	{"oat-proxy", "version"},
	{"oat-proxy", "ca"},
}

// docs are the documentation files whose sh blocks run, in order: the
// README first, then docs/*.md by name.
func docs(t *testing.T) []string {
	t.Helper()
	more, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(more)
	return append([]string{"../../README.md"}, more...)
}

// commands are the lines of the documentation's ```sh blocks,
// continuations joined and comments removed.
func commands(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, name := range docs(t) {
		out = append(out, shLines(t, name)...)
	}
	return out
}

func shLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	in, cont := false, ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case !in && trimmed == "```sh":
			in = true
			continue
		case in && trimmed == "```":
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 && !strings.Contains(line[:i], "'") {
			line = line[:i]
		}
		line = cont + strings.TrimSpace(line)
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`) + " "
			continue
		}
		cont = ""
		if line != "" {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tokenAdd is how the README feeds a token to token add; the test sets
// the variables to made-up tokens.
var tokenAdd = regexp.MustCompile(`^printf '%s' "\$(ACME_OAT|PULL_OAT|PUSH_OAT)" \| (docker-credential-oat token add [^|;&<>$` + "`" + `]*)$`)

func isSafe(line string) bool {
	if m := tokenAdd.FindStringSubmatch(line); m != nil {
		return true
	}
	if strings.ContainsAny(line, "|;&<>`$") {
		return false
	}
	words := strings.Fields(line)
	for _, s := range safe {
		if len(words) >= len(s) && slices.Equal(words[:len(s)], s) {
			return true
		}
	}
	return false
}

func build(t *testing.T, dir string) {
	t.Helper()
	for _, c := range []string{"docker-credential-oat", "oat-proxy"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, c), "../../cmd/"+c)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", c, err, out)
		}
	}
}

func TestReadmeCommands(t *testing.T) {
	lines := commands(t)
	if len(lines) == 0 {
		t.Fatal("no ```sh commands in README.md or docs/")
	}
	bin := t.TempDir()
	build(t, bin)
	home := t.TempDir()
	env := []string{
		"PATH=" + bin + ":/usr/bin:/bin",
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local/share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"OAT_BACKEND=file",
		"OAT_PASSPHRASE=correct horse battery staple, for the readme",
		"OAT_CACHE=off",
		"OAT_QUIET=1",
		"ACME_OAT=dckr_oat_readmeAcmeToken0000000",
		"PULL_OAT=dckr_oat_readmePullToken0000000",
		"PUSH_OAT=dckr_oat_readmePushToken0000000",
	}
	var ran []string
	outputs := map[string]string{}
	for _, line := range lines {
		if !isSafe(line) {
			t.Logf("not run: %s", line)
			continue
		}
		cmd := exec.Command("sh", "-c", line)
		cmd.Env = env
		cmd.Dir = home
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if strings.HasPrefix(line, "docker-credential-oat doctor") && errors.As(err, &exit) && exit.ExitCode() == 1 {
			err = nil // problems found (no Docker here): still a report
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
			continue
		}
		t.Logf("ran: %s", line)
		ran = append(ran, line)
		outputs[line] = string(out)
	}
	for _, want := range []string{
		"docker-credential-oat version", "oat-proxy --help",
		"docker-credential-oat setup --dry-run", "docker-credential-oat setup",
		"docker-credential-oat token ls", "docker-credential-oat doctor",
	} {
		if !slices.Contains(ran, want) {
			t.Errorf("the documentation no longer runs %q (ran %q)", want, ran)
		}
	}
	// The tokens the documentation adds are there, by label, with no secret.
	ls := outputs["docker-credential-oat token ls"]
	for _, want := range []string{"ci-pull", "release"} {
		if !strings.Contains(ls, want) {
			t.Errorf("token ls after the documentation's token add lacks %q:\n%s", want, ls)
		}
	}
	if strings.Contains(ls, "readmePullToken") {
		t.Errorf("token ls printed a secret:\n%s", ls)
	}
	// setup, as the README says, wired Docker Hub to the helper.
	b, err := os.ReadFile(filepath.Join(home, ".docker", "config.json"))
	if err != nil {
		t.Fatalf("setup wrote no config.json: %v", err)
	}
	var cfg struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.CredHelpers["https://index.docker.io/v1/"] != "oat" && cfg.CredHelpers["index.docker.io"] != "oat" {
		t.Errorf("config.json after setup: %s", b)
	}
}
