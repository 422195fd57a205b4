package helpercmd

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
)

func (c *cli) tokenListCommand() *command.Command {
	return &command.Command{
		Name: "ls", Aliases: []string{"list"},
		Short: "list the tokens",
		Long: `Lists every token: label, organization, scopes, expiry, and which is its
organization's default (*). On a terminal, and unless NO_COLOR is set, an
expiry is red when past (or the token inactive) and yellow when near.
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
	p := c.paint()
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	// The Hub's word on last use, once a create or a sync has asked it.
	fromHub := slices.ContainsFunc(all, func(t oat.Token) bool { return t.HubID != "" })
	last := ""
	if fromHub {
		last = "\tLAST USED"
	}
	fmt.Fprintf(tw, "LABEL\tORG\tSCOPES\t%s\tDEFAULT%s\n", p.Plain("EXPIRES"), last)
	for _, t := range all {
		exp := t.ExpiryText(now)
		switch {
		case t.Gone:
			exp += " (gone from the Hub)"
		case !t.Active:
			exp += " (inactive)"
		}
		switch {
		case t.Expired(now) || !t.Active:
			exp = p.Red(exp)
		case t.ExpiresSoon(now):
			exp = p.Yellow(exp)
		default:
			exp = p.Plain(exp)
		}
		mark := ""
		if t.Default {
			mark = "*"
		}
		if fromHub {
			mark += "\t" + lastUse(t)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Label, t.Org, t.Scopes.Summary(), exp, mark)
	}
	return tw.Flush()
}

// lastUse is when the Hub last saw t used, as a create or sync found.
func lastUse(t oat.Token) string {
	switch {
	case t.HubID == "":
		return "-"
	case t.LastUsed.IsZero():
		return "never"
	}
	return t.LastUsed.Format(time.DateOnly)
}
