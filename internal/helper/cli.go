package helper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/term"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/dockerconfig"
	"github.com/oatkit/oat/internal/keycache"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
	"github.com/oatkit/oat/internal/vault"
	"github.com/oatkit/oat/internal/version"
)

// Program is the helper's executable name.
const Program = "docker-credential-oat"

// EnvDebug turns on diagnostics on stderr.
const EnvDebug = "OAT_DEBUG"

// maxInput bounds what the protocol reads from stdin.
const maxInput = 64 << 10

func init() {
	credentials.Name = Program
	credentials.Package = "github.com/oatkit/oat"
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
		opts.IsTerminal = isTerminal
	}
	c := &cli{Options: opts, ctx: ctx, log: slog.New(slog.DiscardHandler)}
	if opts.Getenv(EnvDebug) == "1" {
		c.log = slog.New(redact.Handler(slog.NewTextHandler(opts.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(c.Stdout, usage)
		return 0
	case "-v", "--version", credentials.ActionVersion:
		_ = credentials.PrintVersion(c.Stdout)
		return 0
	case credentials.ActionStore, credentials.ActionGet, credentials.ActionErase, credentials.ActionList:
		return c.protocol(args[0], args[1:])
	case "setup":
		return c.setup(args[1:])
	case "reset":
		return c.reset(args[1:])
	case "token":
		return c.token(args[1:])
	case "doctor":
		return c.doctor(args[1:])
	case "unlock":
		return c.unlock(args[1:])
	case "lock":
		return c.lock(args[1:])
	default:
		c.fail(fmt.Errorf("unknown command %q", args[0]), "run '"+Program+" --help' for the commands")
		return 2
	}
}

// protocol answers Docker exactly as credentials.Serve would: the answer, or
// the error, on stdout; exit status 1 on error.
func (c *cli) protocol(action string, extra []string) int {
	if len(extra) > 0 {
		fmt.Fprintf(c.Stdout, "%s %s takes no arguments (its input comes on stdin)\n", Program, action)
		return 1
	}
	err := c.handle(action)
	if err == nil {
		return 0
	}
	if credentials.IsErrCredentialsNotFound(err) {
		fmt.Fprintln(c.Stdout, err)
	} else {
		msg, hint := explain(err)
		if hint != "" {
			msg += " (" + hint + ")"
		}
		fmt.Fprintln(c.Stdout, msg)
	}
	c.log.Debug("protocol error", "action", action, "error", err)
	return 1
}

func (c *cli) handle(action string) error {
	s, err := c.openStore()
	if err != nil {
		return err
	}
	in := &limitedReader{r: c.Stdin, left: maxInput}
	return credentials.HandleCommand(c.newHelper(s), action, in, c.Stdout)
}

// newHelper is the protocol handler with this process's clock, warnings
// and Desktop checks.
func (c *cli) newHelper(s *store.Store) *Helper {
	h := New(s)
	h.now = c.Now
	h.note = c.notifier()
	env := c.desktopEnv()
	h.desktop = &env
	return h
}

func (c *cli) notifier() *notifier {
	n := &notifier{w: c.Stderr, quiet: c.Getenv(EnvQuiet) == "1", now: c.Now}
	if dirs, err := paths.Resolve(c.Getenv); err == nil {
		n.state = filepath.Join(dirs.Data, "warned.json")
	}
	return n
}

func (c *cli) desktopEnv() desktop.Env {
	env := desktop.Env{Getenv: c.Getenv, Home: c.Getenv("HOME"), Root: c.SystemRoot}
	if dir, err := dockerconfig.Dir(c.Getenv); err == nil {
		env.ConfigDir = dir
	}
	return env
}

// isTerminal reports whether v is a terminal file.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (c *cli) openStore() (*store.Store, error) {
	return store.Open(store.Config{Getenv: c.Getenv, OpenTTY: c.OpenTTY, VaultParams: c.VaultParams, Logger: c.log})
}

// limitedReader fails with the error the reference package's scanner gives
// for oversized input, once more than left bytes have been read.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.r == nil {
		return 0, io.EOF
	}
	if l.left < 0 {
		return 0, bufio.ErrTooLong
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, bufio.ErrTooLong
	}
	return n, err
}

// fail prints an error for a person, and a hint when there is one.
func (c *cli) fail(err error, hint string) {
	msg, h := explain(err)
	if hint == "" {
		hint = h
	}
	fmt.Fprintf(c.Stderr, "%s: error: %s\n", Program, msg)
	if hint != "" {
		fmt.Fprintf(c.Stderr, "%s: hint: %s\n", Program, hint)
	}
}

// explain turns an error into a message (with no secret in it) and a hint
// saying what to do.
func explain(err error) (msg, hint string) {
	msg = redact.String(err.Error())
	var (
		corrupt *vault.CorruptError
		perm    *vault.PermissionError
		h       hinted
	)
	switch {
	case errors.As(err, &h):
		return msg, h.hint
	case errors.Is(err, vault.ErrWrongPassphrase):
		return msg, "the passphrase comes from " + passphrase.EnvValue + ", " + passphrase.EnvFile + " or the terminal prompt, in that order"
	case errors.As(err, &corrupt):
		return msg, "the file is left as it is; '" + Program + " reset --yes' moves it aside and starts an empty vault"
	case errors.As(err, &perm):
		return msg, ""
	case errors.Is(err, vault.ErrLocked):
		return msg, "another docker-credential-oat is writing the vault; try again, or look for a stuck process"
	}
	return msg, ""
}

// hinted is an error that knows what to do about it: explain shows the
// hint.
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }

// withHint attaches a hint to err.
func withHint(err error, hint string) error { return hinted{err, hint} }
