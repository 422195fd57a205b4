package passphrase

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fakeTTY struct {
	answers []string
	out     bytes.Buffer
	closed  bool
}

func (f *fakeTTY) Write(p []byte) (int, error) { return f.out.Write(p) }
func (f *fakeTTY) Close() error                { f.closed = true; return nil }
func (f *fakeTTY) ReadPassword() ([]byte, error) {
	if len(f.answers) == 0 {
		return nil, errors.New("eof")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func noTTY() (TTY, error) { return nil, errors.New("no terminal") }

func TestSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withNL := write("nl", "file passphrase\n")
	withCRLF := write("crlf", "file passphrase\r\n")
	empty := write("empty", "\n")
	big := write("big", strings.Repeat("x", maxFileSize+1))

	tests := []struct {
		name    string
		env     map[string]string
		create  bool
		want    string
		wantErr string
	}{
		{"variable", map[string]string{EnvValue: "from env 123"}, false, "from env 123", ""},
		{"variable wins over file", map[string]string{EnvValue: "from env 123", EnvFile: withNL}, false, "from env 123", ""},
		{"file trailing newline", map[string]string{EnvFile: withNL}, false, "file passphrase", ""},
		{"file CRLF", map[string]string{EnvFile: withCRLF}, false, "file passphrase", ""},
		{"empty file", map[string]string{EnvFile: empty}, false, "", "is empty"},
		{"missing file", map[string]string{EnvFile: filepath.Join(dir, "nope")}, false, "", "OAT_PASSPHRASE_FILE: open"},
		{"oversized file", map[string]string{EnvFile: big}, false, "", "larger than 4096 bytes"},
		{"nothing at all", nil, false, "", "no passphrase for the vault: set OAT_PASSPHRASE, or OAT_PASSPHRASE_FILE to a file holding it, or run from a terminal to be asked"},
		{"short for a new vault", map[string]string{EnvValue: "short"}, true, "", "use at least 8 characters"},
		{"short is fine for an existing vault", map[string]string{EnvValue: "short"}, false, "short", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Source{Getenv: env(tt.env), OpenTTY: noTTY}.Get(tt.create)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Get() error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Get() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNoTerminalIsUnavailable(t *testing.T) {
	t.Parallel()
	_, err := Source{Getenv: env(nil), OpenTTY: noTTY}.Get(false)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get() = %v, want ErrUnavailable", err)
	}
}

func TestPrompt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		create  bool
		answers []string
		want    string
		wantErr error
		prompts string
	}{
		{"existing vault", false, []string{"typed secret"}, "typed secret", nil, "Passphrase for the vault at /v: \n"},
		{"new vault", true, []string{"new secret 1", "new secret 1"}, "new secret 1", nil, "New passphrase for the vault at /v: \nRepeat the passphrase: \n"},
		{"new vault mismatch", true, []string{"new secret 1", "new secret 2"}, "", ErrMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tty := &fakeTTY{answers: tt.answers}
			src := Source{Getenv: env(nil), Subject: "the vault at /v", OpenTTY: func() (TTY, error) { return tty, nil }}
			if !src.Interactive() {
				t.Error("Interactive() = false with no variables set")
			}
			got, err := src.Get(tt.create)
			if !errors.Is(err, tt.wantErr) || string(got) != tt.want {
				t.Fatalf("Get() = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
			if tt.prompts != "" && tty.out.String() != tt.prompts {
				t.Errorf("prompts = %q, want %q", tty.out.String(), tt.prompts)
			}
			if !tty.closed {
				t.Error("terminal left open")
			}
		})
	}
}
