package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/oatkit/oat/internal/scripttest"

	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
)

func TestMain(m *testing.M) { scripttest.Main(m, "docker-credential-oat", main) }

// fastParams keep the scripts quick; the parameters a vault is created with
// are stored in it, so every later open uses them too.
var fastParams = vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:   filepath.Join("testdata", "script"),
		Setup: isolate,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mkvault": mkvault,
			"bigfile": bigfile,
		},
	})
}

// isolate gives every script its own home, Docker config and data
// directories, and no passphrase.
func isolate(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	for _, kv := range [][2]string{
		{"HOME", home},
		{"DOCKER_CONFIG", filepath.Join(home, ".docker")},
		{"XDG_DATA_HOME", filepath.Join(home, ".local", "share")},
		{"XDG_CONFIG_HOME", filepath.Join(home, ".config")},
		{"VAULT", filepath.Join(home, ".local", "share", paths.App, store.VaultFile)},
		{paths.EnvHome, ""},
		{"OAT_PASSPHRASE", ""},
		{"OAT_PASSPHRASE_FILE", ""},
		{"OAT_DEBUG", ""},
		{"OAT_BACKEND", ""},
	} {
		env.Setenv(kv[0], kv[1])
	}
	return os.MkdirAll(home, 0o700)
}

// mkvault creates an empty vault at $VAULT, encrypted with $OAT_PASSPHRASE,
// using fast KDF parameters.
func mkvault(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: mkvault")
	}
	ts.Check(makeVault(ts.Getenv("VAULT"), ts.Getenv("OAT_PASSPHRASE")))
}

// makeVault creates an empty vault at path with fast KDF parameters.
func makeVault(path, pw string) error {
	v := vault.New(vault.Options{
		Path:       path,
		Params:     fastParams,
		Passphrase: func(bool) ([]byte, error) { return []byte(pw), nil },
	})
	return v.Batch(func(*vault.Tx) error { return nil })
}

// bigfile NAME SIZE writes a store request of SIZE bytes to NAME.
func bigfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bigfile NAME SIZE")
	}
	size, err := strconv.Atoi(args[1])
	ts.Check(err)
	head := `{"ServerURL":"big.example.com","Username":"u","Secret":"`
	pad := size - len(head) - len(`"}`)
	if pad < 0 {
		ts.Fatalf("size %d too small", size)
	}
	body := fmt.Sprintf("%s%s\"}", head, strings.Repeat("x", pad))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(body), 0o600))
}
