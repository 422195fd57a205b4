// Package commandtest checks a command table in tests.
package commandtest

import (
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/command"
)

// CheckTable fails t for every command without a description and every
// flag without help, and for two commands of one parent with one name.
func CheckTable(t testing.TB, p *command.Program) {
	t.Helper()
	p.Walk(func(path []*command.Command) {
		cmd := path[len(path)-1]
		name := command.CommandLine(path)
		if strings.TrimSpace(cmd.Short) == "" {
			t.Errorf("%s: no Short description", name)
		}
		if len(path) > 1 && strings.TrimSpace(cmd.Long) == "" {
			t.Errorf("%s: no Long description", name)
		}
		if cmd.Flags == nil && len(cmd.Sub) == 0 {
			t.Errorf("%s: neither runs nor has subcommands", name)
		}
		for _, f := range cmd.FlagList() {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s: no help", name, f.Name)
			}
		}
		seen := map[string]bool{}
		for _, s := range cmd.Sub {
			for _, w := range append([]string{s.Name}, s.Aliases...) {
				if seen[w] {
					t.Errorf("%s: two commands named %q", name, w)
				}
				seen[w] = true
			}
		}
	})
}
