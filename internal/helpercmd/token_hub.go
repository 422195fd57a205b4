package helpercmd

import (
	"errors"
	"flag"
	"fmt"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hubapi"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

// hubAct is one of the acts on a token at the Hub.
type hubAct struct {
	name, short, long, done string
}

var hubActs = []hubAct{
	{"activate", "activate a token at Docker Hub", "Activates the token at Docker Hub again, with the kept Hub API sign-in, and marks the record active.", "activated"},
	{"deactivate", "deactivate a token at Docker Hub", "Deactivates the token at Docker Hub, with the kept Hub API sign-in: the Hub refuses it from then on. The record is kept, inactive; activate turns it back on.", "deactivated"},
	{"delete", "delete a token at Docker Hub, and its record", "Deletes the token at Docker Hub, with the kept Hub API sign-in, then its record and secret here. A token the Hub no longer has is only removed here.", "deleted"},
}

func (c *cli) tokenHubCommands() []*command.Command {
	var out []*command.Command
	for _, a := range hubActs {
		out = append(out, &command.Command{
			Name: a.name, Args: "LABEL", Short: a.short,
			Long: a.long + " The record must know the token's Hub id: from token create, or token sync.",
			Flags: func(fs *flag.FlagSet) command.Runner {
				org := addOrgFlag(fs)
				asJSON := fs.Bool("json", false, "print the record as JSON (no secret)")
				return func(args []string) error {
					arg, err := oneToken(org, args)
					if err != nil {
						return err
					}
					return c.tokenAtHub(a, arg, *asJSON)
				}
			},
		})
	}
	return out
}

func (c *cli) tokenAtHub(a hubAct, arg tokenArg, asJSON bool) error {
	api, t, _, err := c.atHub(arg, true)
	if err != nil {
		return err
	}
	switch a.name {
	case "delete":
		if err := api.Delete(c.ctx, t.Org, t.HubID); err != nil && !isGone(err) {
			return hubHint(err)
		}
		t.Gone, t.Active = true, false
		err = c.update(func(r *store.Records) error {
			cur, err := findByHubID(r.Tokens, t)
			if err == nil {
				r.RemoveToken(cur)
			}
			return err
		})
	default:
		on := a.name == "activate"
		var got hubapi.Token
		if got, err = api.Update(c.ctx, t.Org, t.HubID, hubapi.Change{IsActive: &on}); err != nil {
			return hubHint(err)
		}
		err = c.update(func(r *store.Records) error {
			cur, err := findByHubID(r.Tokens, t)
			if err != nil {
				return err
			}
			cur.Active, cur.Gone = got.IsActive, false
			t = cur
			return r.PutToken(cur)
		})
	}
	if err != nil {
		return err
	}
	if asJSON {
		return c.printJSON(view(t, c.Now()))
	}
	fmt.Fprintf(c.Stdout, "%s token %q (%s) at Docker Hub\n", a.done, t.Label, t.Org)
	return nil
}

// atHub reads the records, finds arg's, and signs in to the Hub API. With
// needID, a record that does not know its token's Hub id is refused.
func (c *cli) atHub(arg tokenArg, needID bool) (*hubapi.Client, oat.Token, []oat.Token, error) {
	s, err := c.openStore()
	if err != nil {
		return nil, oat.Token{}, nil, err
	}
	all, err := s.Tokens()
	if err != nil {
		return nil, oat.Token{}, nil, err
	}
	t, err := arg.find(all)
	if err != nil {
		return nil, oat.Token{}, nil, err
	}
	if needID && t.HubID == "" {
		return nil, oat.Token{}, nil, command.WithHint(fmt.Errorf("the record of %q (%s) does not know the token's Docker Hub id", t.Label, t.Org),
			"run '"+Program+" token sync --org "+t.Org+"' first (the record is matched by label)")
	}
	api, err := c.signedIn(s)
	if err != nil {
		return nil, oat.Token{}, nil, err
	}
	return api, t, all, nil
}

// isGone reports whether the Hub answered that the token is not there.
func isGone(err error) bool { return errors.Is(err, hubapi.ErrNotFound) }

// findByHubID is the record of t as it is in the transaction.
func findByHubID(all []oat.Token, t oat.Token) (oat.Token, error) {
	for _, cur := range all {
		if cur.Org == t.Org && cur.HubID == t.HubID {
			return cur, nil
		}
	}
	return oat.Token{}, fmt.Errorf("the record of %q (%s) changed meanwhile; run the command again", t.Label, t.Org)
}
