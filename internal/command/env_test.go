package command

import (
	"bytes"
	"strings"
	"testing"
)

func TestEnvVar(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TOOL_DEBUG": "1", "TOOL_QUIET": "yes"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		v        EnvVar
		synopsis string
		on       bool
	}{
		{EnvVar{Name: "TOOL_DEBUG", Value: "1"}, "TOOL_DEBUG=1", true},
		{EnvVar{Name: "TOOL_QUIET", Value: "1"}, "TOOL_QUIET=1", false}, // set, to another value
		{EnvVar{Name: "TOOL_OTHER", Value: "1"}, "TOOL_OTHER=1", false}, // unset
		{EnvVar{Name: "TOOL_DEBUG"}, "TOOL_DEBUG", false},               // not a switch
	} {
		if got := tc.v.Synopsis(); got != tc.synopsis {
			t.Errorf("%+v: Synopsis() = %q, want %q", tc.v, got, tc.synopsis)
		}
		if got := tc.v.On(getenv); got != tc.on {
			t.Errorf("%+v: On() = %v, want %v", tc.v, got, tc.on)
		}
	}
	if d := Debug.WithHelp("diagnostics"); d.Name != Debug.Name || d.Value != Debug.Value || d.Help != "diagnostics" || Debug.Help != "" {
		t.Errorf("WithHelp: %+v, and Debug became %+v", d, Debug)
	}
}

// The table's Environment is what the help lists and what Reads knows,
// by the variables' names alone.
func TestEnvironmentHelp(t *testing.T) {
	t.Parallel()
	p := sample()
	var b bytes.Buffer
	p.Help(&b, []*Command{p.Root})
	help := b.String()
	for _, want := range []string{"\nEnvironment:\n", "  TOOL_HOME      where files go\n", "  TOOL_DEBUG=1   diagnostics\n"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	for name, want := range map[string]bool{"TOOL_HOME": true, "TOOL_DEBUG": true, "TOOL_DEBUG=1": false, "HOME": false} {
		if got := p.Reads(name); got != want {
			t.Errorf("Reads(%q) = %v, want %v", name, got, want)
		}
	}
}
