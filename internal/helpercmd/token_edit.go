package helpercmd

import (
	"flag"
	"fmt"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenEditCommand() *command.Command {
	return &command.Command{
		Name: "edit", Args: "LABEL",
		Short: "change a token's record (scope flags replace the scopes)",
		Long: `Changes a token's record: its description, expiry, whether it is active, its
label, or its scopes (any scope flag replaces all of them). The secret and
whether it is the default stay as they are.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := addOrgFlag(fs)
			desc := fs.String("description", "", "a new `DESCRIPTION`")
			expires := fs.String("expires", "", "a new expiry: a `DATE` (2026-12-31), an RFC 3339 time, or days (90d)")
			noExpiry := fs.Bool("no-expiry", false, "the token never expires")
			active := fs.Bool("active", true, "whether the token is active (--active=false: get never hands it out)")
			label := fs.String("label", "", "a new `LABEL`")
			sf := addScopeFlags(fs)
			return func(args []string) error {
				arg, err := oneToken(org, args)
				if err != nil {
					return err
				}
				set := map[string]bool{}
				fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
				delete(set, "org")
				switch {
				case len(set) == 0:
					return command.Usagef("say what to change")
				case set["expires"] && *noExpiry:
					return command.Usagef("--expires and --no-expiry contradict each other")
				}
				if set["label"] {
					if err := oat.CheckLabel(*label); err != nil {
						return err
					}
				}
				edit := func(t *oat.Token, now time.Time) error {
					var err error
					if set["description"] {
						t.Description = *desc
					}
					switch {
					case set["expires"]:
						if t.Expires, err = oat.ParseExpiry(*expires, now); err != nil {
							return err
						}
					case *noExpiry:
						t.Expires = time.Time{}
					}
					if set["active"] {
						t.Active = *active
					}
					if set["label"] {
						t.Label = *label
					}
					if sf.given() {
						t.Scopes, err = sf.scopes()
					}
					return err
				}
				return c.tokenEdit(arg, edit)
			}
		},
	}
}

func (c *cli) tokenEdit(arg tokenArg, edit func(*oat.Token, time.Time) error) error {
	now := c.Now()
	var t oat.Token
	err := c.update(func(r *store.Records) error {
		old, err := arg.find(r.Tokens)
		if err != nil {
			return err
		}
		t = old
		if err := edit(&t, now); err != nil {
			return err
		}
		if t.Label != old.Label {
			if oat.HasLabel(r.ForOrg(t.Org), t.Label) {
				return fmt.Errorf("%s already has a token labelled %q", t.Org, t.Label)
			}
			r.RemoveToken(old)
		}
		return r.PutToken(t)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "updated token %q (%s): %s, expires %s%s\n", t.Label, t.Org, t.Scopes.Summary(), t.ExpiryText(now), defaultMark(t))
	return nil
}
