package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/oatkit/oat/internal/store"
)

// TestConcurrentWriters runs 16 docker login-style stores of distinct OATs
// for one organization and 16 token adds at once, each its own process:
// every record must be there, with exactly one default, and get must hand
// out one of the stored secrets. On the file vault and on keyctl.
func TestConcurrentWriters(t *testing.T) {
	backends := []string{"file"}
	if runtime.GOOS == "linux" {
		backends = append(backends, "keyctl")
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			home := t.TempDir()
			const pw = "correct horse battery"
			env := append(os.Environ(),
				"OAT_HOME="+filepath.Join(home, "oat"), "OAT_PASSPHRASE="+pw, "OAT_PASSPHRASE_FILE=",
				"OAT_BACKEND="+backend, "OAT_KEYCTL_SCOPE=session", "OAT_QUIET=1", "OAT_DEBUG=", "OAT_CACHE=off")
			if backend == "file" {
				if err := makeVault(filepath.Join(home, "oat", store.VaultFile), pw); err != nil {
					t.Fatal(err)
				}
			}
			run := func(stdin string, args ...string) (string, error) {
				cmd := exec.Command("docker-credential-oat", args...)
				cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			const n = 16
			var stored []string
			var wg sync.WaitGroup
			errs := make(chan error, 2*n)
			for i := range n {
				login := fmt.Sprintf("dckr_oat_Login%s%02d", backend, i)
				add := fmt.Sprintf("dckr_oat_Added%s%02d", backend, i)
				stored = append(stored, login, add)
				wg.Add(2)
				go func() {
					defer wg.Done()
					in := fmt.Sprintf(`{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":%q}`, login)
					if out, err := run(in, "store"); err != nil {
						errs <- fmt.Errorf("store %d: %v: %s", i, err, out)
					}
				}()
				go func() {
					defer wg.Done()
					if out, err := run(add, "token", "add", "--org", "acme", "--label", fmt.Sprintf("add-%02d", i)); err != nil {
						errs <- fmt.Errorf("token add %d: %v: %s", i, err, out)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			out, err := run("", "token", "ls", "--json")
			if err != nil {
				t.Fatalf("token ls: %v: %s", err, out)
			}
			var views []struct {
				Label   string `json:"label"`
				Default bool   `json:"default"`
			}
			if err := json.Unmarshal([]byte(out), &views); err != nil {
				t.Fatalf("token ls --json: %v: %s", err, out)
			}
			defaults, logins := 0, 0
			for _, v := range views {
				if v.Default {
					defaults++
				}
				if strings.HasPrefix(v.Label, "login-") {
					logins++
				}
			}
			if len(views) != 2*n || logins != n || defaults != 1 {
				t.Errorf("%d records (%d from logins), %d defaults; want %d, %d, 1:\n%s", len(views), logins, defaults, 2*n, n, out)
			}
			out, err = run("docker.io", "get")
			var got struct{ Username, Secret string }
			if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Username != "acme" || !slices.Contains(stored, got.Secret) {
				t.Errorf("get after the concurrent writers: %v %q", err, out)
			}
		})
	}
}
