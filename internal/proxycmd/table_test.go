package proxycmd

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/command/commandtest"
)

func TestTableComplete(t *testing.T) {
	t.Parallel()
	commandtest.CheckTable(t, Table())
}

// TestEnvironmentListed fails when oat-proxy reads a variable that its
// help and man page do not list, or spells one of theirs out again.
func TestEnvironmentListed(t *testing.T) {
	t.Parallel()
	commandtest.CheckEnvReads(t, Table())
	out, _, code := run(t, nil, "--help")
	for _, want := range []string{command.Debug.Synopsis(), EnvListen, envCertFile, envCertDir} {
		if code != 0 || !strings.Contains(out, "\n  "+want+" ") {
			t.Errorf("--help (exit %d) does not list %s:\n%s", code, want, out)
		}
	}
}

// run runs oat-proxy in process with an environment of its own.
func run(t *testing.T, env map[string]string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return out.String(), errb.String(), code
}

func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir()}
	Table().Walk(func(path []*command.Command) {
		var words []string
		for _, c := range path[1:] {
			words = append(words, c.Name)
		}
		for _, h := range []string{"--help", "-h"} {
			out, errOut, code := run(t, env, append(words, h)...)
			if code != 0 || !strings.HasPrefix(out, "Usage: "+command.UsageLine(path)+"\n") || errOut != "" {
				t.Errorf("%v %s: exit %d, %q, %q", words, h, code, out, errOut)
			}
		}
	})
	if _, errOut, code := run(t, env, "serve", "--listen"); code != 2 || !strings.Contains(errOut, "flag needs an argument: -listen") {
		t.Errorf("serve --listen: exit %d, %q", code, errOut)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// served is serve running in process, with its output.
type served struct {
	addr      string
	out, errb *syncBuffer
	stop      func() int // cancels serve's context and returns its exit code
}

// serveInProcess runs serve with args and env until the test stops it,
// once it has printed the address clients use.
func serveInProcess(t *testing.T, env map[string]string, reload chan os.Signal, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{out: &syncBuffer{}, errb: &syncBuffer{}}
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...),
			Options{Stdout: s.out, Stderr: s.errb, Getenv: func(k string) string { return env[k] }, Reload: reload})
	}()
	s.stop = func() int { cancel(); return <-done }
	t.Cleanup(func() { cancel() })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.out.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed nothing: %s", s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.addr = strings.TrimPrefix(strings.TrimSpace(s.out.String()), "HTTPS_PROXY=http://")
	return s
}

// TestServeInProcess runs serve with injected surroundings: it prints the
// address for clients, answers a plain request as a forward proxy does,
// reloads on the injected signal, and stops when its context ends.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	env := map[string]string{"OAT_HOME": t.TempDir(), "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	reload := make(chan os.Signal, 1)
	s := serveInProcess(t, env, reload)
	resp, err := http.Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a request to the proxy itself: %d, want 400", resp.StatusCode)
	}
	reload <- syscall.SIGHUP
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.errb.String(), "SIGHUP") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged: %s", s.errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := s.stop(); code != 0 {
		t.Errorf("serve exited %d: %s", code, s.errb.String())
	}
}
