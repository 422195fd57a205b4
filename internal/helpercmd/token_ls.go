package helpercmd

import (
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
)

func (c *cli) tokenListCommand() *command.Command {
	return &command.Command{
		Name: "ls", Aliases: []string{"list"},
		Short: "list the tokens",
		Long: `Lists every token: label, organization, scopes, expiry (in red on a terminal
when it is near or past), and which is its organization's default (*).
Secrets are never printed; --json gives fingerprints.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			asJSON := fs.Bool("json", false, "print the records as JSON (no secrets)")
			org := fs.String("org", "", "only the tokens of organization `ORG`")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.tokenList(strings.ToLower(*org), *asJSON)
			}
		},
	}
}

func (c *cli) tokenList(org string, asJSON bool) error {
	all, err := c.readTokens()
	if err != nil {
		return err
	}
	if org != "" {
		all = oat.ForOrg(all, org)
	}
	now := c.Now()
	if asJSON {
		views := make([]tokenView, 0, len(all))
		for _, t := range all {
			views = append(views, view(t, now))
		}
		return c.printJSON(views)
	}
	if len(all) == 0 {
		fmt.Fprintln(c.Stdout, "no tokens; add one with 'docker login -u ORG' or '"+Program+" token add'")
		return nil
	}
	color := c.IsTerminal(c.Stdout) && c.Getenv("NO_COLOR") == ""
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tORG\tSCOPES\tEXPIRES\tDEFAULT")
	for _, t := range all {
		exp := t.ExpiryText(now)
		if !t.Active {
			exp += " (inactive)"
		}
		if color && (t.Expired(now) || t.ExpiresSoon(now)) {
			exp = "\x1b[31m" + exp + "\x1b[0m"
		}
		mark := ""
		if t.Default {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Label, t.Org, t.Scopes.Summary(), exp, mark)
	}
	return tw.Flush()
}
