package proxycmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTrust(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OAT_HOME": filepath.Join(t.TempDir(), "oat")}
	var ran [][]string
	trust := func(euid int, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"trust"}, args...), Options{
			Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, SystemRoot: root,
			Euid:       func() int { return euid },
			RunCommand: func(argv []string) error { ran = append(ran, argv); return nil },
		})
		return out.String(), errb.String(), code
	}
	installed := []string{
		"usr/local/share/ca-certificates/oat-proxy.crt",
		"etc/docker/certs.d/docker.io/oat-proxy.crt",
		"etc/docker/certs.d/registry-1.docker.io/oat-proxy.crt",
		"etc/containers/certs.d/docker.io/oat-proxy.crt",
		"etc/containers/certs.d/registry-1.docker.io/oat-proxy.crt",
	}

	// --dry-run: every step, nothing changed
	out, _, code := trust(1000, "--dry-run")
	if code != 0 || !strings.Contains(out, "update-ca-certificates") || !strings.Contains(out, "(needs root)") || !strings.Contains(out, `"proxies"`) {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	for _, f := range installed {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("dry run wrote %s", f)
		}
	}
	// The drop-in works with every dockerd; daemon.json's "proxies" only
	// from Engine 23.0 (an older one refuses the file and does not start).
	dropIn, block := strings.Index(out, "docker.service.d/oat-proxy.conf"), strings.Index(out, `"proxies"`)
	if dropIn < 0 || block < dropIn || !strings.Contains(out, "Docker Engine 23.0 or later") || !strings.Contains(out, "does not start") {
		t.Errorf("dry run: the drop-in first, daemon.json's version said:\n%s", out)
	}
	// not root: says what needs root, changes nothing, exit 1
	_, errOut, code := trust(1000)
	if code != 1 || !strings.Contains(errOut, "6 of 6 steps need root") || !strings.Contains(errOut, "sudo oat-proxy trust") || len(ran) != 0 {
		t.Errorf("as a user: exit %d, %q, ran %v", code, errOut, ran)
	}
	// root: the CA in every place, update-ca-certificates run
	out, errOut, code = trust(0)
	if code != 0 {
		t.Fatalf("as root: exit %d %s %s", code, out, errOut)
	}
	ca, err := os.ReadFile(filepath.Join(env["OAT_HOME"], "oat-proxy-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range installed {
		got, err := os.ReadFile(filepath.Join(root, f))
		if err != nil || !bytes.Equal(got, ca) {
			t.Errorf("%s: %v, the CA: %v", f, err, bytes.Equal(got, ca))
		}
	}
	if diff := cmp.Diff([][]string{{"update-ca-certificates"}}, ran); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	// progress: a line a step on stderr, as it starts; none on stdout
	for _, want := range []string{
		"oat-proxy: trust: step 1 of 6: install the CA as /usr/local/share/ca-certificates/oat-proxy.crt\n",
		"oat-proxy: trust: step 2 of 6: run: update-ca-certificates\n",
		"oat-proxy: trust: step 6 of 6: install the CA as /etc/containers/certs.d/registry-1.docker.io/oat-proxy.crt\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("as root, stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out, "trust: step") {
		t.Errorf("progress on stdout:\n%s", out)
	}
}

// TestTrustJSON decodes trust --json strictly: as a user (nothing done,
// exit 1 with the hint on stderr) and as root (every step done).
func TestTrustJSON(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=ubuntu\nID_LIKE=debian\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(t.TempDir(), "oat")
	type step struct {
		What      string   `json:"what"`
		Install   string   `json:"install"`
		Run       []string `json:"run"`
		NeedsRoot bool     `json:"needs_root"`
		Done      bool     `json:"done"`
	}
	type report struct {
		DryRun   bool   `json:"dry_run"`
		CA       string `json:"ca"`
		Steps    []step `json:"steps"`
		NeedRoot int    `json:"need_root"`
		Daemon   struct {
			HTTPSProxy string `json:"https_proxy"`
			NoProxy    string `json:"no_proxy"`
		} `json:"daemon"`
	}
	trust := func(euid int, args ...string) (report, string, int) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"trust", "--json"}, args...), Options{
			Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return map[string]string{"OAT_HOME": home}[k] }, SystemRoot: root,
			Euid: func() int { return euid }, RunCommand: func([]string) error { return nil },
		})
		var r report
		dec := json.NewDecoder(&out)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("trust --json %v: %v\n%s", args, err, out.String())
		}
		if dec.More() {
			t.Errorf("trust --json %v: more than one value", args)
		}
		return r, errb.String(), code
	}
	r, errOut, code := trust(1000, "--listen", "127.0.0.1:3999")
	if code != 1 || r.NeedRoot != 6 || len(r.Steps) != 6 || r.DryRun || !strings.Contains(errOut, "sudo oat-proxy trust") {
		t.Errorf("as a user: exit %d, %+v, %q", code, r, errOut)
	}
	if r.CA != filepath.Join(home, "oat-proxy-ca.pem") || r.Daemon.HTTPSProxy != "http://127.0.0.1:3999" || r.Daemon.NoProxy != noProxy {
		t.Errorf("as a user: %+v", r)
	}
	if r.Steps[1].What == "" || !slices.Equal(r.Steps[1].Run, []string{"update-ca-certificates"}) || r.Steps[0].Install != "/usr/local/share/ca-certificates/oat-proxy.crt" {
		t.Errorf("steps: %+v", r.Steps)
	}
	for _, s := range r.Steps {
		if s.Done || !s.NeedsRoot {
			t.Errorf("as a user, step %+v", s)
		}
	}
	r, _, code = trust(0, "--dry-run")
	if code != 0 || !r.DryRun || r.NeedRoot != 0 || r.Steps[0].Done {
		t.Errorf("dry run as root: exit %d, %+v", code, r)
	}
	r, _, code = trust(0)
	if code != 0 || r.NeedRoot != 0 {
		t.Errorf("as root: exit %d, %+v", code, r)
	}
	for _, s := range r.Steps {
		if !s.Done {
			t.Errorf("as root, step not done: %+v", s)
		}
	}
}
