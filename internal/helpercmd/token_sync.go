package helpercmd

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hubapi"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenSyncCommand() *command.Command {
	return &command.Command{
		Name:  "sync",
		Short: "take the Hub's truth into the records: scopes, active, expiry, last use",
		Long: `Reads every access token of the organization (--org, or each organization
the records name) from Docker Hub's API, with the kept Hub API sign-in, and
updates the records the Hub knows: scopes, active, expiry, last use. A
record whose token is gone from the Hub is marked so (and inactive), never
dropped; tokens the Hub has and this machine does not are listed as known
at the Hub, without a secret.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := fs.String("org", "", "only organization `ORG`")
			asJSON := fs.Bool("json", false, "print what was found as JSON")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.tokenSync(strings.ToLower(*org), *asJSON)
			}
		},
	}
}

// syncEntry is what sync found of one token.
type syncEntry struct {
	Org    string `json:"org"`
	Label  string `json:"label"`
	ID     string `json:"id,omitempty"`
	Status string `json:"status"` // synced, gone from the Hub, at the Hub only
}

func (c *cli) tokenSync(org string, asJSON bool) error {
	s, err := c.openStore()
	if err != nil {
		return err
	}
	all, err := s.Tokens()
	if err != nil {
		return err
	}
	orgs := []string{org}
	if org == "" {
		orgs = nil
		for _, t := range all {
			if !slices.Contains(orgs, t.Org) {
				orgs = append(orgs, t.Org)
			}
		}
	}
	if len(orgs) == 0 {
		return command.WithHint(fmt.Errorf("no token records to sync"), "name the organization with --org ORG")
	}
	api, err := c.signedIn(s)
	if err != nil {
		return err
	}
	// Read everything first: the records change only once the Hub has
	// answered for every organization.
	atHub := map[string][]hubapi.Token{}
	for _, o := range orgs {
		list, err := api.List(c.ctx, o)
		if err != nil {
			return hubHint(err)
		}
		for i, t := range list {
			if list[i], err = api.Get(c.ctx, o, t.ID); err != nil {
				return hubHint(err)
			}
		}
		atHub[o] = list
		if n := len(list); n >= oat.TeamTokenLimit {
			c.warn(fmt.Sprintf("%s holds %d access tokens at Docker Hub: a Team plan allows %d, a Business plan %d, expired and inactive ones included; delete the ones no longer used ('%s token delete LABEL')",
				o, n, oat.TeamTokenLimit, oat.BusinessTokenLimit, Program))
		}
	}
	now := c.Now()
	var report []syncEntry
	err = c.update(func(r *store.Records) error {
		report = nil
		for _, o := range orgs {
			mine := r.ForOrg(o)
			seen := map[string]bool{}
			for _, h := range atHub[o] {
				rec, ok := matchRecord(mine, h, atHub[o])
				if !ok {
					report = append(report, syncEntry{Org: o, Label: h.Label, ID: h.ID, Status: "at the Hub only"})
					continue
				}
				seen[rec.ID()] = true
				fresh, err := h.API().Record(o, now)
				if err != nil {
					return err
				}
				rec.Scopes, rec.Active, rec.Expires, rec.Description = fresh.Scopes, fresh.Active, fresh.Expires, fresh.Description
				rec.HubID, rec.Gone = h.ID, false
				if h.LastUsedAt != nil {
					rec.LastUsed = h.LastUsedAt.UTC()
				}
				if err := r.PutToken(rec); err != nil {
					return err
				}
				report = append(report, syncEntry{Org: o, Label: rec.Label, ID: h.ID, Status: "synced"})
			}
			for _, rec := range mine {
				if seen[rec.ID()] || rec.HubID == "" {
					continue
				}
				rec.Gone, rec.Active = true, false
				if err := r.PutToken(rec); err != nil {
					return err
				}
				report = append(report, syncEntry{Org: o, Label: rec.Label, ID: rec.HubID, Status: "gone from the Hub"})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if asJSON {
		return c.printJSON(report)
	}
	for _, e := range report {
		fmt.Fprintf(c.Stdout, "%s/%s: %s\n", e.Org, e.Label, e.Status)
	}
	return nil
}

// matchRecord finds the record of a token the Hub lists: by its ID, or
// else by its label among the records that have no ID yet, when no other
// token at the Hub has that label (labels need not be unique there, and a
// record taken for the wrong token would get another token's scopes).
func matchRecord(mine []oat.Token, h hubapi.Token, atHub []hubapi.Token) (oat.Token, bool) {
	for _, t := range mine {
		if t.HubID == h.ID {
			return t, true
		}
	}
	same := 0
	for _, o := range atHub {
		if o.Label == h.Label {
			same++
		}
	}
	for _, t := range mine {
		if t.HubID == "" && t.Label == h.Label && same == 1 {
			return t, true
		}
	}
	return oat.Token{}, false
}
