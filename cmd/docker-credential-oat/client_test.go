package main

import (
	"path/filepath"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/store"
)

// TestReferenceClient drives the built helper through the reference client
// package, as Docker does.
func TestReferenceClient(t *testing.T) {
	home := filepath.Join(t.TempDir(), "oat") // made 0700 by the vault
	const pw = "correct horse battery"
	env := map[string]string{"OAT_HOME": home, "OAT_PASSPHRASE": pw, "OAT_PASSPHRASE_FILE": "", "OAT_BACKEND": "", "OAT_DEBUG": ""}
	if err := makeVault(filepath.Join(home, store.VaultFile), pw); err != nil {
		t.Fatal(err)
	}
	prog := client.NewShellProgramFuncWithEnv("docker-credential-oat", &env)

	hub := &credentials.Credentials{ServerURL: "https://index.docker.io/v1/", Username: "acme", Secret: "dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo"}
	other := &credentials.Credentials{ServerURL: "registry.example.com", Username: "robot", Secret: "s3cret"}
	for _, c := range []*credentials.Credentials{hub, other} {
		if err := client.Store(prog, c); err != nil {
			t.Fatalf("store %s: %v", c.ServerURL, err)
		}
	}

	for _, server := range []string{"https://index.docker.io/v1/", "docker.io", "registry-1.docker.io", "index.docker.io/v1"} {
		got, err := client.Get(prog, server)
		if err != nil {
			t.Fatalf("get %s: %v", server, err)
		}
		want := &credentials.Credentials{ServerURL: server, Username: hub.Username, Secret: hub.Secret}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("get %s (-want +got):\n%s", server, diff)
		}
	}

	list, err := client.List(prog)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"https://index.docker.io/v1/": "acme", "registry.example.com": "robot"}, list); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	if err := client.Erase(prog, "docker.io"); err != nil {
		t.Fatal(err)
	}
	if err := client.Erase(prog, "docker.io"); err != nil {
		t.Fatalf("erase of a missing entry: %v", err)
	}
	if _, err := client.Get(prog, "https://index.docker.io/v1/"); !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("get after erase: %v, want credentials not found", err)
	}
	if got, err := client.Get(prog, "registry.example.com"); err != nil || got.Secret != other.Secret {
		t.Fatalf("other registry after erase: %v, %v", got, err)
	}
}
