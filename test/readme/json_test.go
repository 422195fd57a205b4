package readme

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// shape is what the --json table says a JSON value holds: the fields of an
// object (of each element, for an array), each required or not, with the
// shape of its value when it is an object (or an array of objects).
type shape struct {
	fields map[string]field
}

type field struct {
	optional bool
	nested   *shape // nil: a scalar, or an array of scalars
	named    string // the table's *name* of the nested shape, resolved later
}

// jsonTable reads the documentation's table of --json outputs (in one
// file of README.md and docs/*.md, and only one): the shape of each
// command's answer (by its command line without --json) and of each named
// part (*token*).
func jsonTable(t *testing.T) (commands map[string]*shape, named map[string]*shape) {
	t.Helper()
	var found []string
	for _, name := range docs(t) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("\n| `--json` of |")) {
			found = append(found, name)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the --json table should be in exactly one of README.md and docs/*.md, found in %q", found)
	}
	f, err := os.Open(found[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	commands, named = map[string]*shape{}, map[string]*shape{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "| `--json` of |"):
			in = true
			continue
		case in && !strings.HasPrefix(line, "|"):
			in = false
		}
		if !in || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("--json table: %q has %d cells", line, len(cells))
		}
		what, prints, fields := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])
		var sh *shape
		if m := regexp.MustCompile(`^an? (?:array of )?\*(\w+)\*$`).FindStringSubmatch(prints); m != nil {
			sh = &shape{fields: map[string]field{"": {named: m[1]}}} // resolved below
		} else {
			sh = parseFields(t, fields)
		}
		if m := regexp.MustCompile(`^\*(\w+)\*$`).FindStringSubmatch(what); m != nil {
			named[m[1]] = sh
			continue
		}
		for _, cmd := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(what, -1) {
			commands[cmd[1]] = sh
		}
	}
	if len(commands) == 0 {
		t.Fatalf("no rows in the --json table of %s", found[0])
	}
	return commands, named
}

// parseFields reads "`a`, `b`?, `c` (*token*), `d` (`x`, `y`?)".
func parseFields(t *testing.T, s string) *shape {
	t.Helper()
	sh := &shape{fields: map[string]field{}}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(s, ", ") {
		if s[0] != '`' {
			t.Fatalf("--json table: cannot read fields at %q", s)
		}
		end := strings.IndexByte(s[1:], '`') + 1
		name := s[1:end]
		s = s[end+1:]
		var f field
		if strings.HasPrefix(s, "?") {
			f.optional, s = true, s[1:]
		}
		if rest := strings.TrimLeft(s, " "); strings.HasPrefix(rest, "(") {
			depth, i := 0, 0
			for i = range rest {
				if rest[i] == '(' {
					depth++
				} else if rest[i] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			inner := rest[1:i]
			switch m := regexp.MustCompile(`^\*(\w+)\*$`).FindStringSubmatch(inner); {
			case m != nil:
				f.named = m[1]
			case strings.HasPrefix(inner, "`"):
				f.nested = parseFields(t, inner)
			} // otherwise prose about a scalar's values
			s = rest[i+1:]
		}
		sh.fields[name] = f
	}
	return sh
}

// resolve replaces *name* references by the named shapes.
func resolve(t *testing.T, sh *shape, named map[string]*shape) *shape {
	t.Helper()
	if f, ok := sh.fields[""]; ok && len(sh.fields) == 1 {
		n, ok := named[f.named]
		if !ok {
			t.Fatalf("--json table: no *%s* row", f.named)
		}
		return resolve(t, n, named)
	}
	for k, f := range sh.fields {
		if f.named != "" {
			n, ok := named[f.named]
			if !ok {
				t.Fatalf("--json table: no *%s* row", f.named)
			}
			f.nested, f.named = n, ""
		}
		if f.nested != nil {
			f.nested = resolve(t, f.nested, named)
		}
		sh.fields[k] = f
	}
	return sh
}

// check reports where v does not have shape sh: a missing required field,
// a field the table does not list.
func check(sh *shape, v any, at string) []string {
	var errs []string
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			errs = append(errs, check(sh, e, at+"["+strconv.Itoa(i)+"]")...)
		}
	case map[string]any:
		for k := range v {
			if _, ok := sh.fields[k]; !ok {
				errs = append(errs, at+"."+k+": not in the --json table")
			}
		}
		for k, f := range sh.fields {
			val, ok := v[k]
			if !ok {
				if !f.optional {
					errs = append(errs, at+"."+k+": missing")
				}
				continue
			}
			if f.nested != nil {
				errs = append(errs, check(f.nested, val, at+"."+k)...)
			}
		}
	default:
		errs = append(errs, at+": not an object")
	}
	return errs
}

// seen collects which optional fields some output had, so the test can
// say the table's claims were all exercised.
func seen(sh *shape, v any, at string, got map[string]bool) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			seen(sh, e, at, got)
		}
	case map[string]any:
		for k, f := range sh.fields {
			if val, ok := v[k]; ok {
				got[at+"."+k] = true
				if f.nested != nil {
					seen(f.nested, val, at+"."+k, got)
				}
			}
		}
	}
}

// TestReadmeJSON runs every command of the documentation's --json table, decodes
// its answer strictly (one value, nothing after it), and checks that it
// has exactly the fields the table lists, and no secret.
func TestReadmeJSON(t *testing.T) {
	commands, named := jsonTable(t)
	for k, sh := range commands {
		commands[k] = resolve(t, sh, named)
	}
	bin := t.TempDir()
	build(t, bin)
	home := t.TempDir()
	secret := "dckr_oat_readmeJSONsecret0000000001"
	env := []string{
		"PATH=" + bin + ":/usr/bin:/bin",
		"HOME=" + home,
		"DOCKER_CONFIG=" + filepath.Join(home, ".docker"),
		"DOCKER_HOST=unix://" + filepath.Join(home, "no-docker.sock"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local/share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"OAT_BACKEND=file", "OAT_CACHE=off",
		"OAT_PASSPHRASE=correct horse battery staple, for the readme",
	}
	sh := func(stdin string, args ...string) ([]byte, int) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env, cmd.Dir, cmd.Stdin = env, home, strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("%s: the secret on stderr", strings.Join(args, " "))
		}
		return out, cmd.ProcessState.ExitCode()
	}
	// Records that fill every optional field: a description, an expiry,
	// push, public read, an organization scope, a login's unknown scopes,
	// and an import's unrecognised scope.
	if out, code := sh(secret, filepath.Join(bin, "docker-credential-oat"), "token", "add", "--org", "acme", "--label", "ci-pull",
		"--description", "pulls", "--expires", "90d", "--pull", "acme/*", "--push", "acme/app", "--public-read", "--org-scope", "member-read"); code != 0 {
		t.Fatalf("token add: %d %s", code, out)
	}
	if out, code := sh(`{"ServerURL":"https://index.docker.io/v1/","Username":"other","Secret":"dckr_oat_readmeJSONlogin000000002"}`,
		filepath.Join(bin, "docker-credential-oat"), "store"); code != 0 {
		t.Fatalf("store: %d %s", code, out)
	}
	imp := `{"results":[{"label":"ci-pull","is_active":true,"resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["repo-pull","repo-frobnicate"]}]},
{"label":"new-one","is_active":true,"resources":[{"type":"TYPE_REPO","path":"acme/app","scopes":["repo-pull"]}]}]}`
	if err := os.WriteFile(filepath.Join(home, "tokens.json"), []byte(imp), 0o600); err != nil {
		t.Fatal(err)
	}

	runs := map[string][]string{ // the table's command → what to run
		"docker-credential-oat version":           {"docker-credential-oat", "version", "--json"},
		"oat-proxy version":                       {"oat-proxy", "version", "--json"},
		"docker-credential-oat token ls":          {"docker-credential-oat", "token", "ls", "--json"},
		"docker-credential-oat token show LABEL":  {"docker-credential-oat", "token", "show", "--json", "ci-pull"},
		"docker-credential-oat token import FILE": {"docker-credential-oat", "token", "import", "--json", "--dry-run", "tokens.json"},
		"docker-credential-oat doctor":            {"docker-credential-oat", "doctor", "--json"},
		"oat-proxy ca":                            {"oat-proxy", "ca", "--json"},
		"oat-proxy trust":                         {"oat-proxy", "trust", "--json", "--dry-run"}, // never for real: the test may run as root
	}
	var documented []string
	for k := range commands {
		documented = append(documented, k)
	}
	sort.Strings(documented)
	exercised := map[string]bool{}
	for _, readme := range documented {
		argv, ok := runs[readme]
		if !ok {
			t.Errorf("the --json table documents %q, which this test does not run", readme)
			continue
		}
		out, code := sh("", append([]string{filepath.Join(bin, argv[0])}, argv[1:]...)...)
		if code != 0 && code != 1 {
			t.Errorf("%s: exit %d\n%s", strings.Join(argv, " "), code, out)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Errorf("%s --json: %v\n%s", readme, err, out)
			continue
		}
		if dec.More() || dec.InputOffset() != int64(len(bytes.TrimRight(out, "\n"))) {
			t.Errorf("%s --json: more than one JSON value:\n%s", readme, out)
		}
		for _, e := range check(commands[readme], v, readme) {
			t.Errorf("%s", e)
		}
		seen(commands[readme], v, readme, exercised)
		if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("readmeJSONlogin")) {
			t.Errorf("%s --json printed a secret:\n%s", readme, out)
		}
	}
	// The token views of ls cover every field of *token* and *scopes*.
	for _, f := range []string{"description", "expires", "source", "scopes.unknown", "scopes.repos", "scopes.repos.push", "scopes.public_read", "scopes.org"} {
		if !exercised["docker-credential-oat token ls."+f] {
			t.Errorf("token ls --json never had %s: the --json table's name for it is unproven", f)
		}
	}
	if !exercised["docker-credential-oat token import FILE.notices"] || !exercised["docker-credential-oat token import FILE.skipped.reason"] || !exercised["docker-credential-oat doctor.findings.fix"] {
		t.Errorf("import's notices and skipped, or doctor's fix, never appeared: %v", exercised)
	}
}
