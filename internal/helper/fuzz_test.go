package helper

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/hub"
)

// Secrets already in the store when each fuzz input arrives.
const (
	canaryOAT    = "dckr_oat_CANARYfuzzHubSecret0000001"
	canaryOpaque = "CANARY-opaque-registry-secret-0002"
)

var verbs = []string{"store", "get", "erase", "list"}

// FuzzProtocol feeds arbitrary stdin to each verb, as Docker would, on a
// store that holds two secrets. Properties: no panic; no stored secret and
// no secret from the input in an error; list never prints a secret; get
// prints a stored secret only for its own server; after a successful store,
// get for the same server returns what was stored.
func FuzzProtocol(f *testing.F) {
	// What docker sends (docker login, docker pull, docker logout, docker
	// credential listing).
	f.Add(uint8(0), `{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":"dckr_oat_7awgM4jG5SQvxcvmNzhKj8PQjxo"}`)
	f.Add(uint8(0), `{"ServerURL":"ghcr.io","Username":"x","Secret":"ghp_abcdefghijklmnop"}`)
	f.Add(uint8(0), `{"ServerURL":"docker.io","Username":"me","Secret":"dckr_pat_abcdefghijklmnopqrstuvw"}`)
	f.Add(uint8(0), `{"ServerURL":"registry-1.docker.io","Username":"Acme","Secret":"dckr_oat_`)
	f.Add(uint8(1), "https://index.docker.io/v1/\n")
	f.Add(uint8(1), "ghcr.io\n")
	f.Add(uint8(1), "http://docker.io\n")
	f.Add(uint8(2), "https://index.docker.io/v1/\n")
	f.Add(uint8(2), "quay.io")
	f.Add(uint8(3), "")
	f.Fuzz(func(t *testing.T, verb uint8, stdin string) {
		h := memHelper()
		for _, c := range []string{storeJSON("docker.io", "canaryorg", canaryOAT), storeJSON("ghcr.io", "canary", canaryOpaque)} {
			if err := credentials.HandleCommand(h, "store", strings.NewReader(c), &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
		}
		action := verbs[int(verb)%len(verbs)]
		var out bytes.Buffer
		err := credentials.HandleCommand(h, action, strings.NewReader(stdin), &out)

		secrets := []string{canaryOAT, canaryOpaque}
		var in credentials.Credentials
		if action == "store" && json.Unmarshal([]byte(stdin), &in) == nil && len(in.Secret) >= 8 &&
			!strings.Contains(in.ServerURL, in.Secret) && !strings.Contains(in.Username, in.Secret) {
			secrets = append(secrets, in.Secret)
		}
		if err != nil {
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) || strings.Contains(out.String(), s) {
					t.Fatalf("%s: the error carries a secret: %v / %q", action, err, out.String())
				}
			}
			return
		}
		switch action {
		case "list", "erase", "store":
			for _, s := range secrets {
				if strings.Contains(out.String(), s) {
					t.Fatalf("%s printed a secret: %q", action, out.String())
				}
			}
		case "get":
			server := hub.ParseServer(protocolServer(stdin))
			if strings.Contains(out.String(), canaryOAT) && !server.Hub {
				t.Fatalf("get %q printed Docker Hub's secret", stdin)
			}
			if strings.Contains(out.String(), canaryOpaque) && server.Key != hub.ParseServer("ghcr.io").Key {
				t.Fatalf("get %q printed ghcr.io's secret", stdin)
			}
		}
		if action != "store" {
			return
		}
		out.Reset()
		if err := credentials.HandleCommand(h, "get", strings.NewReader(in.ServerURL), &out); err != nil {
			t.Fatalf("get after store of %q: %v", stdin, err)
		}
		var got credentials.Credentials
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("get after store: %v", err)
		}
		if got.Secret != in.Secret || !strings.EqualFold(got.Username, in.Username) {
			t.Fatalf("stored %q, got back %q/%q", stdin, got.Username, got.Secret)
		}
	})
}

// protocolServer reads a server URL from stdin as credentials.Get does: its
// lines joined, then trimmed.
func protocolServer(stdin string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(stdin))
	for sc.Scan() {
		b.Write(sc.Bytes())
	}
	return strings.TrimSpace(b.String())
}
