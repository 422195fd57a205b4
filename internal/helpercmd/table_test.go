package helpercmd

import (
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/command/commandtest"
)

// TestTableComplete fails when a command has no description or a flag no
// help: what --help, the man page and the completions say comes from the
// table alone.
func TestTableComplete(t *testing.T) {
	t.Parallel()
	commandtest.CheckTable(t, Table())
}

// TestEnvironmentListed fails when the helper reads a variable that its
// help and man page do not list, or spells one of theirs out again. doctor
// reads HTTPS_PROXY as the clients it checks for do.
func TestEnvironmentListed(t *testing.T) {
	t.Parallel()
	commandtest.CheckEnvReads(t, Table(), "HTTPS_PROXY", "https_proxy")
}

// TestHelpAndUsageErrors runs every command's --help and -h (exit 0, its
// usage on stdout), and a bad flag on every command with flags (exit 2,
// error and hint on stderr).
func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	Table().Walk(func(path []*command.Command) {
		words := make([]string, 0, len(path))
		for _, c := range path[1:] {
			words = append(words, c.Name)
		}
		line := command.UsageLine(path)
		for _, h := range []string{"--help", "-h"} {
			out, errOut, code := run(t, home, nil, "", append(words, h)...)
			if code != 0 || !strings.HasPrefix(out, "Usage: "+line+"\n") || errOut != "" {
				t.Errorf("%v %s: exit %d, stdout %q, stderr %q", words, h, code, out, errOut)
			}
		}
		cmd := path[len(path)-1]
		if cmd.Raw || len(cmd.FlagList()) == 0 || len(path) == 1 {
			return
		}
		_, errOut, code := run(t, home, nil, "", append(words, "--no-such-flag")...)
		if code != 2 || !strings.Contains(errOut, "error: flag provided but not defined: -no-such-flag") || !strings.Contains(errOut, "hint: run '"+strings.Join(append([]string{Program}, words...), " ")+" --help'") {
			t.Errorf("%v --no-such-flag: exit %d, stderr %q", words, code, errOut)
		}
	})
	// Flags after the arguments count, and an argument where none is taken
	// is a usage error, not ignored.
	if _, errOut, code := run(t, home, nil, "", "reset", "x", "--yes"); code != 2 || !strings.Contains(errOut, `unexpected argument "x"`) {
		t.Errorf("reset x --yes: exit %d, %q", code, errOut)
	}
	if _, errOut, code := run(t, home, nil, "", "token", "show"); code != 2 || !strings.Contains(errOut, "give one token LABEL") {
		t.Errorf("token show: exit %d, %q", code, errOut)
	}
}
