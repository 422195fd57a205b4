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

// TestServeInProcess runs serve with injected surroundings: it prints the
// address for clients, answers a plain request as a forward proxy does,
// reloads on the injected signal, and stops when its context ends.
func TestServeInProcess(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": "correct horse battery", "OAT_CACHE": "off"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	reload := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, Options{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Reload: reload})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed nothing: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	addr := strings.TrimPrefix(strings.TrimSpace(out.String()), "HTTPS_PROXY=http://")
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a request to the proxy itself: %d, want 400", resp.StatusCode)
	}
	reload <- syscall.SIGHUP
	for !strings.Contains(errb.String(), "SIGHUP") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged: %s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d: %s", code, errb.String())
	}
}
