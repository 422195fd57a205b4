//go:build e2e

// Package packaging checks what make package built, with the tools a
// distribution uses: lintian on the .deb, systemd-analyze on the units,
// dpkg installing the .deb into a throwaway root and the binaries run from
// there, rpm listing the same files, actionlint on the GitHub workflow and
// ruby on the Homebrew formula. make e2e runs it as root after
// scripts/install-e2e-deps and make package.
package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// root is the repository's top directory.
const root = "../.."

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/install-e2e-deps installs it)", tool)
		}
	}
}

// pkg is the one package of kind ("deb", "rpm") for this machine's
// architecture in dist/.
func pkg(t *testing.T, kind string) string {
	t.Helper()
	arch := map[string]map[string]string{
		"deb": {"amd64": "_amd64.deb", "arm64": "_arm64.deb"},
		"rpm": {"amd64": ".x86_64.rpm", "arm64": ".aarch64.rpm"},
	}[kind][runtime.GOARCH]
	files, _ := filepath.Glob(filepath.Join(root, "dist", "*"+arch))
	if len(files) != 1 {
		t.Fatalf("want one dist/*%s, have %q: run make package", arch, files)
	}
	return files[0]
}

func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestLintian(t *testing.T) {
	need(t, "lintian")
	debs, _ := filepath.Glob(filepath.Join(root, "dist", "*.deb"))
	if len(debs) < 2 {
		t.Fatalf("want the amd64 and arm64 .deb in dist/, have %q: run make package", debs)
	}
	for _, deb := range debs {
		cmd := exec.Command("lintian", "--fail-on", "error", "--tag-display-limit", "0", deb)
		out, err := cmd.CombinedOutput()
		t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
		if err != nil {
			t.Errorf("lintian found errors in %s: %v", filepath.Base(deb), err)
		}
	}
}

// install unpacks the .deb into a throwaway root with dpkg and returns the
// root and what the maintainer scripts printed.
func install(t *testing.T) (string, string) {
	t.Helper()
	need(t, "dpkg")
	dir := t.TempDir()
	admin := filepath.Join(dir, "var/lib/dpkg")
	for _, d := range []string{"info", "updates", "triggers"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "DOCKER_CONFIG=")
	out := run(t, env, "dpkg", "--root="+dir, "--force-script-chrootless", "--force-not-root", "--log=/dev/null", "-i", pkg(t, "deb"))
	// The post-install script never touches the user's Docker files.
	if entries, _ := os.ReadDir(home); len(entries) > 0 {
		t.Errorf("installing wrote into HOME: %v", entries)
	}
	return dir, out
}

func TestInstallIntoThrowawayRoot(t *testing.T) {
	dir, out := install(t)
	for _, want := range []string{"docker-credential-oat setup", "docker login -u ORG --password-stdin"} {
		if !strings.Contains(out, want) {
			t.Errorf("the post-install note lacks %q:\n%s", want, out)
		}
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "OAT_HOME=" + filepath.Join(home, "oat")}
	bin := filepath.Join(dir, "usr/bin")
	if got := run(t, env, filepath.Join(bin, "docker-credential-oat"), "version"); !strings.HasPrefix(got, "docker-credential-oat ") {
		t.Errorf("docker-credential-oat version = %q", got)
	}
	if got := run(t, env, filepath.Join(bin, "oat-proxy"), "--help"); !strings.HasPrefix(got, "Usage: oat-proxy") {
		t.Errorf("oat-proxy --help = %q", got)
	}
	for _, f := range []string{
		"usr/share/man/man1/docker-credential-oat.1.gz", "usr/share/man/man1/oat-proxy.1.gz",
		"usr/share/bash-completion/completions/docker-credential-oat",
		"usr/share/zsh/vendor-completions/_oat-proxy",
		"usr/share/fish/vendor_completions.d/oat-proxy.fish",
		"usr/lib/systemd/user/oat-proxy.service", "usr/lib/systemd/system/oat-proxy.service",
		"usr/share/doc/docker-credential-oat/copyright",
	} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if _, err := exec.LookPath("man"); err == nil {
		page := run(t, append(env, "MANWIDTH=80"), "man", "-l", filepath.Join(dir, "usr/share/man/man1/oat-proxy.1.gz"))
		if !strings.Contains(page, "serve") {
			t.Errorf("man oat-proxy has no serve:\n%s", page)
		}
	}
}

// TestSystemdUnits verifies both units as the system manager would load
// them, with ExecStart pointed at the binary installed in the throwaway
// root, and holds their exposure (systemd-analyze security) to at most 3.0 ("OK").
func TestSystemdUnits(t *testing.T) {
	need(t, "systemd-analyze")
	dir, _ := install(t)
	for _, kind := range []string{"user", "system"} {
		t.Run(kind, func(t *testing.T) {
			unit, err := os.ReadFile(filepath.Join(dir, "usr/lib/systemd", kind, "oat-proxy.service"))
			if err != nil {
				t.Fatal(err)
			}
			text := string(unit)
			for _, want := range []string{
				"NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
				"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "ExecStart=/usr/bin/oat-proxy serve",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("%s unit lacks %s", kind, want)
				}
			}
			vdir := t.TempDir()
			file := filepath.Join(vdir, "oat-proxy.service")
			text = strings.ReplaceAll(text, "/usr/bin/oat-proxy", filepath.Join(dir, "usr/bin/oat-proxy"))
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			out := run(t, nil, "systemd-analyze", "verify", "--man=no", file)
			if strings.TrimSpace(out) != "" {
				t.Errorf("systemd-analyze verify says:\n%s", out)
			}
			sec := run(t, nil, "systemd-analyze", "security", "--offline=yes", "--threshold=30", file)
			t.Logf("%s unit: %s", kind, lastLine(sec))
		})
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestRPMListsTheDebsFiles compares the files of the two packages.
func TestRPMListsTheDebsFiles(t *testing.T) {
	need(t, "rpm", "dpkg-deb")
	var deb []string
	for _, line := range strings.Split(run(t, nil, "dpkg-deb", "--contents", pkg(t, "deb")), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		name := strings.TrimPrefix(f[5], ".")
		if name == "/usr/share/doc/docker-credential-oat/changelog.gz" {
			continue // Debian policy's, only in the .deb
		}
		deb = append(deb, name)
	}
	var rpm []string
	for _, line := range strings.Split(strings.TrimSpace(run(t, nil, "rpm", "-qlp", pkg(t, "rpm"))), "\n") {
		rpm = append(rpm, strings.TrimSpace(line))
	}
	slices.Sort(deb)
	slices.Sort(rpm)
	if diff := cmp.Diff(deb, rpm); diff != "" {
		t.Errorf("the .deb and the .rpm hold different files (-deb +rpm):\n%s", diff)
	}
	if len(rpm) < 10 {
		t.Errorf("rpm -qlp lists only %q", rpm)
	}
}

func TestActionlint(t *testing.T) {
	need(t, "actionlint")
	out := run(t, nil, "actionlint", "-no-color", filepath.Join(root, "packaging/ci/github-actions.yml"))
	if strings.TrimSpace(out) != "" {
		t.Errorf("actionlint:\n%s", out)
	}
}

func TestHomebrewFormula(t *testing.T) {
	formula := filepath.Join(root, "packaging/homebrew/docker-credential-oat.rb")
	if _, err := exec.LookPath("brew"); err == nil {
		run(t, nil, "brew", "style", formula)
		return
	}
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("neither brew nor ruby is installed: the formula is not checked")
	}
	if out := run(t, nil, "ruby", "-c", formula); !strings.Contains(out, "Syntax OK") {
		t.Errorf("ruby -c: %s", out)
	}
}
