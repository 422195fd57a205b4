package proxycmd

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hub"
)

// trustName is the file name the CA is installed under.
const trustName = "oat-proxy"

// step is one thing trust does: copy the CA to a file, or run a command.
type step struct {
	what string   // for people
	dst  string   // copy the CA here (0644), when set
	argv []string // run this, when set
	root bool     // needs root (or an administrator)
}

func (s step) String() string {
	if s.dst != "" {
		return "install the CA as " + s.dst
	}
	return "run: " + strings.Join(s.argv, " ")
}

// trustPlan is what trust does on goos, for a distribution like osID (the
// ID and ID_LIKE of /etc/os-release).
func trustPlan(goos string, osID []string, caPath string) []step {
	var steps []step
	like := func(ids ...string) bool {
		for _, id := range ids {
			for _, o := range osID {
				if o == id {
					return true
				}
			}
		}
		return false
	}
	switch {
	case goos == "darwin":
		steps = append(steps, step{what: "the macOS System keychain", root: true,
			argv: []string{"security", "add-trusted-cert", "-d", "-r", "trustRoot", "-k", "/Library/Keychains/System.keychain", caPath}})
	case goos == "windows":
		steps = append(steps, step{what: "the Windows root store", root: true, argv: []string{"certutil", "-addstore", "-f", "ROOT", caPath}})
	case like("debian", "ubuntu"):
		steps = append(steps,
			step{what: "the system's roots (Debian, Ubuntu)", root: true, dst: "/usr/local/share/ca-certificates/" + trustName + ".crt"},
			step{what: "the system's roots (Debian, Ubuntu)", root: true, argv: []string{"update-ca-certificates"}})
	case like("rhel", "fedora", "centos", "suse", "opensuse"):
		steps = append(steps,
			step{what: "the system's roots (RHEL, Fedora)", root: true, dst: "/etc/pki/ca-trust/source/anchors/" + trustName + ".pem"},
			step{what: "the system's roots (RHEL, Fedora)", root: true, argv: []string{"update-ca-trust", "extract"}})
	}
	if goos == "linux" {
		// Docker Engine and containerd/podman/skopeo read extra CAs per
		// registry host from certs.d.
		for _, base := range []string{"/etc/docker/certs.d", "/etc/containers/certs.d"} {
			for _, host := range []string{"docker.io", hub.RegistryHost} {
				steps = append(steps, step{what: "Docker Engine, containerd and containers/image", root: true, dst: filepath.Join(base, host, trustName+".crt")})
			}
		}
	}
	return steps
}

func (c *cli) trustCommand() *command.Command {
	return &command.Command{
		Name:  "trust",
		Short: "install the proxy's CA where Docker Engine, BuildKit, containerd and the OS look",
		Long: `Installs the proxy's CA in the OS store (update-ca-certificates on Debian and
Ubuntu, update-ca-trust on RHEL and Fedora, the System keychain on macOS,
certutil on Windows) and in /etc/docker/certs.d and /etc/containers/certs.d
for Docker Hub, then prints the daemon.json "proxies" block and the systemd
drop-in that send dockerd's pulls through the proxy. dockerd must be
restarted to use them.

Most steps need root; without it, trust says which. --dry-run prints every
step and changes nothing. Each step it carries out is reported on stderr as
it starts.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			dryRun := fs.Bool("dry-run", false, "print every step and change nothing")
			listen := fs.String("listen", "", "the `ADDR`ess the proxy listens on, for the daemon settings "+listenDefault)
			asJSON := fs.Bool("json", false, "print the steps, what was done and the daemon's proxy settings as JSON")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.trust(*dryRun, *asJSON, c.listenAddr(*listen))
			}
		},
	}
}

// noProxy is what the daemon settings leave out of the proxy.
const noProxy = "localhost,127.0.0.0/8"

// trustReport is trust --json's answer.
type trustReport struct {
	DryRun   bool           `json:"dry_run"`
	CA       string         `json:"ca"`
	Steps    []trustStep    `json:"steps"`
	NeedRoot int            `json:"need_root"` // steps not done for want of root
	Daemon   daemonSettings `json:"daemon"`
}

// trustStep is one step of trustReport: a file installed or a command run.
type trustStep struct {
	What      string   `json:"what"`
	Install   string   `json:"install,omitempty"`
	Run       []string `json:"run,omitempty"`
	NeedsRoot bool     `json:"needs_root"`
	Done      bool     `json:"done"`
}

// daemonSettings are the proxy settings dockerd needs.
type daemonSettings struct {
	HTTPSProxy string `json:"https_proxy"`
	NoProxy    string `json:"no_proxy"`
}

func (c *cli) trust(dryRun, asJSON bool, addr string) error {
	ca, _, err := c.loadCA()
	if err != nil {
		return err
	}
	goos := runtime.GOOS
	steps := trustPlan(goos, osRelease(c.sys("/etc/os-release")), ca.CertPath)
	isRoot := c.Euid() == 0 || goos == "windows"
	report := trustReport{DryRun: dryRun, CA: ca.CertPath, Steps: []trustStep{}, Daemon: daemonSettings{HTTPSProxy: "http://" + addr, NoProxy: noProxy}}
	if dryRun && !asJSON {
		fmt.Fprintf(c.Stdout, "oat-proxy trust would (nothing is changed with --dry-run):\n")
	}
	progress := command.NewProgress(c.Stderr, Program)
	for i, s := range steps {
		st := trustStep{What: s.what, Install: s.dst, Run: s.argv, NeedsRoot: s.root}
		if !asJSON {
			line := fmt.Sprintf("%d. %s: %s", i+1, s.what, s)
			if s.root && !isRoot {
				line += " (needs root)"
			}
			fmt.Fprintln(c.Stdout, line)
		}
		switch {
		case dryRun:
		case s.root && !isRoot:
			report.NeedRoot++
		default:
			progress.Step("trust: step %d of %d: %s", i+1, len(steps), s)
			if err := c.doStep(s, ca.CertPath); err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, s, err)
			}
			st.Done = true
		}
		report.Steps = append(report.Steps, st)
	}
	if asJSON {
		if err := command.PrintJSON(c.Stdout, report); err != nil {
			return err
		}
	} else {
		if len(steps) == 0 {
			fmt.Fprintf(c.Stdout, "no OS store known for %s: add %s to its trusted roots by hand\n", goos, ca.CertPath)
		}
		c.printDaemonSettings(addr)
	}
	if report.NeedRoot > 0 {
		return command.WithHint(fmt.Errorf("%d of %d steps need root and were not done", report.NeedRoot, len(steps)),
			"run 'sudo "+Program+" trust' (the CA is "+ca.CertPath+")")
	}
	return nil
}

// doStep carries a step out.
func (c *cli) doStep(s step, caPath string) error {
	if s.dst != "" {
		data, err := os.ReadFile(caPath)
		if err != nil {
			return err
		}
		dst := c.sys(s.dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	}
	run := c.RunCommand
	if run == nil {
		run = func(argv []string) error {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Stdout, cmd.Stderr = c.Stderr, c.Stderr
			return cmd.Run()
		}
	}
	if err := run(s.argv); err != nil {
		var notFound *exec.Error
		if errors.As(err, &notFound) {
			return fmt.Errorf("%s is not installed: %w", s.argv[0], err)
		}
		return err
	}
	return nil
}

// printDaemonSettings prints what sends dockerd's pulls through the proxy:
// the systemd drop-in, which every dockerd honours, then daemon.json's
// "proxies", which a dockerd older than 23.0 refuses (it does not start).
func (c *cli) printDaemonSettings(addr string) {
	url := "http://" + addr
	fmt.Fprintf(c.Stdout, `
dockerd: send its Docker Hub traffic through the proxy with either
  a systemd drop-in, /etc/systemd/system/docker.service.d/%s.conf:
    [Service]
    Environment="HTTPS_PROXY=%s" "NO_PROXY=%s"
  or, with Docker Engine 23.0 or later only, /etc/docker/daemon.json:
    {"proxies": {"https-proxy": %q, "no-proxy": %q}}
  (an older dockerd, such as Debian 12's docker.io 20.10, refuses that file
  and does not start: 'dockerd --version' tells)
then restart it: sudo systemctl daemon-reload && sudo systemctl restart docker
With --inject the proxy requires its secret: put it in the URL as
http://oat:SECRET@%s ('%s env' prints it).
BuildKit in a container (docker-container driver) needs the CA too: give it
to 'docker buildx create --driver-opt' or its buildkitd.toml ([registry."docker.io"] ca).
`, trustName, url, noProxy, url, noProxy, addr, Program)
}

// osRelease returns the ID and ID_LIKE words of an os-release file.
func osRelease(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && (k == "ID" || k == "ID_LIKE") {
			ids = append(ids, strings.Fields(strings.Trim(v, `"'`))...)
		}
	}
	return ids
}

// sys is a system path, under Options.SystemRoot in tests.
func (c *cli) sys(path string) string {
	if c.SystemRoot == "" {
		return path
	}
	return filepath.Join(c.SystemRoot, path)
}
