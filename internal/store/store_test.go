package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/vault"
)

func memStore() *Store { return New(keyring.NewArrayKeyring(nil), "memory") }

func TestCredentialRoundTrip(t *testing.T) {
	t.Parallel()
	s := memStore()
	for _, c := range []Credential{
		{Server: "https://index.docker.io/v1/", Username: "acme", Secret: "dckr_oat_a"},
		{Server: "ghcr.io", Username: "bot", Secret: "ghp_x"},
	} {
		if err := s.PutCredential(c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Credential("registry-1.docker.io")
	if err != nil {
		t.Fatal(err)
	}
	want := Credential{Key: "registry/" + mustKey("docker.io"), Server: "https://index.docker.io/v1/", Username: "acme", Secret: "dckr_oat_a"}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Credential{}, "Updated")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	all, err := s.Credentials()
	if err != nil || len(all) != 2 {
		t.Fatalf("Credentials() = %v, %v", all, err)
	}
	if err := s.DeleteCredential("docker.io"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCredential("docker.io"); err != nil {
		t.Errorf("deleting a missing entry: %v", err)
	}
	if _, err := s.Credential("index.docker.io"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
}

func mustKey(server string) string {
	return strings.TrimPrefix(CredentialKey(server), "registry/")
}

// A backend that hands back another entry's data is caught.
func TestRecordKeyIsChecked(t *testing.T) {
	t.Parallel()
	kr := keyring.NewArrayKeyring(nil)
	s := New(kr, "memory")
	if err := s.PutCredential(Credential{Server: "ghcr.io", Username: "bot", Secret: "x"}); err != nil {
		t.Fatal(err)
	}
	item, err := kr.Get(CredentialKey("ghcr.io"))
	if err != nil {
		t.Fatal(err)
	}
	item.Key = CredentialKey("docker.io")
	if err := kr.Set(item); err != nil {
		t.Fatal(err)
	}
	_, err = s.Credential("docker.io")
	if err == nil || !strings.Contains(err.Error(), "refusing to use it") {
		t.Errorf("swapped record: %v", err)
	}
	if err := kr.Set(keyring.Item{Key: CredentialKey("quay.io"), Data: []byte("{not json")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Credential("quay.io"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged record: %v", err)
	}
}

func TestOpenChoosesTheBackend(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"OAT_HOME": home}
	s, err := Open(Config{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != BackendFile || s.Location() != filepath.Join(home, VaultFile) {
		t.Errorf("backend %q at %q", s.Backend(), s.Location())
	}
	env[EnvBackend] = "carrier-pigeon"
	if _, err := Open(Config{Getenv: func(k string) string { return env[k] }}); err == nil || !strings.Contains(err.Error(), `OAT_BACKEND="carrier-pigeon"`) {
		t.Errorf("unknown backend: %v", err)
	}
}

// Login gives the same answer from the file vault (one read) as from a
// keyring without bulk reads.
func TestLogin(t *testing.T) {
	t.Parallel()
	v := vault.New(vault.Options{Path: filepath.Join(t.TempDir(), "v", VaultFile),
		Params:     vault.Params{Time: 1, MemoryKiB: 8 * 1024, Threads: 1},
		Passphrase: func(bool) ([]byte, error) { return []byte("correct horse battery"), nil }})
	for _, s := range []*Store{New(v, BackendFile), memStore()} {
		if _, _, err := s.Login("docker.io"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: no login: %v", s.Backend(), err)
		}
		if err := s.PutCredential(Credential{Server: "https://index.docker.io/v1/", Username: "acme", Secret: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutCredential(Credential{Server: "ghcr.io", Username: "bot", Secret: "y"}); err != nil {
			t.Fatal(err)
		}
		toks := []oat.Token{{Org: "beta", Label: "b", Secret: "dckr_oat_b"}, {Org: "acme", Label: "a", Secret: "dckr_oat_a"}}
		if err := s.ApplyTokens(toks); err != nil {
			t.Fatal(err)
		}
		c, got, err := s.Login("registry-1.docker.io")
		if err != nil || c.Username != "acme" || len(got) != 2 || got[0].Org != "acme" || got[1].Org != "beta" {
			t.Errorf("%s: Login = %+v, %v, %v", s.Backend(), c, got, err)
		}
	}
}
