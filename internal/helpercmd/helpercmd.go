// Package helpercmd is the docker-credential-oat binary: its command table
// (the protocol verbs Docker runs, and the commands people run), the
// process's surroundings, and the people commands, one file each.
package helpercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/colour"
	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/dockerconfig"
	"github.com/oatkit/oat/internal/helper"
	"github.com/oatkit/oat/internal/keycache"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
	"github.com/oatkit/oat/internal/version"
)

// Program is the helper's executable name.
const Program = helper.Program

func init() {
	credentials.Name = Program
	credentials.Package = version.Module
	credentials.Version = version.Version()
}

// Options are the process's surroundings, replaceable in tests.
type Options struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (os.Getenv if nil).
	Getenv func(string) string
	// OpenTTY opens the terminal for prompts (the controlling terminal if nil).
	OpenTTY func() (passphrase.TTY, error)
	// VaultParams are the KDF parameters of a new vault (the default if zero).
	VaultParams vault.Params
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// IsTerminal tells whether w is a terminal (for colour and prompts).
	IsTerminal func(w any) bool
	// SystemRoot prefixes system paths the Desktop checks read (tests).
	SystemRoot string
	// HubHTTP is the Hub API's HTTP client (the default client, which
	// honours HTTPS_PROXY, if nil).
	HubHTTP *http.Client
}

type cli struct {
	Options
	ctx context.Context
	log *slog.Logger
}

// Main runs the helper with args (without the program name) and returns the
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
	if opts.IsTerminal == nil {
		opts.IsTerminal = colour.IsTerminal
	}
	c := &cli{Options: opts, ctx: ctx, log: slog.New(slog.DiscardHandler)}
	if command.Debug.On(opts.Getenv) {
		c.log = slog.New(redact.Handler(slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
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
			Short: "A Docker credential helper for Docker Hub organization access tokens (OATs).",
			Long: `Secrets are kept encrypted: in a file vault (argon2id, XChaCha20-Poly1305)
or an OS keyring. Docker runs store, get, erase and list with JSON on stdin
and stdout; people run the other commands.`,
			Sub: []*command.Command{
				c.protocolCommand(credentials.ActionStore, "store credentials Docker sends on stdin (docker login)"),
				c.protocolCommand(credentials.ActionGet, "print the credentials of the server named on stdin"),
				c.protocolCommand(credentials.ActionErase, "remove the credentials of the server named on stdin (docker logout)"),
				c.protocolCommand(credentials.ActionList, "print every stored server and its username, never a secret"),
				versionCommand(c),
				c.setupCommand(),
				c.tokenCommand(),
				c.hubCommand(),
				c.doctorCommand(),
				c.unlockCommand(),
				c.lockCommand(),
				c.resetCommand(),
			},
		},
		Env: []command.EnvVar{
			{Name: passphrase.EnvValue, Help: "the vault passphrase"},
			{Name: passphrase.EnvFile, Help: "a file holding the vault passphrase"},
			{Name: paths.EnvHome, Help: "keep all files here instead of the XDG directories"},
			{Name: store.EnvBackend, Help: "the store: " + strings.Join(store.Backends(), ", ")},
			{Name: store.EnvKeyctlScope, Help: "the kernel keyring keyctl uses: user (default) or session"},
			{Name: store.EnvCache, Help: store.CacheOff + ", or a duration: unlock on the first passphrase use"},
			{Name: EnvExportPassphraseFile, Help: "a file holding the passphrase of the vault token export writes"},
			command.Debug.WithHelp("diagnostics on stderr (never secrets)"),
			envQuiet,
			{Name: dockerconfig.EnvDir, Help: "the docker configuration directory (setup, doctor)"},
			{Name: colour.EnvNoColor, Help: "no colours, even on a terminal (any non-empty value)"},
		},
		Examples: []string{
			Program + " setup",
			"export " + passphrase.EnvFile + "=/run/secrets/oat-vault",
			`echo "$ACME_OAT" | docker login -u acme --password-stdin`,
			`echo "$PULL_OAT" | ` + Program + ` token add --org acme --label ci-pull --pull 'acme/*' --expires 2026-12-31`,
			Program + " token ls",
			Program + " doctor",
		},
		Stdout: c.Stdout, Stderr: c.Stderr,
		Explain: explain,
	}
}

func versionCommand(c *cli) *command.Command {
	return &command.Command{
		Name: "version", Aliases: []string{"--version", "-v"},
		Short: "print the version",
		Long:  "Prints the program's name, module and version, as credential helpers do; with --json, also the Go version, OS and architecture.",
		Flags: func(fs *flag.FlagSet) command.Runner {
			asJSON := fs.Bool("json", false, "print the version as JSON")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				if *asJSON {
					return command.PrintJSON(c.Stdout, version.Describe(Program))
				}
				return credentials.PrintVersion(c.Stdout)
			}
		},
	}
}

// paint is the painter for stdout: colour on a terminal, never with
// NO_COLOR (package colour decides).
func (c *cli) paint() colour.Painter {
	return colour.New(colour.Enabled(c.IsTerminal(c.Stdout), c.Getenv))
}

func (c *cli) openStore() (*store.Store, error) {
	return store.Open(store.Config{Getenv: c.Getenv, OpenTTY: c.OpenTTY, VaultParams: c.VaultParams, Logger: c.log})
}

// envQuiet silences the warnings and progress lines on stderr.
var envQuiet = command.EnvVar{Name: helper.EnvQuiet, Value: "1", Help: "no warnings (expiry, Docker Desktop, token kind)"}

// quiet reports whether OAT_QUIET=1 silences stderr.
func (c *cli) quiet() bool { return envQuiet.On(c.Getenv) }

// progress reports a long command's steps on stderr, unless OAT_QUIET=1.
func (c *cli) progress() *command.Progress {
	if c.quiet() {
		return command.NewProgress(nil, Program)
	}
	return command.NewProgress(c.Stderr, Program)
}

// warn prints a warning on stderr, unless OAT_QUIET=1.
func (c *cli) warn(msg string) {
	if !c.quiet() {
		fmt.Fprintf(c.Stderr, "%s: warning: %s\n", Program, msg)
	}
}

// explain turns an error into a message (with no secret in it) and a hint
// saying what to do.
func explain(err error) (msg, hint string) {
	msg = redact.String(err.Error())
	var (
		corrupt  *vault.CorruptError
		perm     *vault.PermissionError
		rollback *vault.RollbackError
	)
	switch {
	case errors.Is(err, vault.ErrWrongPassphrase):
		return msg, "the passphrase comes from " + passphrase.EnvValue + ", " + passphrase.EnvFile + " or the terminal prompt, in that order"
	case errors.As(err, &corrupt):
		return msg, "the file is left as it is; '" + Program + " reset --yes' moves it aside and starts an empty vault"
	case errors.As(err, &rollback):
		return msg, "the file is left as it is; put the newer vault back, or, if this copy was restored on purpose, remove " + rollback.State + " to accept it"
	case errors.As(err, &perm):
		return msg, ""
	case errors.Is(err, vault.ErrLocked):
		return msg, "another docker-credential-oat is writing the vault; try again, or look for a stuck process"
	}
	return msg, ""
}
