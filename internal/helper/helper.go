// Package helper is the credential-helper protocol docker-credential-oat
// speaks with Docker (store, get, erase, list, exactly as
// github.com/docker/docker-credential-helpers/credentials defines it) over
// the store: for Docker Hub, the login and the organization's tokens.
package helper

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/desktop"
	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

// Helper implements credentials.Helper over the store. For Docker Hub it
// keeps the login (which organization docker is logged in as) and hands
// out that organization's default usable token.
type Helper struct {
	store *store.Store
	now   func() time.Time
	note  *notifier
	// desktop, when set, is checked on every Docker Hub get (files only).
	desktop *desktop.Env
}

var _ credentials.Helper = (*Helper)(nil)

// Program is the helper's executable name.
const Program = "docker-credential-oat"

// Config configures a Helper.
type Config struct {
	Store *store.Store
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// Warnings receives warnings, one line each (nobody if nil).
	Warnings io.Writer
	// Quiet silences warnings (OAT_QUIET=1).
	Quiet bool
	// WarnedFile remembers the warnings given once a day ("" remembers
	// nothing).
	WarnedFile string
	// Desktop, when set, is checked on every Docker Hub get (files only).
	Desktop *desktop.Env
}

// New returns a Helper.
func New(cfg Config) *Helper {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Warnings == nil {
		cfg.Warnings = io.Discard
	}
	return &Helper{store: cfg.Store, now: cfg.Now, desktop: cfg.Desktop,
		note: &notifier{w: cfg.Warnings, quiet: cfg.Quiet, state: cfg.WarnedFile, now: cfg.Now}}
}

// Add stores credentials. Every registry is kept, Docker Hub under one entry
// whatever its spelling. A Docker Hub OAT becomes a token record, its
// organization's default: after a store, get answers with what was stored.
func (h *Helper) Add(c *credentials.Credentials) error {
	if strings.TrimSpace(c.ServerURL) == "" {
		// get trims what it reads: a blank server could never be asked for.
		return credentials.NewErrCredentialsMissingServerURL()
	}
	if !hub.ParseServer(c.ServerURL).Hub {
		return h.store.PutCredential(store.Credential{Server: c.ServerURL, Username: c.Username, Secret: c.Secret})
	}
	if c.Secret == "" {
		// A Hub login with no secret is what a login whose tokens were
		// removed looks like: get would answer "not found".
		return errors.New("no secret for Docker Hub: docker login -u ORG takes the organization access token as the password")
	}
	if !strings.HasPrefix(c.Secret, oat.OATPrefix) {
		h.note.say(fmt.Sprintf("this looks like a %s, not an organization access token: OATs use the organization name as username and a %s… token", oat.SecretKind(c.Secret), oat.OATPrefix))
		return h.store.PutCredential(store.Credential{Server: hub.IndexServer, Username: c.Username, Secret: c.Secret})
	}
	var picked oat.Token
	err := h.store.Update(func(r *store.Records) error {
		var err error
		picked, err = recordLogin(r, strings.ToLower(c.Username), c.Secret, h.now().UTC())
		if err != nil {
			return err
		}
		// The secret lives in the record; the login says which
		// organization docker is logged in as.
		return r.PutCredential(store.Credential{Server: hub.IndexServer, Username: c.Username})
	})
	if why := picked.Unusable(h.now()); err == nil && why != "" {
		h.note.say(fmt.Sprintf("token %q (%s) %s: docker gets another usable token of %s, if there is one", picked.Label, picked.Org, why, picked.Org))
	}
	return err
}

// recordLogin makes the record holding secret org's default: the record
// with that secret if there is one, else a new "login-…" record.
func recordLogin(r *store.Records, org, secret string, now time.Time) (oat.Token, error) {
	mine := r.ForOrg(org)
	t := oat.Token{
		Org: org, Label: loginLabel(mine, now), Secret: secret, Created: now,
		Active: true, Scopes: oat.UnknownScopes(), Source: "login",
	}
	for _, known := range mine {
		if known.Secret == secret {
			t = known // its record says more than a login can
			break
		}
	}
	t.Default = true
	return t, r.SetDefault(t)
}

// loginLabel is "login-YYYYMMDD-N", the first N free in tokens.
func loginLabel(tokens []oat.Token, now time.Time) string {
	for n := 1; ; n++ {
		label := fmt.Sprintf("login-%s-%d", now.Format("20060102"), n)
		if !oat.HasLabel(tokens, label) {
			return label
		}
	}
}

// Get returns the username and secret for serverURL. For Docker Hub: the
// logged-in organization's default token when usable, else another usable
// one of the same organization; never an expired token.
func (h *Helper) Get(serverURL string) (string, string, error) {
	if !hub.ParseServer(serverURL).Hub {
		c, err := h.store.Credential(serverURL)
		if err != nil {
			return "", "", notFound(err)
		}
		return c.Username, c.Secret, nil
	}
	c, all, err := h.store.Login(serverURL)
	if err != nil {
		return "", "", notFound(err)
	}
	h.warnDesktop()
	if c.Secret != "" && !strings.HasPrefix(c.Secret, oat.OATPrefix) {
		return c.Username, c.Secret, nil // a personal access token or password: kept as it came
	}
	mine := oat.ForOrg(all, strings.ToLower(c.Username))
	if len(mine) == 0 {
		if c.Secret == "" { // the login's tokens are gone
			return "", "", credentials.NewErrCredentialsNotFound()
		}
		return c.Username, c.Secret, nil // a login stored before token records
	}
	t, err := h.choose(mine)
	if err != nil {
		return "", "", err
	}
	return c.Username, t.Secret, nil
}

// notFound is the protocol's "credentials not found" for a missing entry,
// and err itself otherwise.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return credentials.NewErrCredentialsNotFound()
	}
	return err
}

// choose picks the token get hands out, and warns about expiry.
func (h *Helper) choose(tokens []oat.Token) (oat.Token, error) {
	now := h.now()
	var def *oat.Token
	for i := range tokens {
		if tokens[i].Default {
			def = &tokens[i]
		}
	}
	pick := func(t oat.Token) oat.Token {
		if t.ExpiresSoon(now) {
			h.note.daily("expiry:"+t.ID(), fmt.Sprintf("token %q (%s) expires %s (%s); replace it before then: docker-credential-oat token ls",
				t.Label, t.Org, t.ExpiryText(now), t.Expires.Format("2006-01-02")))
		}
		return t
	}
	if def != nil && def.Usable(now) {
		return pick(*def), nil
	}
	for _, t := range tokens {
		if t.Usable(now) {
			if def != nil {
				h.note.daily("fallback:"+def.ID(), fmt.Sprintf("the default token %q (%s) %s; using %q instead", def.Label, def.Org, def.Unusable(now), t.Label))
			}
			return pick(t), nil
		}
	}
	t := tokens[0]
	if def != nil {
		t = *def
	}
	return oat.Token{}, fmt.Errorf("no usable token for %s: %q %s; add a new one with docker login -u %s, or docker-credential-oat token add",
		t.Org, t.Label, t.Unusable(now), t.Org)
}

// warnDesktop warns, once a day, when docker talks to Docker Desktop.
func (h *Helper) warnDesktop() {
	if h.desktop == nil {
		return
	}
	if r := desktop.Detect(*h.desktop); r.Desktop {
		h.note.daily("desktop", "docker talks to Docker Desktop ("+r.Signals[0]+"): organization access tokens do not work there; use a personal access token (docker-credential-oat doctor)")
	}
}

// Delete removes serverURL's credentials; there being none is fine. For
// Docker Hub that is the login: token records stay until token rm.
func (h *Helper) Delete(serverURL string) error {
	return h.store.DeleteCredential(serverURL)
}

// List maps every stored server URL to its username. No secrets.
func (h *Helper) List() (map[string]string, error) {
	creds, err := h.store.Credentials()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(creds))
	for _, c := range creds {
		out[c.Server] = c.Username
	}
	return out, nil
}
