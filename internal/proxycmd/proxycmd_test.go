package proxycmd

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/proxy"
)

// SIGHUP reopens the audit log by name, as logrotate expects: lines after
// it go to the new file, the rotated one keeps the old lines.
func TestHangupReopensTheAuditLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	audit, err := proxy.OpenAuditFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	src := &tokenSource{forced: make(chan struct{}, 1)}
	hup := make(chan os.Signal)
	done := make(chan struct{})
	go func() {
		onHangup(hup, src, audit, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		close(done)
	}()
	if _, err := audit.Write([]byte("before\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	hup <- syscall.SIGHUP // the first is handled once the second is taken
	close(hup)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("onHangup did not return")
	}
	if _, err := audit.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{path + ".1": "before\n", path: "after\n"} {
		got, err := os.ReadFile(file)
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", filepath.Base(file), got, err, want)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", filepath.Base(file), fi.Mode(), err)
		}
	}
	select {
	case <-src.forced:
	default:
		t.Error("SIGHUP did not ask for the token records again")
	}
}
