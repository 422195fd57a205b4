package helpercmd

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/passphrase"
)

// TestColour: token ls and doctor colour their output on a terminal only,
// and never with NO_COLOR set to any value; the table's columns line up
// either way.
func TestColour(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "oat")
	runAt := func(now time.Time, terminal bool, extra map[string]string, stdin string, args ...string) (string, int) {
		e := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": testPW, "DOCKER_CONFIG": filepath.Join(home, "docker"), "DOCKER_HOST": "unix:///nonexistent"}
		for k, v := range extra {
			e[k] = v
		}
		var out, errb bytes.Buffer
		code := Run(context.Background(), args, Options{
			Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: env(e),
			OpenTTY:     func() (passphrase.TTY, error) { return nil, errors.New("no terminal") },
			VaultParams: fastParams, Now: func() time.Time { return now },
			IsTerminal: func(v any) bool { return terminal && v == any(&out) },
		})
		return out.String(), code
	}
	for _, tok := range []struct{ label, expires string }{{"soon", "2026-12-10"}, {"gone", "2026-11-30"}, {"a-long-label-for-columns", ""}} {
		args := []string{"token", "add", "--org", "acme", "--label", tok.label, "--pull", "acme/*"}
		if tok.expires != "" {
			args = append(args, "--expires", tok.expires)
		}
		if out, code := runAt(testNow, false, nil, "dckr_oat_colour"+tok.label+"0000000000", args...); code != 0 {
			t.Fatalf("token add %s: %d %s", tok.label, code, out)
		}
	}
	later := testNow.AddDate(0, 0, 9) // gone has expired, soon expires within 14 days
	strip := strings.NewReplacer("\x1b[31m", "", "\x1b[33m", "", "\x1b[32m", "", "\x1b[39m", "", "\x1b[0m", "")
	plain, _ := runAt(later, false, nil, "", "token", "ls")
	if strings.Contains(plain, "\x1b") {
		t.Fatalf("token ls, not a terminal, coloured:\n%q", plain)
	}

	tests := []struct {
		name     string
		terminal bool
		env      map[string]string
		colour   bool
	}{
		{"terminal", true, nil, true},
		{"not a terminal", false, nil, false},
		{"NO_COLOR=1", true, map[string]string{"NO_COLOR": "1"}, false},
		{"NO_COLOR=0", true, map[string]string{"NO_COLOR": "0"}, false},
		{"NO_COLOR empty", true, map[string]string{"NO_COLOR": ""}, true},
		{"TERM=dumb", true, map[string]string{"TERM": "dumb"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, code := runAt(later, tt.terminal, tt.env, "", "token", "ls")
			if code != 0 {
				t.Fatalf("token ls: %d", code)
			}
			doctor, _ := runAt(later, tt.terminal, tt.env, "", "doctor")
			if !tt.colour {
				if strings.Contains(ls+doctor, "\x1b") {
					t.Errorf("coloured output:\n%q\n%q", ls, doctor)
				}
				return
			}
			for _, want := range []string{"\x1b[31mexpired", "\x1b[33min 8 days"} {
				if !strings.Contains(ls, want) {
					t.Errorf("token ls lacks %q:\n%q", want, ls)
				}
			}
			if got := strip.Replace(ls); got != plain {
				t.Errorf("token ls on a terminal, escapes removed, is not the plain table:\n%s\nwant:\n%s", got, plain)
			}
			if !strings.Contains(doctor, "\x1b[31mFAIL ") && !strings.Contains(doctor, "\x1b[33mWARN ") {
				t.Errorf("doctor's statuses not coloured:\n%q", doctor)
			}
			if !strings.Contains(doctor, "\x1b[32mOK   \x1b[0m store") {
				t.Errorf("doctor's OK not green:\n%q", doctor)
			}
		})
	}
}
