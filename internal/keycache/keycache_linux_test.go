//go:build linux

package keycache

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The tests re-execute the test binary as a child that does one thing
// (OAT_KEYCACHE_CHILD) and reports on stdout.
func TestMain(m *testing.M) {
	switch os.Getenv("OAT_KEYCACHE_CHILD") {
	case "harden":
		Harden()
		dumpable, _ := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
		var lim unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_CORE, &lim)
		fmt.Printf("dumpable=%d core=%d/%d\n", dumpable, lim.Cur, lim.Max)
		os.Exit(0)
	case "panic":
		Harden()
		ready := make(chan struct{})
		go func() { // another goroutine, whose stack must not be printed
			otherGoroutineMarker(ready)
		}()
		<-ready
		panic("deliberate")
	case "steal":
		id, _ := strconv.Atoi(os.Getenv("OAT_KEYCACHE_ID"))
		buf := make([]byte, 256)
		if n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0); err == nil {
			fmt.Printf("read %d bytes by id\n", n)
			os.Exit(3)
		}
		if _, err := (keyctl{}).Get(os.Getenv("OAT_KEYCACHE_NAME")); !errors.Is(err, ErrNotCached) {
			fmt.Printf("found by name: %v\n", err)
			os.Exit(3)
		}
		fmt.Println("refused")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

//go:noinline
func otherGoroutineMarker(ready chan struct{}) {
	close(ready)
	select {}
}

func child(t *testing.T, what string, env ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "OAT_KEYCACHE_CHILD="+what)...)
	return cmd
}

func TestHardenNoCoreDumps(t *testing.T) {
	t.Parallel()
	cmd := child(t, "harden")
	// Start from the most permissive limits a user could set.
	cmd.Env = append(cmd.Env, "GOTRACEBACK=crash")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got, want := string(out), "dumpable=0 core=0/0\n"; got != want {
		t.Errorf("after Harden: %q, want %q", got, want)
	}
}

func TestHardenPanicPrintsOneGoroutine(t *testing.T) {
	t.Parallel()
	cmd := child(t, "panic", "GOTRACEBACK=")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("child: %v, want exit 2\n%s", err, out)
	}
	if s := string(out); !strings.Contains(s, "panic: deliberate") || strings.Contains(s, "otherGoroutineMarker") {
		t.Errorf("panic output shows more than the crashing goroutine:\n%s", s)
	}
}

// A key in the cache is readable by the user's processes only: a child
// running as another uid (nobody) can neither read it by id nor find it.
func TestOtherUIDCannotReadCache(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another uid")
	}
	c := keyctl{}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "test-" + hex.EncodeToString(b)
	secret := []byte("0123456789abcdef0123456789abcdef")
	if err := c.Put(name, secret, time.Minute); err != nil {
		t.Skipf("no kernel keyring here: %v", err)
	}
	t.Cleanup(func() { _ = c.Delete(name) })
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", prefix+name, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(name); err != nil || string(got) != string(secret) {
		t.Fatalf("the owner cannot read its own key: %q, %v", got, err)
	}

	// The test binary, where nobody can execute it.
	dir, err := os.MkdirTemp("", "keycache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(dir, "keycache.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()

	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = []string{"OAT_KEYCACHE_CHILD=steal", "OAT_KEYCACHE_ID=" + strconv.Itoa(id), "OAT_KEYCACHE_NAME=" + name}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "refused\n" {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
}
