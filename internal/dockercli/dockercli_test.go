package dockercli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/dockerconfig"
)

// writeContext writes a context's metadata where docker context create
// would.
func writeContext(t *testing.T, dir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{"Description":""},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSmallReadersAgree proves that get's small readers (packages desktop
// and dockerconfig) and docker/cli resolve the same endpoint and helper on
// the same files and environment.
func TestSmallReadersAgree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config string
		env    map[string]string
		ctx    map[string]string // context name → docker host
		want   desktop.Endpoint
		helper string
	}{
		{name: "no config.json", want: desktop.Endpoint{Context: "default", Host: "unix:///var/run/docker.sock", Source: "default"}},
		{name: "DOCKER_HOST", env: map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"},
			want: desktop.Endpoint{Context: "default", Host: "tcp://127.0.0.1:2375", Source: "DOCKER_HOST"}},
		{name: "currentContext", config: `{"currentContext":"ci","credHelpers":{"https://index.docker.io/v1/":"oat"}}`,
			ctx:  map[string]string{"ci": "unix:///run/ci.sock"},
			want: desktop.Endpoint{Context: "ci", Host: "unix:///run/ci.sock", Source: "config.json currentContext"}, helper: "oat"},
		{name: "DOCKER_CONTEXT over currentContext and DOCKER_HOST", config: `{"currentContext":"ci","credsStore":"desktop"}`,
			env:  map[string]string{"DOCKER_CONTEXT": "desktop-linux", "DOCKER_HOST": "tcp://127.0.0.1:2375"},
			ctx:  map[string]string{"ci": "unix:///run/ci.sock", "desktop-linux": "unix:///home/u/.docker/desktop/docker.sock"},
			want: desktop.Endpoint{Context: "desktop-linux", Host: "unix:///home/u/.docker/desktop/docker.sock", Source: "DOCKER_CONTEXT"}, helper: "desktop"},
		{name: "DOCKER_CONTEXT=default with DOCKER_HOST", env: map[string]string{"DOCKER_CONTEXT": "default", "DOCKER_HOST": "unix:///run/x.sock"},
			want: desktop.Endpoint{Context: "default", Host: "unix:///run/x.sock", Source: "DOCKER_HOST"}},
		{name: "credsStore and a credHelper for another registry", config: `{"credsStore":"oat","credHelpers":{"gcr.io":"gcloud"},"currentContext":"default"}`,
			want: desktop.Endpoint{Context: "default", Host: "unix:///var/run/docker.sock", Source: "config.json currentContext"}, helper: "oat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for name, host := range tt.ctx {
				writeContext(t, dir, name, host)
			}
			getenv := func(k string) string { return tt.env[k] }

			small := desktop.Detect(desktop.Env{Getenv: getenv, Home: dir, ConfigDir: dir, GOOS: "linux"})
			if len(small.Problems) > 0 {
				t.Fatalf("small readers: %v", small.Problems)
			}
			ep, credsStore, err := Endpoint(dir, getenv, desktop.DefaultHost("linux"))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, small.Endpoint); diff != "" {
				t.Errorf("small readers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, ep); diff != "" {
				t.Errorf("docker/cli (-want +got):\n%s", diff)
			}
			wiring, _, err := Config(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := wiring.HubHelper(); got != tt.helper {
				t.Errorf("Docker Hub's helper by docker/cli: %q, want %q", got, tt.helper)
			}
			judged := desktop.Judge(desktop.Env{Getenv: getenv, Home: dir, ConfigDir: dir, GOOS: "linux"}, ep, credsStore)
			if judged.Desktop != small.Desktop {
				t.Errorf("Desktop: %v by docker/cli, %v by the small readers", judged.Desktop, small.Desktop)
			}
		})
	}
}

// TestPlaintextAuths: docker/cli decodes auths the way docker login wrote
// them; only Docker Hub's are reported.
func TestPlaintextAuths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := `{"auths":{"https://index.docker.io/v1/":{"auth":"YWNtZTpkY2tyX29hdF9zZWNyZXQ="},"registry.example.com":{"auth":"dTpw"},"docker.io":{}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	_, plain, err := Config(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []dockerconfig.PlainAuth{{Key: "https://index.docker.io/v1/", Username: "acme", Secret: "dckr_oat_secret"}}
	if diff := cmp.Diff(want, plain); diff != "" {
		t.Errorf("plaintext auths (-want +got):\n%s", diff)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Config(dir); err == nil {
		t.Error("a malformed config.json read without error")
	}
}
