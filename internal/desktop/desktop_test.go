package desktop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHome is a home directory with a docker config dir, and a fake system
// root for policy files and /var/run.
type fakeHome struct {
	home, config, root string
	env                map[string]string
}

func newFakeHome(t *testing.T) *fakeHome {
	t.Helper()
	dir := t.TempDir()
	h := &fakeHome{home: filepath.Join(dir, "home"), root: filepath.Join(dir, "root"), env: map[string]string{}}
	h.config = filepath.Join(h.home, ".docker")
	for _, d := range []string{h.config, h.root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *fakeHome) write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (h *fakeHome) context(t testing.TB, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	h.write(t, filepath.Join(h.config, "contexts", "meta", hex.EncodeToString(sum[:]), "meta.json"),
		`{"Name":"`+name+`","Metadata":{"Description":"x"},"Endpoints":{"docker":{"Host":"`+host+`","SkipTLSVerify":false}}}`)
}

func (h *fakeHome) detect(goos string) Result {
	return Detect(Env{Getenv: func(k string) string { return h.env[k] }, Home: h.home, ConfigDir: h.config, GOOS: goos, Root: h.root})
}

func TestDetect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, h *fakeHome)
		goos    string
		desktop bool
		host    string
		signal  string
	}{
		{"nothing: the default socket", func(*testing.T, *fakeHome) {}, "linux", false, "unix:///var/run/docker.sock", ""},
		{"windows default pipe", func(*testing.T, *fakeHome) {}, "windows", false, "npipe:////./pipe/docker_engine", ""},
		{"DOCKER_HOST at a plain engine", func(_ *testing.T, h *fakeHome) { h.env["DOCKER_HOST"] = "tcp://10.0.0.5:2375" }, "linux", false, "tcp://10.0.0.5:2375", ""},
		{"DOCKER_HOST at Desktop's Linux socket", func(_ *testing.T, h *fakeHome) {
			h.env["DOCKER_HOST"] = "unix://" + h.home + "/.docker/desktop/docker.sock"
		}, "linux", true, "", "Docker Desktop's socket"},
		{"DOCKER_HOST at Desktop's macOS socket", func(_ *testing.T, h *fakeHome) {
			h.env["DOCKER_HOST"] = "unix:///Users/me/.docker/run/docker.sock"
		}, "darwin", true, "", "Docker Desktop's socket"},
		{"Desktop's Windows pipe", func(_ *testing.T, h *fakeHome) {
			h.env["DOCKER_HOST"] = "npipe:////./pipe/dockerDesktopLinuxEngine"
		}, "windows", true, "", "named pipe"},
		{"DOCKER_CONTEXT desktop-linux", func(t *testing.T, h *fakeHome) {
			h.env["DOCKER_CONTEXT"] = "desktop-linux"
			h.context(t, "desktop-linux", "unix://"+h.home+"/.docker/desktop/docker.sock")
		}, "linux", true, "", "desktop-linux"},
		{"DOCKER_CONTEXT wins over DOCKER_HOST", func(t *testing.T, h *fakeHome) {
			h.env["DOCKER_HOST"] = "tcp://10.0.0.5:2375"
			h.env["DOCKER_CONTEXT"] = "desktop-windows"
			h.context(t, "desktop-windows", "npipe:////./pipe/dockerDesktopWindowsEngine")
		}, "windows", true, "npipe:////./pipe/dockerDesktopWindowsEngine", "desktop-windows"},
		{"currentContext with a custom name at Desktop's socket", func(t *testing.T, h *fakeHome) {
			h.write(t, filepath.Join(h.config, "config.json"), `{"currentContext":"work"}`)
			h.context(t, "work", "unix:///home/u/.docker/desktop/docker.sock")
		}, "linux", true, "unix:///home/u/.docker/desktop/docker.sock", "Docker Desktop's socket"},
		{"currentContext at a remote engine", func(t *testing.T, h *fakeHome) {
			h.write(t, filepath.Join(h.config, "config.json"), `{"currentContext":"remote"}`)
			h.context(t, "remote", "ssh://ci@build-host")
		}, "linux", false, "ssh://ci@build-host", ""},
		{"credsStore desktop", func(t *testing.T, h *fakeHome) {
			h.write(t, filepath.Join(h.config, "config.json"), `{"credsStore":"desktop"}`)
		}, "linux", true, "", `credsStore "desktop"`},
		{"credsStore desktop.exe", func(t *testing.T, h *fakeHome) {
			h.write(t, filepath.Join(h.config, "config.json"), `{"credsStore":"desktop.exe"}`)
		}, "windows", true, "", `credsStore "desktop"`},
		{"/var/run/docker.sock links to Desktop's socket", func(t *testing.T, h *fakeHome) {
			target := filepath.Join(h.home, ".docker", "run", "docker.sock")
			h.write(t, target, "")
			if err := os.MkdirAll(filepath.Join(h.root, "var", "run"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(h.root, "var", "run", "docker.sock")); err != nil {
				t.Fatal(err)
			}
		}, "darwin", true, "unix:///var/run/docker.sock", "links to Docker Desktop's socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newFakeHome(t)
			tt.setup(t, h)
			r := h.detect(tt.goos)
			if r.Desktop != tt.desktop {
				t.Fatalf("Desktop = %v, want %v (%+v)", r.Desktop, tt.desktop, r)
			}
			if tt.host != "" && r.Endpoint.Host != tt.host {
				t.Errorf("endpoint %q, want %q", r.Endpoint.Host, tt.host)
			}
			if tt.signal != "" && !strings.Contains(strings.Join(r.Signals, "; "), tt.signal) {
				t.Errorf("signals %q lack %q", r.Signals, tt.signal)
			}
			if len(r.Problems) > 0 {
				t.Errorf("problems: %v", r.Problems)
			}
		})
	}
}

func TestDetectReportsUnreadableFiles(t *testing.T) {
	t.Parallel()
	h := newFakeHome(t)
	h.write(t, filepath.Join(h.config, "config.json"), `{"currentContext":`)
	if r := h.detect("linux"); len(r.Problems) == 0 {
		t.Error("a malformed config.json is not reported")
	}
	h = newFakeHome(t)
	h.env["DOCKER_CONTEXT"] = "missing"
	if r := h.detect("linux"); len(r.Problems) == 0 || r.Endpoint.Context != "missing" {
		t.Errorf("a missing context: %+v", r)
	}
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	env := func(h *fakeHome, goos string) Env {
		return Env{Getenv: func(k string) string { return h.env[k] }, Home: h.home, ConfigDir: h.config, GOOS: goos, Root: h.root}
	}
	h := newFakeHome(t)
	if p := ReadPolicy(env(h, "linux")); p.Enforced() {
		t.Errorf("no files: %+v", p)
	}
	h.write(t, filepath.Join(h.root, "usr/share/docker-desktop/registry/registry.json"), `{"allowedOrgs":["acme","beta"]}`)
	p := ReadPolicy(env(h, "linux"))
	if !p.Enforced() || strings.Join(p.AllowedOrgs, ",") != "acme,beta" || p.Managed {
		t.Errorf("registry.json: %+v", p)
	}
	h.write(t, filepath.Join(h.root, "usr/share/docker-desktop/admin-settings.json"), `{"configurationFileVersion":2}`)
	if p := ReadPolicy(env(h, "linux")); !p.Managed || len(p.Files) != 2 {
		t.Errorf("admin-settings.json: %+v", p)
	}

	mac := newFakeHome(t)
	mac.write(t, filepath.Join(mac.root, "Library/Application Support/com.docker.docker/admin-settings.json"), `{}`)
	mac.write(t, filepath.Join(mac.root, "Library/Managed Preferences/com.docker.config.plist"),
		`<?xml version="1.0"?><plist version="1.0"><dict><key>allowedOrgs</key><string>acme;beta</string></dict></plist>`)
	if p := ReadPolicy(env(mac, "darwin")); !p.Managed || strings.Join(p.AllowedOrgs, ",") != "acme,beta" {
		t.Errorf("macOS: %+v", p)
	}

	bad := newFakeHome(t)
	bad.write(t, filepath.Join(bad.root, "usr/share/docker-desktop/registry/registry.json"), `{"allowedOrgs":`)
	if p := ReadPolicy(env(bad, "linux")); !p.Enforced() || len(p.Problems) == 0 {
		t.Errorf("malformed registry.json: %+v", p)
	}
}

func TestEngineOS(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/info" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"OperatingSystem":"Docker Desktop","NCPU":4}`))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	got, err := EngineOS(context.Background(), "unix://"+sock)
	if err != nil || got != "Docker Desktop" {
		t.Errorf("EngineOS = %q, %v", got, err)
	}
	if _, err := EngineOS(context.Background(), "ssh://host"); err == nil {
		t.Error("ssh endpoint asked")
	}
	if _, err := EngineOS(context.Background(), "unix://"+filepath.Join(t.TempDir(), "none.sock")); err == nil {
		t.Error("missing socket: no error")
	}
}

// BenchmarkDetect is the cost get pays on every Docker Hub call: config.json,
// a context's metadata and the default socket's link.
func BenchmarkDetect(b *testing.B) {
	dir := b.TempDir()
	h := &fakeHome{home: filepath.Join(dir, "home"), root: filepath.Join(dir, "root"), env: map[string]string{}}
	h.config = filepath.Join(h.home, ".docker")
	h.write(b, filepath.Join(h.config, "config.json"), `{"currentContext":"work","credsStore":"oat","auths":{"https://index.docker.io/v1/":{}}}`)
	h.context(b, "work", "unix:///var/run/docker.sock")
	for b.Loop() {
		if r := h.detect("linux"); r.Desktop || len(r.Problems) > 0 {
			b.Fatalf("%+v", r)
		}
	}
}

// FromEnv reads the home and the docker configuration directory from the
// environment it is given, as dockerconfig.Dir does, never the process's.
func TestFromEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env       map[string]string
		configDir string
	}{
		{map[string]string{"HOME": "/home/a"}, filepath.Join("/home/a", ".docker")},
		{map[string]string{"HOME": "/home/a", "DOCKER_CONFIG": "/etc/docker-a"}, "/etc/docker-a"},
		{map[string]string{}, ""}, // left to the process's defaults
	} {
		e := FromEnv(func(k string) string { return tc.env[k] }, "/root-a")
		if e.Home != tc.env["HOME"] || e.ConfigDir != tc.configDir || e.Root != "/root-a" || e.Getenv == nil {
			t.Errorf("FromEnv(%v) = home %q, config dir %q, root %q; want %q, %q, /root-a", tc.env, e.Home, e.ConfigDir, e.Root, tc.env["HOME"], tc.configDir)
		}
	}
}
