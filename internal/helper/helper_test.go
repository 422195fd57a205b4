package helper

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/store"
)

const (
	acmeOAT = "dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo"
	testPW  = "correct horse battery"
)

// memHelper is a Helper over an in-memory keyring.
func memHelper() *Helper {
	return New(Config{Store: store.New(keyring.NewArrayKeyring(nil), "memory")})
}

func storeJSON(server, user, secret string) string {
	b, _ := json.Marshal(credentials.Credentials{ServerURL: server, Username: user, Secret: secret})
	return string(b)
}

func handle(t *testing.T, h credentials.Helper, action, in string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := credentials.HandleCommand(h, action, strings.NewReader(in), &out)
	return out.String(), err
}

func TestHubIsOneEntry(t *testing.T) {
	t.Parallel()
	spellings := []string{
		"https://index.docker.io/v1/", "https://index.docker.io/v1", "index.docker.io", "docker.io",
		"https://docker.io/", "registry-1.docker.io", "https://registry-1.docker.io/v2/",
	}
	for _, storeAs := range spellings {
		t.Run(storeAs, func(t *testing.T) {
			t.Parallel()
			h := memHelper()
			if _, err := handle(t, h, "store", storeJSON(storeAs, "acme", acmeOAT)); err != nil {
				t.Fatal(err)
			}
			for _, getAs := range spellings {
				out, err := handle(t, h, "get", getAs+"\n")
				if err != nil {
					t.Fatalf("get %q after store %q: %v", getAs, storeAs, err)
				}
				want := storeJSON(getAs, "acme", acmeOAT) + "\n"
				if out != want {
					t.Errorf("get %q = %s, want %s", getAs, out, want)
				}
			}
			out, _ := handle(t, h, "list", "")
			if out != `{"https://index.docker.io/v1/":"acme"}`+"\n" {
				t.Errorf("list = %s", out)
			}
			if _, err := handle(t, h, "erase", "docker.io"); err != nil {
				t.Fatal(err)
			}
			if _, err := handle(t, h, "get", "https://index.docker.io/v1/"); !credentials.IsErrCredentialsNotFound(err) {
				t.Errorf("get after erase: %v", err)
			}
		})
	}
}

func TestOpaqueEntries(t *testing.T) {
	t.Parallel()
	h := memHelper()
	entries := []credentials.Credentials{
		{ServerURL: "https://index.docker.io/v1/", Username: "acme", Secret: acmeOAT},
		{ServerURL: "https://index.docker.io/v1/access-token", Username: "someone", Secret: "eyJ.access.token"},
		{ServerURL: "https://index.docker.io/v1/refresh-token", Username: "someone", Secret: "refresh-secret"},
		{ServerURL: "registry.example.com:5000", Username: "robot", Secret: "pw1"},
		{ServerURL: "http://localhost:5001", Username: "local", Secret: "pw2"},
	}
	for _, c := range entries {
		if _, err := handle(t, h, "store", storeJSON(c.ServerURL, c.Username, c.Secret)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range entries {
		out, err := handle(t, h, "get", c.ServerURL)
		if err != nil {
			t.Fatalf("get %s: %v", c.ServerURL, err)
		}
		var got credentials.Credentials
		json.Unmarshal([]byte(out), &got)
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("get %s mismatch (-want +got):\n%s", c.ServerURL, diff)
		}
	}
	// Other spellings of a non-Hub registry reach the same entry.
	if out, err := handle(t, h, "get", "https://registry.example.com:5000/"); err != nil || !strings.Contains(out, `"robot"`) {
		t.Errorf("get with scheme: %s, %v", out, err)
	}
	out, err := handle(t, h, "list", "")
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]string
	json.Unmarshal([]byte(out), &list)
	want := map[string]string{
		"https://index.docker.io/v1/": "acme", "https://index.docker.io/v1/access-token": "someone",
		"https://index.docker.io/v1/refresh-token": "someone", "registry.example.com:5000": "robot",
		"http://localhost:5001": "local",
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("list mismatch (-want +got):\n%s", diff)
	}
	for _, secret := range []string{acmeOAT, "eyJ", "refresh-secret", "pw1", "pw2"} {
		if strings.Contains(out, secret) {
			t.Errorf("list output contains secret %q", secret)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	h := memHelper()
	if _, err := handle(t, h, "get", "nowhere.example.com"); err == nil || err.Error() != "credentials not found in native keychain" {
		t.Errorf("get unknown: %v", err)
	}
	if _, err := handle(t, h, "erase", "nowhere.example.com"); err != nil {
		t.Errorf("erase unknown: %v", err)
	}
}
