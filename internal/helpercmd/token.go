package helpercmd

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/redact"
	"github.com/oatkit/oat/internal/store"
)

func (c *cli) tokenCommand() *command.Command {
	return &command.Command{
		Name:  "token",
		Short: "organization access tokens, their scopes and expiry",
		Long: `Organization access tokens: which ones this machine holds, what each may do
and when it expires. Secrets come from stdin, or a terminal prompt; never
from the command line, and they are never printed.

LABEL may be given as ORG/LABEL, or with --org, when several organizations
use the same label. REPO is NAMESPACE/NAME, NAME for an official image
(library/NAME), or ORG/* for every repository of ORG. DATE is 2026-12-31,
an RFC 3339 time, or a number of days (90d).

The most recent explicit act picks the token docker gets for an
organization: docker login, token default, token add --default.`,
		Sub: append([]*command.Command{
			c.tokenAddCommand(),
			c.tokenListCommand(),
			c.tokenShowCommand(),
			c.tokenEditCommand(),
			c.tokenRemoveCommand(),
			c.tokenDefaultCommand(),
			c.tokenImportCommand(),
			c.tokenExportCommand(),
			c.tokenCreateCommand(),
			c.tokenSyncCommand(),
			c.tokenRotateCommand(),
		}, c.tokenHubCommands()...),
	}
}

// scopeFlags are the flags that set a token's scopes.
type scopeFlags struct {
	fs                   *flag.FlagSet
	pull, push, orgScope listFlag
	publicRead           *bool
}

func addScopeFlags(fs *flag.FlagSet) *scopeFlags {
	s := &scopeFlags{fs: fs}
	fs.Var(&s.pull, "pull", "Image Pull on `REPO,...` (repeatable)")
	fs.Var(&s.push, "push", "Image Push (and pull) on `REPO,...` (repeatable)")
	fs.Var(&s.orgScope, "org-scope", "organization scopes: `SCOPE,...` of member-read, member-edit, invite-read, invite-edit, group-read, group-edit")
	s.publicRead = fs.Bool("public-read", false, "Read public repositories")
	return s
}

// given reports whether a scope flag was set.
func (s *scopeFlags) given() bool {
	given := false
	s.fs.Visit(func(f *flag.Flag) {
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

// listFlag collects repeated, comma-separated values.
type listFlag struct{ values []string }

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
	return nil
}

// readTokens opens the store and reads every token record.
func (c *cli) readTokens() ([]oat.Token, error) {
	s, err := c.openStore()
	if err != nil {
		return nil, err
	}
	return s.Tokens()
}

// update runs fn as one transaction on the store's records.
func (c *cli) update(fn func(r *store.Records) error) error {
	s, err := c.openStore()
	if err != nil {
		return err
	}
	return s.Update(fn)
}

// tokenArg names a command's token: one LABEL argument, with --org.
type tokenArg struct {
	org  *string
	name string
}

func addOrgFlag(fs *flag.FlagSet) *string {
	return fs.String("org", "", "the organization `ORG` of LABEL, when several have that label")
}

// oneToken takes the one LABEL argument.
func oneToken(org *string, args []string) (tokenArg, error) {
	if len(args) != 1 {
		return tokenArg{}, command.Usagef("give one token LABEL")
	}
	return tokenArg{org: org, name: args[0]}, nil
}

// find looks the token up among the records.
func (a tokenArg) find(all []oat.Token) (oat.Token, error) {
	return lookup(all, a.name, strings.ToLower(*a.org))
}

func (c *cli) printJSON(v any) error { return command.PrintJSON(c.Stdout, v) }

func defaultMark(t oat.Token) string {
	if t.Default {
		return " (default)"
	}
	return ""
}

func (c *cli) saySwitched(was, org string) {
	if was != "" {
		fmt.Fprintf(c.Stdout, "docker was logged in to Docker Hub as %s; now as %s\n", was, org)
	}
}

// maxSecret bounds a secret read from stdin or a file; checkSecret refuses
// a longer one.
const maxSecret = 4096

func (c *cli) readSecret(prompt string) (string, error) {
	var b []byte
	var err error
	if c.IsTerminal(c.Stdin) {
		b, err = passphrase.Ask(c.OpenTTY, prompt)
	} else {
		b, err = io.ReadAll(io.LimitReader(c.Stdin, maxSecret+1))
	}
	if err != nil {
		return "", fmt.Errorf("read the secret: %w", err)
	}
	return checkSecret(b, "on stdin", "pipe the token in, as in: printf '%s' \"$TOKEN\" | "+Program+" token add …")
}

// readSecretFile reads a secret from a file, as docker login's
// --password-file would.
func (c *cli) readSecretFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("read the secret: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecret+1))
	if err != nil {
		return "", fmt.Errorf("read the secret: %w", err)
	}
	return checkSecret(b, "in "+name, "write the personal access token alone into the file")
}

// checkSecret is the one word of b, read from where, or an error saying
// what to do.
func checkSecret(b []byte, where, fix string) (string, error) {
	if len(b) > maxSecret {
		return "", fmt.Errorf("the secret %s is longer than %d bytes", where, maxSecret)
	}
	secret := strings.TrimSpace(string(b))
	switch {
	case secret == "":
		return "", fmt.Errorf("no secret %s: %s", where, fix)
	case strings.ContainsAny(secret, " \t\r\n"):
		return "", fmt.Errorf("the secret %s holds more than one word or line", where)
	}
	return secret, nil
}
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
	// What the Hub said at the last create or sync, when it was asked.
	HubID      string     `json:"id,omitempty"`
	IsActive   *bool      `json:"is_active,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Gone       bool       `json:"gone_from_hub,omitempty"`
}

func view(t oat.Token, now time.Time) tokenView {
	v := tokenView{Org: t.Org, Label: t.Label, Description: t.Description, Fingerprint: fingerprint(t.Secret),
		Created: t.Created, Expired: t.Expired(now), Active: t.Active, Default: t.Default, Scopes: t.Scopes, Source: t.Source}
	if !t.Expires.IsZero() {
		e := t.Expires
		v.Expires = &e
	}
	if t.HubID != "" {
		active := t.Active
		v.HubID, v.IsActive, v.ExpiresAt, v.Gone = t.HubID, &active, v.Expires, t.Gone
		if !t.LastUsed.IsZero() {
			u := t.LastUsed
			v.LastUsedAt = &u
		}
	}
	return v
}
func fingerprint(secret string) string {
	if secret == "" {
		return "(none stored)"
	}
	return redact.Fingerprint(secret)
}

// readInput reads an import file, or stdin for "-": up to a byte past
// what oat.ParseAPITokens accepts, so that it can say the input is too
// large.
func (c *cli) readInput(name string) ([]byte, error) {
	const limit = oat.MaxImportSize + 1
	if name == "-" {
		return io.ReadAll(io.LimitReader(c.Stdin, limit))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(bufio.NewReader(f), limit))
}
