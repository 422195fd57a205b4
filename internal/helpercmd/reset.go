package helpercmd

import (
	"errors"
	"flag"
	"fmt"

	"github.com/oatkit/oat/internal/command"
)

func (c *cli) resetCommand() *command.Command {
	return &command.Command{
		Name:  "reset",
		Short: "move a damaged or locked-out vault aside",
		Long: `Moves the credential vault aside (it is renamed, never deleted) so that the
next 'docker login' or 'store' starts a new, empty one. For a vault whose
passphrase is lost or whose file is damaged.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			yes := fs.Bool("yes", false, "really move the vault aside")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.reset(*yes)
			}
		},
	}
}

func (c *cli) reset(yes bool) error {
	s, err := c.openStore()
	if err != nil {
		return err
	}
	d := s.Describe()
	if !d.Vault {
		return fmt.Errorf("the %s store has no vault file to reset", s.Backend())
	}
	if !d.Exists {
		fmt.Fprintf(c.Stdout, "no vault at %s; nothing to reset\n", s.Location())
		return nil
	}
	if !yes {
		return command.WithHint(errors.New("reset needs --yes"), fmt.Sprintf("this moves %s aside and starts an empty vault; every stored credential must then be stored again", s.Location()))
	}
	aside, err := s.Reset()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "moved %s to %s\nthe next 'docker login' creates a new vault\n", s.Location(), aside)
	return nil
}
