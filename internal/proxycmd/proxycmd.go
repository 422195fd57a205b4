// Package proxycmd is the oat-proxy binary: its command table and
// commands, one file each.
package proxycmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/keycache"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/proxy"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/version"
)

// Program is the proxy's executable name.
const Program = "oat-proxy"

// Options are the process's surroundings, replaceable in tests.
type Options struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (os.Getenv if nil).
	Getenv func(string) string
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Reload receives a value for every request to read the token records
	// again and reopen the audit log (SIGHUP; the process's own if nil).
	Reload <-chan os.Signal
	// Environ is the environment run passes on (os.Environ if nil).
	Environ func() []string
	// SystemRoot prefixes the system paths trust writes and reads (tests).
	SystemRoot string
	// RunCommand runs a program for trust (exec if nil; tests).
	RunCommand func(argv []string) error
	// Euid is the effective user ID (os.Geteuid if nil; tests).
	Euid func() int
}

type cli struct {
	Options
	ctx context.Context
}

// Main runs oat-proxy with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	keycache.Harden()
	return Run(ctx, args, Options{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// Run is Main with every surrounding given.
func Run(ctx context.Context, args []string, opts Options) int {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Euid == nil {
		opts.Euid = os.Geteuid
	}
	c := &cli{Options: opts, ctx: ctx}
	return c.program().Run(args)
}

// Table is the command table, for help, man pages and completions.
func Table() *command.Program {
	return (&cli{Options: Options{Stdout: io.Discard, Stderr: io.Discard}}).program()
}

func (c *cli) program() *command.Program {
	return &command.Program{
		Root: &command.Command{
			Name:  Program,
			Short: "A local proxy that checks Docker Hub requests against organization access token scopes.",
			Long: `oat-proxy checks every request to Docker Hub against the scopes of the
organization access token in use, and refuses an out-of-scope one with a
sentence that names the token, the repository and the missing scope, before
anything reaches Docker Hub.

Clients use it with HTTPS_PROXY=http://` + DefaultListen + ` and trust the CA that
'oat-proxy ca' prints. Tokens come from docker-credential-oat's store (the
same ` + passphrase.EnvValue + `, ` + passphrase.EnvFile + ` or terminal prompt).`,
			Sub: []*command.Command{
				c.serveCommand(),
				c.runCommand(),
				c.envCommand(),
				c.trustCommand(),
				c.caCommand(),
				c.versionCommand(),
			},
		},
		Env: []command.EnvVar{
			{Name: EnvListen, Help: "the listen address of serve (default " + DefaultListen + ")"},
			{Name: passphrase.EnvValue, Help: "the passphrase of docker-credential-oat's vault"},
			{Name: passphrase.EnvFile, Help: "a file holding that passphrase"},
			{Name: paths.EnvHome, Help: "where docker-credential-oat and oat-proxy keep their files"},
			{Name: store.EnvBackend, Help: "the store the token records are read from: " + strings.Join(store.Backends(), ", ")},
			{Name: store.EnvKeyctlScope, Help: "the kernel keyring the keyctl store uses: user (default) or session"},
			{Name: store.EnvCache, Help: store.CacheOff + ", or a duration: the vault's unlock cache, as docker-credential-oat uses it"},
			command.Debug.WithHelp("run logs on stderr at debug level, not warnings only (never secrets)"),
			{Name: envCertFile, Help: "a file of roots upstream TLS is verified against, and that env and run put in the clients' bundle"},
			{Name: envCertDir, Help: "a directory of roots upstream TLS is verified against"},
		},
		Examples: []string{
			Program + " serve --audit-log audit.jsonl",
			"export " + envHTTPSProxy + "=http://" + DefaultListen + " " + envCertFile + "=$(" + Program + " ca)",
		},
		Stdout: c.Stdout, Stderr: c.Stderr,
		Explain: func(err error) (string, string) { return redact.String(err.Error()), "" },
	}
}

func (c *cli) versionCommand() *command.Command {
	return &command.Command{
		Name: "version", Aliases: []string{"--version", "-v"},
		Short: "print the version",
		Long:  "Prints the program's name and version; with --json, also the module, Go version, OS and architecture.",
		Flags: func(fs *flag.FlagSet) command.Runner {
			asJSON := fs.Bool("json", false, "print the version as JSON")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				if *asJSON {
					return command.PrintJSON(c.Stdout, version.Describe(Program))
				}
				fmt.Fprintf(c.Stdout, "%s %s\n", Program, version.Version())
				return nil
			}
		},
	}
}

func (c *cli) loadCA() (*proxy.CA, bool, error) {
	dirs, err := paths.Resolve(c.Getenv)
	if err != nil {
		return nil, false, err
	}
	return proxy.LoadOrCreateCA(dirs.Config)
}
