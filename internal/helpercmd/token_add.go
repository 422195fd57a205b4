package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenAddCommand() *command.Command {
	return &command.Command{
		Name:  "add",
		Short: "add a token (its secret on stdin, or asked on the terminal)",
		Long: `Adds an organization access token's record: its organization, label, scopes
and expiry, and its secret, read from stdin or asked on the terminal (never
an argument). Without scope flags the scopes are unknown and the proxy does
not check them. The first token of an organization, or one added with
--default, becomes the token docker gets for it. Docker Hub allows at most
50 repositories per token and 100 tokens per organization.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := fs.String("org", "", "the organization `ORG` the token belongs to (required)")
			label := fs.String("label", "", "the token's `LABEL`, as in Docker Hub (required)")
			desc := fs.String("description", "", "a `DESCRIPTION` for people")
			expires := fs.String("expires", "", "when the token expires: a `DATE` (2026-12-31), an RFC 3339 time, or days (90d)")
			makeDefault := fs.Bool("default", false, "make it the token docker gets for its organization")
			sf := addScopeFlags(fs)
			return func(args []string) error {
				if len(args) > 0 {
					return command.Usagef("unexpected argument %q (the secret comes on stdin, never as an argument)", args[0])
				}
				return c.tokenAdd(tokenSpec{org: *org, label: *label, desc: *desc, expires: *expires, makeDefault: *makeDefault, scopes: sf})
			}
		},
	}
}

type tokenSpec struct {
	org, label, desc, expires string
	makeDefault               bool
	scopes                    *scopeFlags
}

func (c *cli) tokenAdd(spec tokenSpec) error {
	now := c.Now()
	t := oat.Token{Org: strings.ToLower(spec.org), Label: spec.label, Description: spec.desc, Created: now.UTC(), Active: true, Source: "add"}
	if err := errors.Join(oat.CheckOrg(t.Org), oat.CheckLabel(t.Label)); err != nil {
		return err
	}
	var err error
	if spec.expires != "" {
		if t.Expires, err = oat.ParseExpiry(spec.expires, now); err != nil {
			return err
		}
	}
	t.Scopes = oat.UnknownScopes()
	if spec.scopes.given() {
		if t.Scopes, err = spec.scopes.scopes(); err != nil {
			return err
		}
	}
	// Checked before the secret is asked for, and again in the transaction
	// that writes.
	all, err := c.readTokens()
	if err == nil {
		err = checkAdd(all, t)
	}
	if err != nil {
		return err
	}
	if t.Secret, err = c.readSecret(fmt.Sprintf("Secret of token %q (%s): ", t.Label, t.Org)); err != nil {
		return err
	}
	if !strings.HasPrefix(t.Secret, oat.OATPrefix) {
		c.warn(fmt.Sprintf("this looks like a %s, not an organization access token (%s…)", oat.SecretKind(t.Secret), oat.OATPrefix))
	}
	if !t.Expires.IsZero() && t.Expires.Sub(now) > 366*24*time.Hour {
		c.warn("the expiry is more than a year away; Docker Hub tokens are usually set to expire within a year")
	}
	if t, err = c.putNew(t, spec.makeDefault); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "added token %q (%s): %s, expires %s%s\n", t.Label, t.Org, t.Scopes.Summary(), t.ExpiryText(now), defaultMark(t))
	if len(t.Scopes.Org) > 0 && len(t.Scopes.Repos) > 0 {
		c.warn("this token has organization scopes too: keep it off machines that only pull and push")
	}
	return nil
}

// putNew stores a new record: the default of its organization when asked
// or when it is the first, docker then logged in as it.
func (c *cli) putNew(t oat.Token, makeDefault bool) (oat.Token, error) {
	var switched string
	err := c.update(func(r *store.Records) error {
		if err := checkAdd(r.Tokens, t); err != nil {
			return err
		}
		// The first record of an organization is its default.
		t.Default = makeDefault || len(r.ForOrg(t.Org)) == 0
		if !t.Default {
			return r.PutToken(t)
		}
		if err := r.SetDefault(t); err != nil {
			return err
		}
		var err error
		switched, err = r.LoginAs(t.Org)
		return err
	})
	if err != nil {
		return t, err
	}
	c.saySwitched(switched, t.Org)
	return t, nil
}

// checkAdd refuses a record whose label is taken, or one too many.
func checkAdd(all []oat.Token, t oat.Token) error {
	mine := oat.ForOrg(all, t.Org)
	if oat.HasLabel(mine, t.Label) {
		return command.WithHint(fmt.Errorf("%s already has a token labelled %q", t.Org, t.Label), "change it with 'token edit', or remove it first with 'token rm'")
	}
	if n := len(mine) + 1; n > oat.BusinessTokenLimit {
		return command.WithHint(fmt.Errorf("%s would have %d tokens: Docker Hub allows at most %d (Business)", t.Org, n, oat.BusinessTokenLimit), "remove tokens you no longer use with 'token rm'")
	}
	return nil
}
