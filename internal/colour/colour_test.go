package colour

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
)

func TestEnabled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		terminal bool
		env      map[string]string
		want     bool
	}{
		{"terminal", true, nil, true},
		{"terminal, TERM set", true, map[string]string{"TERM": "xterm-256color"}, true},
		{"not a terminal", false, nil, false},
		{"NO_COLOR=1", true, map[string]string{"NO_COLOR": "1"}, false},
		// no-color.org: any non-empty value, whatever it says.
		{"NO_COLOR=0", true, map[string]string{"NO_COLOR": "0"}, false},
		{"NO_COLOR=false", true, map[string]string{"NO_COLOR": "false"}, false},
		{"NO_COLOR=space", true, map[string]string{"NO_COLOR": " "}, false},
		{"NO_COLOR empty", true, map[string]string{"NO_COLOR": ""}, true},
		{"TERM=dumb", true, map[string]string{"TERM": "dumb"}, false},
		{"not a terminal, NO_COLOR empty", false, map[string]string{"NO_COLOR": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Enabled(tt.terminal, func(k string) string { return tt.env[k] })
			if got != tt.want {
				t.Errorf("Enabled(%v, %v) = %v, want %v", tt.terminal, tt.env, got, tt.want)
			}
		})
	}
}

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, v := range []any{f, &bytes.Buffer{}, nil, "stdout"} {
		if IsTerminal(v) {
			t.Errorf("IsTerminal(%T) = true", v)
		}
	}
}

func TestPainter(t *testing.T) {
	t.Parallel()
	off := New(false)
	for _, f := range []func(string) string{off.Red, off.Yellow, off.Green, off.Plain} {
		if got := f("expired"); got != "expired" {
			t.Errorf("an off painter changed the text: %q", got)
		}
	}
	on := New(true)
	if got, want := on.Red("expired"), "\x1b[31mexpired\x1b[0m"; got != want {
		t.Errorf("Red = %q, want %q", got, want)
	}
	for _, f := range []func(string) string{on.Red, on.Yellow, on.Green, on.Plain} {
		if got := f("x"); len(got) != len("x")+9 || !strings.HasSuffix(got, "\x1b[0m") {
			t.Errorf("painted %q: not nine bytes of escapes around the text", got)
		}
	}
}

// TestPainterKeepsColumns: a table whose column is painted in different
// colours (Plain for the other cells, the header included) lines up as the same table unpainted.
func TestPainterKeepsColumns(t *testing.T) {
	t.Parallel()
	table := func(p Painter) string {
		var b bytes.Buffer
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		tw.Write([]byte("A\t" + p.Plain("EXPIRES") + "\tB\n"))
		tw.Write([]byte("x\t" + p.Red("expired") + "\ty\n"))
		tw.Write([]byte("long-label\t" + p.Plain("never") + "\tz\n"))
		tw.Flush()
		return b.String()
	}
	strip := strings.NewReplacer("\x1b[31m", "", "\x1b[39m", "", "\x1b[0m", "")
	if got, want := strip.Replace(table(New(true))), table(New(false)); got != want {
		t.Errorf("painted table, escapes removed:\n%s\nwant:\n%s", got, want)
	}
}
