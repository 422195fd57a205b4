package helpercmd

import (
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
)

func (c *cli) tokenShowCommand() *command.Command {
	return &command.Command{
		Name: "show", Args: "LABEL",
		Short: "one token's record (its secret as a fingerprint)",
		Long:  "Shows one token's record: organization, description, the secret's fingerprint,\ncreation and expiry, whether it is active and the default, and every scope.",
		Flags: func(fs *flag.FlagSet) command.Runner {
			asJSON := fs.Bool("json", false, "print the record as JSON (no secret)")
			org := addOrgFlag(fs)
			return func(args []string) error {
				arg, err := oneToken(org, args)
				if err != nil {
					return err
				}
				all, err := c.readTokens()
				if err != nil {
					return err
				}
				t, err := arg.find(all)
				if err != nil {
					return err
				}
				if *asJSON {
					return c.printJSON(view(t, c.Now()))
				}
				return c.tokenShow(t)
			}
		},
	}
}

func (c *cli) tokenShow(t oat.Token) error {
	now := c.Now()
	w := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "label:\t%s\n", t.Label)
	fmt.Fprintf(w, "organization:\t%s\n", t.Org)
	if t.Description != "" {
		fmt.Fprintf(w, "description:\t%s\n", t.Description)
	}
	fmt.Fprintf(w, "secret:\t%s\n", fingerprint(t.Secret))
	fmt.Fprintf(w, "created:\t%s\n", t.Created.Format(time.RFC3339))
	exp := t.ExpiryText(now)
	if !t.Expires.IsZero() {
		exp += " (" + t.Expires.Format(time.RFC3339) + ")"
	}
	fmt.Fprintf(w, "expires:\t%s\n", exp)
	fmt.Fprintf(w, "active:\t%v\n", t.Active)
	fmt.Fprintf(w, "default:\t%v\n", t.Default)
	fmt.Fprintf(w, "scopes:\t%s\n", t.Scopes.Summary())
	for _, rs := range t.Scopes.Repos {
		access := "pull"
		if rs.Push {
			access = "pull, push"
		}
		fmt.Fprintf(w, "  %s\t%s\n", rs.Repo, access)
	}
	for _, o := range t.Scopes.Other {
		fmt.Fprintf(w, "  unrecognised:\t%s\n", o)
	}
	if t.Source != "" {
		fmt.Fprintf(w, "added by:\t%s\n", t.Source)
	}
	return w.Flush()
}
