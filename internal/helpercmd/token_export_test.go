package helpercmd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
)

func TestTokenExport(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "oat")
	secrets := map[string]string{
		"ci":      "dckr_oat_ciCIciCIciCIciCIciCIciCIciCI",
		"release": "dckr_oat_relRELrelRELrelRELrelRELrel",
		"other":   "dckr_oat_othOTHothOTHothOTHothOTHoth",
	}
	for _, a := range [][]string{
		{"acme", "ci", "--pull", "acme/*"},
		{"acme", "release", "--push", "acme/app"},
		{"beta", "other", "--pull", "beta/*"},
	} {
		if _, errOut, code := run(t, home, nil, secrets[a[1]], "token", "add", "--org", a[0], "--label", a[1], a[2], a[3]); code != 0 {
			t.Fatalf("token add %v: exit %d: %s", a, code, errOut)
		}
	}
	outDir := t.TempDir()
	passFile := filepath.Join(outDir, "pass")
	if err := os.WriteFile(passFile, []byte("another passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(outDir, "export.vault")
	exportEnv := map[string]string{EnvExportPassphraseFile: passFile}

	stdout, stderr, code := run(t, home, exportEnv, "", "token", "export", "--vault", file, "--org", "acme")
	if code != 0 {
		t.Fatalf("token export: exit %d: %s", code, stderr)
	}
	for _, s := range secrets {
		if strings.Contains(stdout+stderr, s) {
			t.Fatalf("token export printed a secret: %q %q", stdout, stderr)
		}
	}
	if !strings.Contains(stdout, "exported 2 token records") || !strings.Contains(stdout, "kubectl create secret generic") {
		t.Errorf("token export stdout: %q", stdout)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("exported vault: %v, %v; want mode 0600", fi, err)
	}
	entries, _ := os.ReadDir(outDir)
	if len(entries) != 2 {
		t.Errorf("export left files beside the vault: %v", entries)
	}

	src := store.OpenVault(store.VaultConfig{Path: filepath.Join(home, store.VaultFile), Passphrase: passphrase.FromFile("test", writePass(t, testPW))})
	all, err := src.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	exported := store.OpenVault(store.VaultConfig{Path: file, Passphrase: passphrase.FromFile("test", passFile), ReadOnly: true})
	got, err := exported.Tokens()
	if err != nil {
		t.Fatalf("open the exported vault with its passphrase: %v", err)
	}
	if diff := cmp.Diff(oat.ForOrg(all, "acme"), got); diff != "" {
		t.Errorf("exported records (-want +got):\n%s", diff)
	}
	wrong := store.OpenVault(store.VaultConfig{Path: file, Passphrase: passphrase.FromFile("test", writePass(t, testPW)), ReadOnly: true})
	if _, err := wrong.Tokens(); !errors.Is(err, vault.ErrWrongPassphrase) {
		t.Errorf("the exported vault opened with the store's passphrase: %v, want ErrWrongPassphrase", err)
	}

	// One label, replacing the file.
	if _, stderr, code := run(t, home, exportEnv, "", "token", "export", "--vault", file, "--label", "beta/other"); code != 1 || !strings.Contains(stderr, "exists") {
		t.Fatalf("export over an existing file without --force: exit %d, %q", code, stderr)
	}
	if _, stderr, code := run(t, home, exportEnv, "", "token", "export", "--vault", file, "--label", "beta/other", "--force"); code != 0 {
		t.Fatalf("export --force: exit %d, %q", code, stderr)
	}
	exported = store.OpenVault(store.VaultConfig{Path: file, Passphrase: passphrase.FromFile("test", passFile), ReadOnly: true})
	got, err = exported.Tokens()
	if err != nil || len(got) != 1 || got[0].ID() != "beta/other" || got[0].Secret != secrets["other"] {
		t.Fatalf("export --label beta/other: %d records, %v", len(got), err)
	}

	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no passphrase", nil, []string{"--vault", file + ".2"}, "no passphrase for the exported vault"},
		{"unknown label", exportEnv, []string{"--vault", file + ".2", "--label", "nope"}, `no token labelled "nope"`},
		{"no vault", exportEnv, nil, "--vault FILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, home, tt.env, "", append([]string{"token", "export"}, tt.args...)...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %q", code, stderr, tt.want)
			}
			if _, err := os.Stat(file + ".2"); err == nil {
				t.Errorf("a failed export wrote the vault")
			}
		})
	}
}

func writePass(t *testing.T, pass string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(pass), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
