package helper

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/oatkit/oat/internal/vault"
)

const resetUsage = `Usage: docker-credential-oat reset --yes

Moves the credential vault aside (it is renamed, never deleted) so that the
next 'docker login' or 'store' starts a new, empty one. For a vault whose
passphrase is lost or whose file is damaged.
`

func (c *cli) reset(args []string) int {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	yes := fs.Bool("yes", false, "")
	if err := fs.Parse(args); err != nil {
		return c.usageError(err, resetUsage)
	}
	s, err := c.openStore()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	v, ok := s.Keyring().(*vault.Vault)
	if !ok {
		c.fail(fmt.Errorf("the %s store has no vault file to reset", s.Backend()), "")
		return 1
	}
	if exists, err := v.Exists(); err != nil || !exists {
		fmt.Fprintf(c.Stdout, "no vault at %s; nothing to reset\n", v.Path())
		return 0
	}
	if !*yes {
		c.fail(errors.New("reset needs --yes"), fmt.Sprintf("this moves %s aside and starts an empty vault; every stored credential must then be stored again", v.Path()))
		return 1
	}
	aside, err := v.Reset()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	fmt.Fprintf(c.Stdout, "moved %s to %s\nthe next 'docker login' creates a new vault\n", v.Path(), aside)
	return 0
}
