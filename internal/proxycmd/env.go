package proxycmd

import (
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/proxyauth"
)

// The variables clients are given to use the proxy (HTTPS_PROXY in both
// spellings clients read, and SSL_CERT_FILE), and SSL_CERT_DIR, which
// upstream TLS verification reads besides SSL_CERT_FILE.
const (
	envHTTPSProxy      = "HTTPS_PROXY"
	envHTTPSProxyLower = "https_proxy"
	envCertFile        = "SSL_CERT_FILE"
	envCertDir         = "SSL_CERT_DIR"
)

// clientEnv is what a client needs to use the proxy at proxyURL, trusting
// the CA bundle at bundle: what env prints and run sets.
func clientEnv(proxyURL, bundle string) [][2]string {
	return [][2]string{{envHTTPSProxy, proxyURL}, {envHTTPSProxyLower, proxyURL}, {envCertFile, bundle}}
}

// BundleFile is the CA bundle clients get as SSL_CERT_FILE: the system's
// roots and the proxy's CA.
const BundleFile = "oat-proxy-bundle.pem"

// systemRootFiles are where Linux and BSD systems keep their roots, as
// crypto/x509 looks for them.
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
	"/usr/local/etc/ssl/cert.pem",
}

// bundle writes the CA bundle (the system's roots, then the proxy's CA,
// made on first use) into the configuration directory and returns its
// path.
func (c *cli) bundle() (string, error) {
	ca, _, err := c.loadCA()
	if err != nil {
		return "", err
	}
	dirs, err := paths.Resolve(c.Getenv)
	if err != nil {
		return "", err
	}
	var roots []byte
	candidates := systemRootFiles
	if f := c.Getenv(envCertFile); f != "" {
		candidates = []string{f}
	}
	for _, f := range candidates {
		if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
			roots = b
			break
		}
	}
	if len(roots) == 0 {
		fmt.Fprintf(c.Stderr, "%s: warning: no system roots found (%s); the bundle holds the proxy's CA only\n", Program, strings.Join(candidates, ", "))
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	data := append(append(append([]byte{}, roots...), '\n'), caPEM...)
	path := filepath.Join(dirs.Config, BundleFile)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return path, nil
	}
	tmp, err := os.CreateTemp(dirs.Config, ".bundle-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o644); err != nil { // certificates only: readable by the clients
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// shells are the output forms of env.
var shells = []string{"sh", "fish", "powershell", "github", "gitlab"}

func (c *cli) envCommand() *command.Command {
	return &command.Command{
		Name:  "env",
		Short: "print the environment clients need to use the proxy",
		Long: `Prints the variables a client needs: HTTPS_PROXY (and https_proxy) with
the proxy secret when the proxy requires one, and SSL_CERT_FILE pointing at
a bundle of the system's roots and the proxy's CA. NO_PROXY is left alone.

  eval "$(oat-proxy env)"                          sh, bash, zsh
  oat-proxy env --shell fish | source              fish
  oat-proxy env --shell powershell | Invoke-Expression
  oat-proxy env --shell github >> "$GITHUB_ENV"    GitHub Actions
  eval "$(oat-proxy env --shell gitlab)"           GitLab CI (before_script)

The output holds the proxy's own secret, never a token's.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			shell := fs.String("shell", "sh", "the output form, `SHELL`: "+strings.Join(shells, ", "))
			listen := fs.String("listen", "", "the `ADDR`ess the proxy listens on "+listenDefault)
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.env(*shell, c.listenAddr(*listen))
			}
		},
	}
}

func (c *cli) env(shell, addr string) error {
	if !slices.Contains(shells, shell) {
		return command.Usagef("--shell %q: give one of %s", shell, strings.Join(shells, ", "))
	}
	if strings.HasPrefix(addr, "unix:") {
		return command.WithHint(fmt.Errorf("the proxy listens on %s: HTTPS_PROXY cannot name a Unix socket", addr), "give --listen host:port")
	}
	bundle, err := c.bundle()
	if err != nil {
		return err
	}
	dirs, err := paths.Resolve(c.Getenv)
	if err != nil {
		return err
	}
	secret, err := proxyauth.Load(dirs.Config)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	printEnv(c, shell, clientEnv(proxyauth.URL(addr, secret), bundle))
	return nil
}

func printEnv(c *cli, shell string, vars [][2]string) {
	for _, v := range vars {
		switch shell {
		case "fish":
			fmt.Fprintf(c.Stdout, "set -gx %s %s;\n", v[0], shQuote(v[1]))
		case "powershell":
			fmt.Fprintf(c.Stdout, "$env:%s = '%s'\n", v[0], strings.ReplaceAll(v[1], "'", "''"))
		case "github":
			fmt.Fprintf(c.Stdout, "%s=%s\n", v[0], v[1])
		default: // sh, gitlab
			fmt.Fprintf(c.Stdout, "export %s=%s\n", v[0], shQuote(v[1]))
		}
	}
}

// shQuote quotes s for a POSIX shell (and fish).
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
