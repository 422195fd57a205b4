package command

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sample is a small table with what the generators must handle: a group,
// an alias, a flag-looking alias, value and boolean flags, roff control
// characters at the start of a line and a backslash.
func sample() *Program {
	run := func([]string) error { return nil }
	return &Program{
		Root: &Command{
			Name:  "tool",
			Short: "A sample tool.",
			Long:  "First line.\n.dot at the start\n\n  indented example\nback\\slash",
			Sub: []*Command{
				{Name: "version", Aliases: []string{"--version"}, Short: "print the version", Long: "Prints it.",
					Flags: func(*flag.FlagSet) Runner { return run }},
				{Name: "token", Short: "manage tokens", Long: "Tokens.", Sub: []*Command{
					{Name: "add", Args: "LABEL", Short: "add a token", Long: "Adds 'one' token.",
						Flags: func(fs *flag.FlagSet) Runner {
							fs.String("org", "", "the `ORG`anization")
							fs.Bool("default", false, "make it the default")
							return run
						}},
					{Name: "ls", Aliases: []string{"list"}, Short: "list tokens", Long: "Lists.",
						Flags: func(fs *flag.FlagSet) Runner { fs.Bool("json", false, "print JSON: one [object] a token"); return run }},
				}},
			},
		},
		Env:      []EnvVar{{Name: "TOOL_HOME", Help: "where files go"}, {Name: "TOOL_DEBUG", Value: "1", Help: "diagnostics"}},
		Examples: []string{"tool token add --org acme ci"},
	}
}

func TestMan(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	sample().Man(&b, "oat")
	man := b.String()
	for _, want := range []string{
		".TH TOOL 1 \"\" \"oat\" \"User Commands\"\n.nh\n.ad l\n",
		".SH NAME\ntool \\- A sample tool\n",
		"\\&.dot at the start\n",
		".nf\n  indented example\n.fi\n",
		"back\\eslash",
		".SS \"token add [flags] LABEL\"\n",
		".BI \\-\\-org \" ORG\"\nthe ORGanization\n",
		".B \\-\\-default\nmake it the default\n",
		".SS \"token ls [flags]\"\nAlso: list.\n",
		".SH ENVIRONMENT\n.TP\n.B TOOL_HOME\nwhere files go\n.TP\n.B TOOL_DEBUG=1\ndiagnostics\n",
		".SH EXAMPLES\n.PP\n.nf\ntool token add \\-\\-org acme ci\n.fi\n",
	} {
		if !strings.Contains(man, want) {
			t.Errorf("man page lacks %q:\n%s", want, man)
		}
	}
	for i, line := range strings.Split(man, "\n") {
		if strings.HasPrefix(line, "'") {
			t.Errorf("line %d starts with a control character: %q", i+1, line)
		}
	}
	if groff, err := exec.LookPath("groff"); err == nil {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(man)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("groff: %v\n%s", err, out)
		}
	}
}

func TestRoffEscape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"--flag":        `\-\-flag`,
		".start":        `\&.start`,
		"'quote":        `\&'quote`,
		`a\b`:           `a\eb`,
		"HTTPS_PROXY=…": `HTTPS_PROXY=\[u2026]`,
	} {
		if got := roffEscape(in); got != want {
			t.Errorf("roffEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompletionUnknownShell(t *testing.T) {
	t.Parallel()
	if err := sample().Completion(&bytes.Buffer{}, "tcsh"); err == nil {
		t.Fatal("tcsh: no error")
	}
}

// TestBashCompletion runs the generated bash function on command lines
// and checks what it offers.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	var script bytes.Buffer
	if err := sample().Completion(&script, "bash"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "tool")
	if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line []string
		want string
	}{
		{[]string{"tool", ""}, "version token"},
		{[]string{"tool", "to"}, "token"},
		{[]string{"tool", "token", ""}, "add ls list"},
		{[]string{"tool", "token", "add", "--"}, "--default --org"},
		{[]string{"tool", "token", "add", "--org", "acme", "--d"}, "--default"},
		{[]string{"tool", "token", "list", "-"}, "--json"},
		{[]string{"tool", "token", "ls", "--json", ""}, "--json"},
		{[]string{"tool", "nope", ""}, "version token"},
	} {
		words := make([]string, len(tc.line))
		for i, w := range tc.line {
			words[i] = "'" + w + "'"
		}
		prog := "cd " + dir + "; source ./tool; COMP_WORDS=(" + strings.Join(words, " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(tc.line)-1) + "; _tool; echo \"${COMPREPLY[*]}\""
		out, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q: offered %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestCompletionSyntax checks every script with its own shell's parser,
// where that shell is installed.
func TestCompletionSyntax(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			var script bytes.Buffer
			if err := sample().Completion(&script, shell); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(script.String(), "token add") {
				t.Errorf("no 'token add' in the script:\n%s", script.String())
			}
			if strings.Contains(script.String(), "'--version'") {
				t.Errorf("a flag-looking alias is offered as a command:\n%s", script.String())
			}
			sh, err := exec.LookPath(shell)
			if err != nil {
				t.Skipf("%s is not installed: syntax not checked", shell)
			}
			cmd := exec.Command(sh, "-n")
			cmd.Stdin = &script
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", shell, err, out)
			}
		})
	}
}

// TestFishCompletion asks fish itself what it would complete, where fish
// is installed.
func TestFishCompletion(t *testing.T) {
	t.Parallel()
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish is not installed")
	}
	var script bytes.Buffer
	if err := sample().Completion(&script, "fish"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tool.fish")
	if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]string{
		"tool ":                    "token version",
		"tool token ":              "add list ls",
		"tool token add --":        "--default --org",
		"tool token add --org x -": "--default --org",
		"tool token list --":       "--json",
	} {
		out, err := exec.Command(fish, "--no-config", "-c", "source "+file+"; complete -C '"+line+"'").CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", line, err, out)
		}
		var got []string
		for l := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
			word, _, _ := strings.Cut(l, "\t")
			if word != "" {
				got = append(got, word)
			}
		}
		slices.Sort(got)
		if g := strings.Join(got, " "); g != want {
			t.Errorf("%q: offered %q, want %q", line, g, want)
		}
	}
}

// TestZshCompletion runs the zsh function with the completion system's
// functions stubbed to print what they are given.
func TestZshCompletion(t *testing.T) {
	t.Parallel()
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("zsh is not installed")
	}
	var script bytes.Buffer
	if err := sample().Completion(&script, "zsh"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "_tool")
	if err := os.WriteFile(file, script.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	stubs := `compdef() { :; }; _normal() { print normal; }
_describe() { print -r -- "describe ${(j: :)${(P)4}}"; }
_arguments() { shift 2; print -r -- "arguments $*"; }
`
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"tool", ""}, "describe version:print the version token:manage tokens"},
		{[]string{"tool", "token", ""}, "describe add:add a token ls:list tokens list:list tokens"},
		{[]string{"tool", "token", "add", "--org", "x", "-"}, "arguments --default[make it the default] --org[the ORGanization]:org:_files *:file:_files"},
		{[]string{"tool", "token", "add", "--", ""}, "normal"},
		{[]string{"tool", "token", "ls", "-"}, `arguments --json[print JSON\: one \[object\] a token] *:file:_files`},
	} {
		quoted := make([]string, len(tc.words))
		for i, w := range tc.words {
			quoted[i] = "'" + w + "'"
		}
		prog := stubs + "source " + file + "\nwords=(" + strings.Join(quoted, " ") + "); CURRENT=" + strconv.Itoa(len(tc.words)) + "; _tool"
		out, err := exec.Command(zsh, "-f", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.words, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.words, got, tc.want)
		}
	}
}
