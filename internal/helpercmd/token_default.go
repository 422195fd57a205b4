package helpercmd

import (
	"flag"
	"fmt"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenDefaultCommand() *command.Command {
	return &command.Command{
		Name: "default", Args: "LABEL",
		Short: "make a token its organization's default, and log Docker in to Docker Hub with it",
		Long: `Makes a token the one docker gets for its organization, and points docker's
Docker Hub login at that organization. A later docker login, token default
or token add --default picks again.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := addOrgFlag(fs)
			return func(args []string) error {
				arg, err := oneToken(org, args)
				if err != nil {
					return err
				}
				return c.tokenDefault(arg)
			}
		},
	}
}

func (c *cli) tokenDefault(arg tokenArg) error {
	now := c.Now()
	var (
		t        oat.Token
		switched string
	)
	err := c.update(func(r *store.Records) error {
		var err error
		if t, err = arg.find(r.Tokens); err != nil {
			return err
		}
		if why := t.Unusable(now); why != "" {
			return fmt.Errorf("token %q (%s) %s", t.Label, t.Org, why)
		}
		if err := r.SetDefault(t); err != nil {
			return err
		}
		switched, err = r.LoginAs(t.Org)
		return err
	})
	if err != nil {
		return err
	}
	c.saySwitched(switched, t.Org)
	fmt.Fprintf(c.Stdout, "token %q is now the default of %s\n", t.Label, t.Org)
	return nil
}
