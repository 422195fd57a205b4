package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hubapi"
	"github.com/oatkit/oat/internal/oat"
)

func (c *cli) tokenCreateCommand() *command.Command {
	return &command.Command{
		Name:  "create",
		Short: "create a token at Docker Hub and keep it",
		Long: `Creates an organization access token at Docker Hub, with the kept Hub API
sign-in (hub login), and keeps it: its secret, which the Hub shows only
once, its ID and the scopes the Hub answered with. EXPIRY is 30d, 90d, a
DATE (2026-12-31) at most a year ahead, or never (the default).`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := fs.String("org", "", "the organization `ORG` (required)")
			label := fs.String("label", "", "the token's `LABEL` (required)")
			desc := fs.String("description", "", "a `DESCRIPTION` for people")
			expires := fs.String("expires", "never", "when it expires: `EXPIRY`")
			makeDefault := fs.Bool("default", false, "make it the token docker gets for its organization")
			asJSON := fs.Bool("json", false, "print the record as JSON (no secret)")
			sf := addScopeFlags(fs)
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.tokenCreate(tokenSpec{org: *org, label: *label, desc: *desc, expires: *expires, makeDefault: *makeDefault, scopes: sf}, *asJSON)
			}
		},
	}
}

func (c *cli) tokenCreate(spec tokenSpec, asJSON bool) error {
	now := c.Now()
	org := strings.ToLower(spec.org)
	if err := errors.Join(oat.CheckOrg(org), oat.CheckLabel(spec.label)); err != nil {
		return err
	}
	if !spec.scopes.given() {
		return command.Usagef("say what the token may do: --pull REPO, --push REPO, --public-read or --org-scope")
	}
	scopes, err := spec.scopes.scopes()
	if err != nil {
		return err
	}
	want := hubapi.NewToken{Label: spec.label, Description: spec.desc, Resources: resources(org, scopes)}
	if spec.expires != "never" {
		e, err := oat.ParseExpiry(spec.expires, now)
		if err != nil {
			return err
		}
		if e.Sub(now) > 366*24*time.Hour {
			return command.WithHint(errors.New("the expiry is more than a year away"), "Docker Hub allows at most a year, or never")
		}
		want.ExpiresAt = &e
	}
	s, err := c.openStore()
	if err != nil {
		return err
	}
	all, err := s.Tokens()
	if err != nil {
		return err
	}
	if err := checkAdd(all, oat.Token{Org: org, Label: spec.label}); err != nil {
		return err
	}
	api, err := c.signedIn(s)
	if err != nil {
		return err
	}
	got, err := api.Create(c.ctx, org, want)
	if err != nil {
		return hubHint(err)
	}
	t, err := got.API().Record(org, now)
	if err != nil {
		return err
	}
	t.Secret, t.HubID, t.Source = got.Secret, got.ID, "create"
	if t, err = c.putNew(t, spec.makeDefault); err != nil {
		// The secret is shown only once: a token nobody holds is deleted
		// again rather than left behind at the Hub.
		if derr := api.Delete(c.ctx, org, got.ID); derr != nil {
			return fmt.Errorf("created token %q (%s) at Docker Hub, could not keep it (%w), and could not delete it there (%v): delete it in Docker Hub", spec.label, org, err, derr)
		}
		return fmt.Errorf("created token %q (%s) at Docker Hub but could not keep it, so it was deleted there again: %w", spec.label, org, err)
	}
	if asJSON {
		return c.printJSON(view(t, now))
	}
	fmt.Fprintf(c.Stdout, "created token %q (%s) at Docker Hub, id %s: %s, expires %s%s\n", t.Label, t.Org, t.HubID, t.Scopes.Summary(), t.ExpiryText(now), defaultMark(t))
	return nil
}

// resources are scopes as the Hub API's resources of org.
func resources(org string, s oat.Scopes) []hubapi.Resource {
	var out []hubapi.Resource
	for _, r := range s.Repos {
		scope := hubapi.ScopePull
		if r.Push {
			scope = hubapi.ScopePush
		}
		out = append(out, hubapi.Resource{Type: hubapi.TypeRepo, Path: r.Repo, Scopes: []string{scope}})
	}
	if s.PublicRead {
		out = append(out, hubapi.Resource{Type: hubapi.TypeRepo, Path: hubapi.PublicRepos, Scopes: []string{hubapi.ScopePull}})
	}
	if len(s.Org) > 0 {
		r := hubapi.Resource{Type: hubapi.TypeOrg, Path: org}
		for _, o := range s.Org {
			r.Scopes = append(r.Scopes, "scope-"+o)
		}
		out = append(out, r)
	}
	return out
}
