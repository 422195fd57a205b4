package helpercmd

import (
	"flag"
	"fmt"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenRemoveCommand() *command.Command {
	return &command.Command{
		Name: "rm", Aliases: []string{"remove"}, Args: "LABEL",
		Short: "remove a token",
		Long:  "Removes a token's record and secret from this machine (the token itself stays\nvalid in Docker Hub until it is revoked there).",
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := addOrgFlag(fs)
			return func(args []string) error {
				arg, err := oneToken(org, args)
				if err != nil {
					return err
				}
				return c.tokenRemove(arg)
			}
		},
	}
}

func (c *cli) tokenRemove(arg tokenArg) error {
	var (
		t      oat.Token
		others int
	)
	err := c.update(func(r *store.Records) error {
		var err error
		if t, err = arg.find(r.Tokens); err != nil {
			return err
		}
		r.RemoveToken(t)
		others = len(r.ForOrg(t.Org))
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "removed token %q (%s)\n", t.Label, t.Org)
	if t.Default && others > 0 {
		fmt.Fprintf(c.Stdout, "%s has no default token now; get uses another usable one. Choose with '%s token default LABEL'\n", t.Org, Program)
	}
	return nil
}
