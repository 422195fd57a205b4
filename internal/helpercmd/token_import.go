package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
)

// importPlan is what an import will do.
type importPlan struct {
	put            []oat.Token
	updated, added []oat.Token
	skipped        []skippedToken
	notices        []string
}

// skippedToken is a token an import leaves out, and why.
type skippedToken struct {
	Org    string `json:"org"`
	Label  string `json:"label"`
	Reason string `json:"reason"`
}

// importReport is token import --json's answer. Every list is present,
// empty when nothing is in it.
type importReport struct {
	DryRun  bool           `json:"dry_run"`
	Updated []tokenView    `json:"updated"`
	Added   []tokenView    `json:"added"`
	Skipped []skippedToken `json:"skipped"`
	Notices []string       `json:"notices"`
}

func (c *cli) tokenImportCommand() *command.Command {
	return &command.Command{
		Name: "import", Args: "FILE|-",
		Short: "add or update records from the JSON of Docker Hub's access-token API",
		Long: `Reads the JSON Docker Hub's API returns for GET /v2/orgs/ORG/access-tokens
(or for one token) and matches its tokens to the records by organization and
label: known ones are updated (their secret and default kept), new ones are
added with their secret asked on the terminal, or skipped without one.
Scope strings Docker Hub uses are mapped (repo-pull, scope-image-pull,
image-pull: pull; likewise push); others are kept as they are. Import never
changes which token is an organization's default; a new organization's first
usable token becomes its default.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			org := fs.String("org", "", "the organization `ORG` of every token (when their resources do not say)")
			dryRun := fs.Bool("dry-run", false, "say what would change, and change nothing")
			asJSON := fs.Bool("json", false, "print what was (or would be) updated, added and skipped as JSON (no secrets)")
			return func(args []string) error {
				if len(args) != 1 {
					return command.Usagef("give one FILE, or - for stdin")
				}
				return c.tokenImport(args[0], strings.ToLower(*org), *dryRun, *asJSON)
			}
		},
	}
}

func (c *cli) tokenImport(name, org string, dryRun, asJSON bool) error {
	progress := c.progress()
	data, err := c.readInput(name)
	if err != nil {
		return err
	}
	api, err := oat.ParseAPITokens(data)
	if err != nil {
		return command.WithHint(fmt.Errorf("%s: %w", inputName(name), err), "give the JSON Docker Hub's API returns for GET /v2/orgs/ORG/access-tokens, or for one token")
	}
	progress.Step("import: %d tokens read from %s; opening the store", len(api), inputName(name))
	// The secrets of new tokens are asked for first; the plan is made
	// again, and written, in one transaction.
	all, err := c.readTokens()
	if err != nil {
		return err
	}
	secrets := map[string]string{}
	var ask func(oat.Token) (string, error)
	if name != "-" && !dryRun {
		asked := 0
		ask = func(t oat.Token) (string, error) {
			if !c.IsTerminal(c.Stdin) {
				return "", nil
			}
			asked++
			progress.Step("import: %s is new: asking for its secret (%d asked so far)", t.ID(), asked)
			return c.askSecret(t)
		}
	}
	plan, err := c.planImport(api, all, org, secrets, ask)
	if err == nil {
		progress.Step("import: %d to update, %d to add, %d skipped", len(plan.updated), len(plan.added), len(plan.skipped))
	}
	if err == nil && !dryRun && len(plan.put) > 0 {
		progress.Step("import: writing %d records in one transaction", len(plan.put))
		err = c.update(func(r *store.Records) error {
			var err error
			if plan, err = c.planImport(api, r.Tokens, org, secrets, nil); err != nil {
				return err
			}
			for _, t := range plan.put {
				if err := r.PutToken(t); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return command.WithHint(fmt.Errorf("%s: %w", inputName(name), err), "nothing was imported")
	}
	for _, n := range plan.notices {
		c.warn(n)
	}
	if asJSON {
		return c.printJSON(c.importReport(plan, dryRun))
	}
	verb := ""
	if dryRun {
		verb = "would be "
	}
	for _, t := range plan.updated {
		fmt.Fprintf(c.Stdout, "%supdated  %s: %s, expires %s\n", verb, t.ID(), t.Scopes.Summary(), t.ExpiryText(c.Now()))
	}
	for _, t := range plan.added {
		fmt.Fprintf(c.Stdout, "%sadded    %s: %s, expires %s%s\n", verb, t.ID(), t.Scopes.Summary(), t.ExpiryText(c.Now()), defaultMark(t))
	}
	for _, sk := range plan.skipped {
		fmt.Fprintf(c.Stdout, "skipped  %s/%s: %s\n", sk.Org, sk.Label, sk.Reason)
	}
	return nil
}

func (c *cli) importReport(plan importPlan, dryRun bool) importReport {
	now := c.Now()
	r := importReport{DryRun: dryRun, Updated: []tokenView{}, Added: []tokenView{}, Skipped: []skippedToken{}, Notices: []string{}}
	for _, t := range plan.updated {
		r.Updated = append(r.Updated, view(t, now))
	}
	for _, t := range plan.added {
		r.Added = append(r.Added, view(t, now))
	}
	r.Skipped = append(r.Skipped, plan.skipped...)
	r.Notices = append(r.Notices, plan.notices...)
	return r
}

func inputName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// planImport matches API tokens to records by organization and label:
// known ones are updated (their secret and default kept), new ones need
// their secret — from secrets, by ID, else asked with ask (and kept in
// secrets) when ask is not nil — or are skipped. A new token becomes the
// default of an organization that had no records. Any invalid token fails
// the whole import.
func (c *cli) planImport(api []oat.APIToken, all []oat.Token, org string, secrets map[string]string, ask func(oat.Token) (string, error)) (importPlan, error) {
	var p importPlan
	now := c.Now()
	seen := map[string]bool{}
	var records []oat.Token
	for _, a := range api {
		o := org
		if o == "" {
			o = a.Org()
		}
		if o == "" {
			return p, fmt.Errorf("token %q: its organization cannot be told from its resources; give --org", a.Label)
		}
		if err := oat.CheckOrg(o); err != nil {
			return p, err
		}
		rec, err := a.Record(o, now)
		if err != nil {
			return p, err
		}
		if seen[rec.ID()] {
			return p, fmt.Errorf("token %q appears twice", rec.ID())
		}
		seen[rec.ID()] = true
		records = append(records, rec)
	}

	counts := map[string]int{}
	for _, t := range all {
		counts[t.Org]++
	}
	for _, rec := range records {
		if !oat.HasLabel(oat.ForOrg(all, rec.Org), rec.Label) {
			counts[rec.Org]++
		}
	}
	for o, n := range counts {
		switch {
		case n > oat.BusinessTokenLimit:
			return p, fmt.Errorf("%s would have %d tokens: Docker Hub allows at most %d on a Business plan (expired tokens count too)", o, n, oat.BusinessTokenLimit)
		case n > oat.TeamTokenLimit:
			p.notices = append(p.notices, fmt.Sprintf("%s has %d tokens: a Team plan allows %d, a Business plan %d (expired tokens count too)", o, n, oat.TeamTokenLimit, oat.BusinessTokenLimit))
		}
	}

	hasDefault := map[string]bool{}
	for _, t := range all {
		hasDefault[t.Org] = true // an organization with records keeps its default, or its lack of one
	}
	for _, rec := range records {
		if old, ok := findToken(all, rec.Org, rec.Label); ok {
			rec.Secret, rec.Default, rec.Source = old.Secret, old.Default, old.Source
			p.updated = append(p.updated, rec)
			p.put = append(p.put, rec)
			continue
		}
		secret, known := secrets[rec.ID()]
		if !known && ask != nil {
			var err error
			if secret, err = ask(rec); err != nil {
				return p, err
			}
			secrets[rec.ID()] = secret
		}
		if secret == "" {
			p.skipped = append(p.skipped, skippedToken{Org: rec.Org, Label: rec.Label, Reason: "no secret for it here (run the import from a terminal to be asked, or use 'token add')"})
			continue
		}
		rec.Secret = secret
		if !hasDefault[rec.Org] && rec.Usable(now) {
			rec.Default, hasDefault[rec.Org] = true, true
		}
		p.added = append(p.added, rec)
		p.put = append(p.put, rec)
	}
	for _, t := range append(append([]oat.Token{}, p.updated...), p.added...) {
		if len(t.Scopes.Other) > 0 {
			p.notices = append(p.notices, fmt.Sprintf("%s: unrecognised scopes kept as they are: %s", t.ID(), strings.Join(t.Scopes.Other, ", ")))
		}
	}
	return p, nil
}

// askSecret asks for a new token's secret on the terminal; "" skips it.
func (c *cli) askSecret(t oat.Token) (string, error) {
	if !c.IsTerminal(c.Stdin) {
		return "", nil
	}
	b, err := passphrase.Ask(c.OpenTTY, fmt.Sprintf("Secret of token %q (%s), or Enter to skip it: ", t.Label, t.Org))
	if err != nil {
		return "", nil
	}
	secret := strings.TrimSpace(string(b))
	if secret != "" && !strings.HasPrefix(secret, oat.OATPrefix) {
		return "", errors.New("that is not an organization access token (" + oat.OATPrefix + "…)")
	}
	return secret, nil
}

// findToken returns org's token labelled label.
func findToken(all []oat.Token, org, label string) (oat.Token, bool) {
	for _, t := range all {
		if t.Org == org && t.Label == label {
			return t, true
		}
	}
	return oat.Token{}, false
}
