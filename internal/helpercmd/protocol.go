package helpercmd

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/helper"
	"github.com/oatkit/oat/internal/paths"
	"github.com/oatkit/oat/internal/store"
)

// maxInput bounds what the protocol reads from stdin.
const maxInput = 64 << 10

// protocolCommand is one of the verbs Docker runs. It answers exactly as
// credentials.Serve would: the answer, or the error, on stdout; exit
// status 1 on error.
func (c *cli) protocolCommand(action, short string) *command.Command {
	return &command.Command{
		Name: action, Short: short, Raw: true,
		Long: "Docker runs this verb with JSON on stdin and stdout, as the credential-helper\nprotocol defines it; errors go to stdout, with exit status 1.",
		Flags: func(*flag.FlagSet) command.Runner {
			return func(args []string) error { return command.ExitCode(c.protocol(action, args)) }
		},
	}
}

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
func (c *cli) newHelper(s *store.Store) *helper.Helper {
	cfg := helper.Config{Store: s, Now: c.Now, Warnings: c.Stderr, Quiet: c.quiet()}
	if dirs, err := paths.Resolve(c.Getenv); err == nil {
		cfg.WarnedFile = filepath.Join(dirs.Data, "warned.json")
	}
	env := c.desktopEnv()
	cfg.Desktop = &env
	return helper.New(cfg)
}

// desktopEnv is where the Desktop checks and the engine's address are read.
func (c *cli) desktopEnv() desktop.Env { return desktop.FromEnv(c.Getenv, c.SystemRoot) }

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
