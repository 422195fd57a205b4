package helper

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
)

const tokenUsage = `Usage: docker-credential-oat token <command> [arguments]

Organization access tokens: which ones this machine holds, what each may do
and when it expires. Secrets come from stdin, or a terminal prompt; never
from the command line, and they are never printed.

Commands:
  add --org ORG --label LABEL [--description D] [--expires DATE]
      [--pull REPO,...] [--push REPO,...] [--public-read]
      [--org-scope member-read,...] [--default]
                       add a token (its secret on stdin)
  ls [--json]          list the tokens
  show LABEL [--json]  one token (its secret as a fingerprint)
  edit LABEL [--description D] [--expires DATE|--no-expiry] [--pull ...]
      [--push ...] [--public-read=true|false] [--org-scope ...] [--active=true|false]
                       change a token's record (scope flags replace the scopes)
  rm LABEL             remove a token
  default LABEL        make a token its organization's default, and log
                       Docker in to Docker Hub with it
  import FILE|- [--org ORG] [--dry-run]
                       add or update records from the JSON of Docker Hub's
                       access-token API (GET /v2/orgs/ORG/access-tokens)

LABEL may be given as ORG/LABEL, or with --org, when several organizations
use the same label. REPO is NAMESPACE/NAME, NAME for an official image
(library/NAME), or ORG/* for every repository of ORG. DATE is 2026-12-31,
an RFC 3339 time, or a number of days (90d).
`

func (c *cli) token(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, tokenUsage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(c.Stdout, tokenUsage)
		return 0
	case "add":
		return c.tokenAdd(args[1:])
	case "ls", "list":
		return c.tokenList(args[1:])
	case "show":
		return c.tokenShow(args[1:])
	case "edit":
		return c.tokenEdit(args[1:])
	case "rm", "remove":
		return c.tokenRemove(args[1:])
	case "default":
		return c.tokenDefault(args[1:])
	case "import":
		return c.tokenImport(args[1:])
	}
	c.fail(fmt.Errorf("unknown token command %q", args[0]), "run '"+Program+" token --help' for the commands")
	return 2
}

// scopeFlags are the flags that set a token's scopes.
type scopeFlags struct {
	pull, push, orgScope listFlag
	publicRead           *bool
}

func addScopeFlags(fs *flag.FlagSet) *scopeFlags {
	s := &scopeFlags{}
	fs.Var(&s.pull, "pull", "")
	fs.Var(&s.push, "push", "")
	fs.Var(&s.orgScope, "org-scope", "")
	s.publicRead = fs.Bool("public-read", false, "")
	return s
}

func (s *scopeFlags) given(fs *flag.FlagSet) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "pull", "push", "org-scope", "public-read":
			given = true
		}
	})
	return given
}

func (s *scopeFlags) scopes() (oat.Scopes, error) {
	return oat.NewScopes(s.pull.values, s.push.values, *s.publicRead, s.orgScope.values)
}

// tokenTx opens the store and reads every token record.
func (c *cli) tokenTx() (*store.Store, []oat.Token, error) {
	s, err := c.openStore()
	if err != nil {
		return nil, nil, err
	}
	all, err := s.Tokens()
	if err != nil {
		return nil, nil, err
	}
	return s, all, nil
}

func (c *cli) tokenAdd(args []string) int {
	fs := newFlags("token add")
	org := fs.String("org", "", "")
	label := fs.String("label", "", "")
	desc := fs.String("description", "", "")
	expires := fs.String("expires", "", "")
	makeDefault := fs.Bool("default", false, "")
	sf := addScopeFlags(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return c.usageError(err, tokenUsage)
	}
	if len(rest) > 0 {
		return c.usageError(fmt.Errorf("unexpected argument %q (the secret comes on stdin, never as an argument)", rest[0]), tokenUsage)
	}
	now := c.Now()
	t := oat.Token{Org: strings.ToLower(*org), Label: *label, Description: *desc, Created: now.UTC(), Active: true, Source: "add"}
	if err := firstErr(oat.CheckOrg(t.Org), oat.CheckLabel(t.Label)); err != nil {
		c.fail(err, "")
		return 1
	}
	if *expires != "" {
		if t.Expires, err = oat.ParseExpiry(*expires, now); err != nil {
			c.fail(err, "")
			return 1
		}
	}
	if sf.given(fs) {
		if t.Scopes, err = sf.scopes(); err != nil {
			c.fail(err, "")
			return 1
		}
	} else {
		t.Scopes = oat.UnknownScopes()
	}
	// Checked before the secret is asked for, and again in the
	// transaction that writes.
	_, all, err := c.tokenTx()
	if err == nil {
		err = checkAdd(all, t)
	}
	if err != nil {
		c.fail(err, "")
		return 1
	}
	secret, err := c.readSecret(fmt.Sprintf("Secret of token %q (%s): ", t.Label, t.Org))
	if err != nil {
		c.fail(err, "")
		return 1
	}
	t.Secret = secret
	if !strings.HasPrefix(secret, oat.OATPrefix) {
		c.warn(fmt.Sprintf("this looks like a %s, not an organization access token (%s…)", oat.SecretKind(secret), oat.OATPrefix))
	}
	if !t.Expires.IsZero() && t.Expires.Sub(now) > 366*24*time.Hour {
		c.warn("the expiry is more than a year away; Docker Hub tokens are usually set to expire within a year")
	}
	var switched string
	err = c.update(func(r *store.Records) error {
		if err := checkAdd(r.Tokens, t); err != nil {
			return err
		}
		// The first record of an organization is its default.
		t.Default = *makeDefault || len(forOrg(r.Tokens, t.Org)) == 0
		if !t.Default {
			return r.PutToken(t)
		}
		if err := putDefault(r, t); err != nil {
			return err
		}
		switched, err = loginAs(r, t.Org)
		return err
	})
	if err != nil {
		c.fail(err, "")
		return 1
	}
	c.saySwitched(switched, t.Org)
	fmt.Fprintf(c.Stdout, "added token %q (%s): %s, expires %s%s\n", t.Label, t.Org, t.Scopes.Summary(), t.ExpiryText(now), defaultMark(t))
	if len(t.Scopes.Org) > 0 && len(t.Scopes.Repos) > 0 {
		c.warn("this token has organization scopes too: keep it off machines that only pull and push")
	}
	return 0
}

// checkAdd refuses a record whose label is taken, or one too many.
func checkAdd(all []oat.Token, t oat.Token) error {
	mine := forOrg(all, t.Org)
	if findLabel(mine, t.Label) >= 0 {
		return withHint(fmt.Errorf("%s already has a token labelled %q", t.Org, t.Label), "change it with 'token edit', or remove it first with 'token rm'")
	}
	if n := len(mine) + 1; n > oat.BusinessTokenLimit {
		return withHint(fmt.Errorf("%s would have %d tokens: Docker Hub allows at most %d (Business)", t.Org, n, oat.BusinessTokenLimit), "remove tokens you no longer use with 'token rm'")
	}
	return nil
}

// update runs fn as one transaction on the store's records.
func (c *cli) update(fn func(r *store.Records) error) error {
	s, err := c.openStore()
	if err != nil {
		return err
	}
	return s.Update(fn)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func defaultMark(t oat.Token) string {
	if t.Default {
		return " (default)"
	}
	return ""
}

// loginAs points docker's Docker Hub login at org, so that docker gets
// org's default token. It returns the organization docker was logged in as
// before, when that was another one.
func loginAs(r *store.Records, org string) (string, error) {
	cur, err := r.Credential(hub.IndexServer)
	switch {
	case err == nil && strings.EqualFold(cur.Username, org) && (cur.Secret == "" || strings.HasPrefix(cur.Secret, oat.OATPrefix)):
		return "", nil // already org, by its tokens
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	var was string
	if err == nil && !strings.EqualFold(cur.Username, org) {
		was = cur.Username
	}
	// The login entry's secret is never handed out while org has tokens.
	return was, r.PutCredential(store.Credential{Server: hub.IndexServer, Username: org})
}

func (c *cli) saySwitched(was, org string) {
	if was != "" {
		fmt.Fprintf(c.Stdout, "docker was logged in to Docker Hub as %s; now as %s\n", was, org)
	}
}

// readSecret reads a secret from stdin, or prompts on the terminal when
// stdin is one.
func (c *cli) readSecret(prompt string) (string, error) {
	var b []byte
	var err error
	if c.IsTerminal(c.Stdin) {
		b, err = passphrase.Ask(c.OpenTTY, prompt)
	} else {
		b, err = io.ReadAll(io.LimitReader(c.Stdin, 4097))
	}
	if err != nil {
		return "", fmt.Errorf("read the secret: %w", err)
	}
	if len(b) > 4096 {
		return "", errors.New("the secret on stdin is longer than 4096 bytes")
	}
	secret := strings.TrimSpace(string(b))
	switch {
	case secret == "":
		return "", errors.New("no secret on stdin: pipe the token in, as in: printf '%s' \"$TOKEN\" | " + Program + " token add …")
	case strings.ContainsAny(secret, " \t\r\n"):
		return "", errors.New("the secret on stdin holds more than one word or line")
	}
	return secret, nil
}

func (c *cli) warn(msg string) {
	if c.Getenv(EnvQuiet) != "1" {
		fmt.Fprintf(c.Stderr, "%s: warning: %s\n", Program, msg)
	}
}

// lookup finds a token by LABEL or ORG/LABEL (and --org).
func lookup(all []oat.Token, name, org string) (oat.Token, error) {
	var found []oat.Token
	for _, t := range all {
		if (t.Label == name && (org == "" || t.Org == org)) || (org == "" && t.ID() == name) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var labels []string
		for _, t := range all {
			labels = append(labels, t.ID())
		}
		if len(labels) == 0 {
			return oat.Token{}, fmt.Errorf("no token %q: there are no tokens yet", name)
		}
		return oat.Token{}, fmt.Errorf("no token %q; there are: %s", name, strings.Join(labels, ", "))
	default:
		var orgs []string
		for _, t := range found {
			orgs = append(orgs, t.Org)
		}
		return oat.Token{}, fmt.Errorf("several organizations have a token %q (%s): say which with ORG/LABEL or --org", name, strings.Join(orgs, ", "))
	}
}

// oneLabel parses flags and exactly one LABEL argument.
func (c *cli) oneLabel(fs *flag.FlagSet, args []string, usage string) (string, int, bool) {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return "", c.usageError(err, usage), false
	}
	if len(rest) != 1 {
		return "", c.usageError(errors.New("give one token LABEL"), usage), false
	}
	return rest[0], 0, true
}

// tokenArg names a command's token: one LABEL argument, with --org.
type tokenArg struct{ name, org string }

// find looks the token up among the records.
func (a tokenArg) find(all []oat.Token) (oat.Token, error) {
	return lookup(all, a.name, a.org)
}

// pickToken adds --org to fs and parses args for one LABEL; on failure it
// has reported and returns the exit code.
func (c *cli) pickToken(fs *flag.FlagSet, args []string) (tokenArg, int, bool) {
	org := fs.String("org", "", "")
	name, code, ok := c.oneLabel(fs, args, tokenUsage)
	if !ok {
		return tokenArg{}, code, false
	}
	return tokenArg{name: name, org: strings.ToLower(*org)}, 0, true
}

// readToken reads the records and finds the token arg names.
func (c *cli) readToken(arg tokenArg) (oat.Token, error) {
	_, all, err := c.tokenTx()
	if err != nil {
		return oat.Token{}, err
	}
	return arg.find(all)
}

// tokenView is a token as ls --json and show --json print it: no secret,
// a fingerprint.
type tokenView struct {
	Org         string     `json:"org"`
	Label       string     `json:"label"`
	Description string     `json:"description,omitempty"`
	Fingerprint string     `json:"fingerprint"`
	Created     time.Time  `json:"created"`
	Expires     *time.Time `json:"expires,omitempty"`
	Expired     bool       `json:"expired"`
	Active      bool       `json:"active"`
	Default     bool       `json:"default"`
	Scopes      oat.Scopes `json:"scopes"`
	Source      string     `json:"source,omitempty"`
}

func view(t oat.Token, now time.Time) tokenView {
	v := tokenView{Org: t.Org, Label: t.Label, Description: t.Description, Fingerprint: fingerprint(t.Secret),
		Created: t.Created, Expired: t.Expired(now), Active: t.Active, Default: t.Default, Scopes: t.Scopes, Source: t.Source}
	if !t.Expires.IsZero() {
		e := t.Expires
		v.Expires = &e
	}
	return v
}

func fingerprint(secret string) string {
	if secret == "" {
		return "(none stored)"
	}
	return redact.Fingerprint(secret)
}

func (c *cli) printJSON(v any) int {
	enc := json.NewEncoder(c.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		c.fail(err, "")
		return 1
	}
	return 0
}

func (c *cli) tokenList(args []string) int {
	fs := newFlags("token ls")
	asJSON := fs.Bool("json", false, "")
	org := fs.String("org", "", "")
	rest, err := parseArgs(fs, args)
	if err != nil || len(rest) > 0 {
		if err == nil {
			err = fmt.Errorf("unexpected argument %q", rest[0])
		}
		return c.usageError(err, tokenUsage)
	}
	_, all, err := c.tokenTx()
	if err != nil {
		c.fail(err, "")
		return 1
	}
	if *org != "" {
		all = forOrg(all, strings.ToLower(*org))
	}
	now := c.Now()
	if *asJSON {
		views := make([]tokenView, 0, len(all))
		for _, t := range all {
			views = append(views, view(t, now))
		}
		return c.printJSON(views)
	}
	if len(all) == 0 {
		fmt.Fprintln(c.Stdout, "no tokens; add one with 'docker login -u ORG' or '"+Program+" token add'")
		return 0
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
	if err := tw.Flush(); err != nil {
		c.fail(err, "")
		return 1
	}
	return 0
}

func (c *cli) tokenShow(args []string) int {
	fs := newFlags("token show")
	asJSON := fs.Bool("json", false, "")
	arg, code, ok := c.pickToken(fs, args)
	if !ok {
		return code
	}
	t, err := c.readToken(arg)
	if err != nil {
		c.fail(err, "")
		return 1
	}
	now := c.Now()
	if *asJSON {
		return c.printJSON(view(t, now))
	}
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
	_ = w.Flush()
	return 0
}

func (c *cli) tokenEdit(args []string) int {
	fs := newFlags("token edit")
	desc := fs.String("description", "", "")
	expires := fs.String("expires", "", "")
	noExpiry := fs.Bool("no-expiry", false, "")
	active := fs.Bool("active", true, "")
	label := fs.String("label", "", "")
	sf := addScopeFlags(fs)
	arg, code, ok := c.pickToken(fs, args)
	if !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	delete(set, "org")
	if len(set) == 0 {
		return c.usageError(errors.New("say what to change"), tokenUsage)
	}
	if set["expires"] && *noExpiry {
		return c.usageError(errors.New("--expires and --no-expiry contradict each other"), tokenUsage)
	}
	if set["label"] {
		if err := oat.CheckLabel(*label); err != nil {
			c.fail(err, "")
			return 1
		}
	}
	now := c.Now()
	var t oat.Token
	err := c.update(func(r *store.Records) error {
		var err error
		if t, err = arg.find(r.Tokens); err != nil {
			return err
		}
		old := t
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
		if set["label"] && *label != t.Label {
			if findLabel(forOrg(r.Tokens, t.Org), *label) >= 0 {
				return fmt.Errorf("%s already has a token labelled %q", t.Org, *label)
			}
			t.Label = *label
			r.RemoveToken(old)
		}
		if sf.given(fs) {
			if t.Scopes, err = sf.scopes(); err != nil {
				return err
			}
		}
		return r.PutToken(t)
	})
	if err != nil {
		c.fail(err, "")
		return 1
	}
	fmt.Fprintf(c.Stdout, "updated token %q (%s): %s, expires %s%s\n", t.Label, t.Org, t.Scopes.Summary(), t.ExpiryText(now), defaultMark(t))
	return 0
}

func (c *cli) tokenRemove(args []string) int {
	arg, code, ok := c.pickToken(newFlags("token rm"), args)
	if !ok {
		return code
	}
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
		others = len(forOrg(r.Tokens, t.Org))
		return nil
	})
	if err != nil {
		c.fail(err, "")
		return 1
	}
	fmt.Fprintf(c.Stdout, "removed token %q (%s)\n", t.Label, t.Org)
	if t.Default && others > 0 {
		fmt.Fprintf(c.Stdout, "%s has no default token now; get uses another usable one. Choose with '%s token default LABEL'\n", t.Org, Program)
	}
	return 0
}

func (c *cli) tokenDefault(args []string) int {
	arg, code, ok := c.pickToken(newFlags("token default"), args)
	if !ok {
		return code
	}
	now := c.Now()
	var (
		t        oat.Token
		switched string
	)
	err := c.update(func(r *store.Records) error {
		var err error
		if t, err = arg.find(r.Tokens); err != nil {
			return err
		}
		if !t.Usable(now) {
			return fmt.Errorf("token %q (%s) %s", t.Label, t.Org, unusable(t, now))
		}
		t.Default = true
		if err := putDefault(r, t); err != nil {
			return err
		}
		switched, err = loginAs(r, t.Org)
		return err
	})
	if err != nil {
		c.fail(err, "")
		return 1
	}
	c.saySwitched(switched, t.Org)
	fmt.Fprintf(c.Stdout, "token %q is now the default of %s\n", t.Label, t.Org)
	return 0
}

// readInput reads FILE, or stdin for "-".
func (c *cli) readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(c.Stdin, 8<<20+1))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(bufio.NewReader(f), 8<<20+1))
}
