package helper

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/store"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// clockHelper is a Helper over memory with a fixed clock, writing warnings
// to the returned buffer (remembering daily ones in dir).
func clockHelper(t *testing.T) (*Helper, *bytes.Buffer) {
	t.Helper()
	h := memHelper()
	h.now = func() time.Time { return testNow }
	var warnings bytes.Buffer
	h.note = &notifier{w: &warnings, state: filepath.Join(t.TempDir(), "warned.json"), now: h.now}
	return h, &warnings
}

func putTokens(t *testing.T, h *Helper, tokens ...oat.Token) {
	t.Helper()
	if err := h.store.ApplyTokens(tokens); err != nil {
		t.Fatal(err)
	}
}

func tok(label, secret string, expires time.Duration, def bool) oat.Token {
	t := oat.Token{Org: "acme", Label: label, Secret: secret, Active: true, Default: def, Scopes: oat.UnknownScopes(), Created: testNow}
	if expires != 0 {
		t.Expires = testNow.Add(expires)
	}
	return t
}

func TestLoginBecomesATokenRecord(t *testing.T) {
	t.Parallel()
	h, warnings := clockHelper(t)
	if _, err := handle(t, h, "store", storeJSON("docker.io", "Acme", acmeOAT)); err != nil {
		t.Fatal(err)
	}
	all, err := h.store.Tokens()
	if err != nil || len(all) != 1 {
		t.Fatalf("tokens %v, %v", all, err)
	}
	got := all[0]
	if got.Org != "acme" || got.Label != "login-20261123-1" || !got.Default || !got.Scopes.Unknown || got.Secret != acmeOAT || got.Source != "login" {
		t.Errorf("record %+v", got)
	}
	// The same secret again: no new record.
	if _, err := handle(t, h, "store", storeJSON("https://index.docker.io/v1/", "acme", acmeOAT)); err != nil {
		t.Fatal(err)
	}
	// A new secret (a rotated token): a new record, and the default, so
	// that get answers with what was stored last.
	if _, err := handle(t, h, "store", storeJSON("docker.io", "acme", "dckr_oat_second")); err != nil {
		t.Fatal(err)
	}
	all, _ = h.store.Tokens()
	if len(all) != 2 || all[1].Label != "login-20261123-2" || !all[1].Default || all[0].Default {
		t.Errorf("after a second login: %+v", all)
	}
	if out, err := handle(t, h, "get", "docker.io"); err != nil || !strings.Contains(out, "dckr_oat_second") {
		t.Errorf("get after the rotation: %s %v", out, err)
	}
	// The first secret again: its record is the default once more.
	if _, err := handle(t, h, "store", storeJSON("docker.io", "acme", acmeOAT)); err != nil {
		t.Fatal(err)
	}
	if out, err := handle(t, h, "get", "docker.io"); err != nil || !strings.Contains(out, acmeOAT) {
		t.Errorf("get after logging in with the first token again: %s %v", out, err)
	}
	if warnings.Len() != 0 {
		t.Errorf("warnings for OAT logins: %q", warnings)
	}
	// A PAT is stored, with one warning line.
	if _, err := handle(t, h, "store", storeJSON("docker.io", "alice", "dckr_pat_abc")); err != nil {
		t.Fatal(err)
	}
	if got := warnings.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "personal access token") || strings.Contains(got, "dckr_pat_abc") {
		t.Errorf("PAT warning: %q", got)
	}
	out, err := handle(t, h, "get", "docker.io")
	if err != nil || !strings.Contains(out, "dckr_pat_abc") {
		t.Errorf("get after a PAT login: %s %v", out, err)
	}
}

func TestGetChoosesAUsableToken(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		name     string
		tokens   []oat.Token
		want     string // the secret handed out
		err      string
		warnings []string
	}{
		{"the default", []oat.Token{tok("a", "dckr_oat_a", 0, false), tok("b", "dckr_oat_b", 0, true)}, "dckr_oat_b", "", nil},
		{"expired default falls back", []oat.Token{tok("old", "dckr_oat_old", -day, true), tok("new", "dckr_oat_new", 100*day, false)},
			"dckr_oat_new", "", []string{`the default token "old" (acme) expired on 2026-11-22; using "new" instead`}},
		{"inactive default falls back", []oat.Token{func() oat.Token { t := tok("off", "dckr_oat_off", 0, true); t.Active = false; return t }(), tok("on", "dckr_oat_on", 0, false)},
			"dckr_oat_on", "", []string{`"off" (acme) is inactive`}},
		{"all expired", []oat.Token{tok("old", "dckr_oat_old", -3*day, true), tok("older", "dckr_oat_older", -9*day, false)},
			"", `no usable token for acme: "old" expired on 2026-11-20`, nil},
		{"expiring soon warns", []oat.Token{tok("soon", "dckr_oat_soon", 5*day, true)},
			"dckr_oat_soon", "", []string{`token "soon" (acme) expires in 5 days (2026-11-28)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, warnings := clockHelper(t)
			putTokens(t, h, tt.tokens...)
			if err := h.store.PutCredential(store.Credential{Server: "https://index.docker.io/v1/", Username: "acme"}); err != nil {
				t.Fatal(err)
			}
			user, secret, err := h.Get("registry-1.docker.io")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Get = %q, %v; want error %q", secret, err, tt.err)
				}
				return
			}
			if err != nil || user != "acme" || secret != tt.want {
				t.Fatalf("Get = %q %q %v; want %q", user, secret, err, tt.want)
			}
			for _, w := range tt.warnings {
				if !strings.Contains(warnings.String(), w) {
					t.Errorf("warnings %q lack %q", warnings, w)
				}
			}
			if len(tt.warnings) == 0 && warnings.Len() > 0 {
				t.Errorf("unexpected warnings %q", warnings)
			}
			// Once a day: a second get says nothing more.
			before := warnings.Len()
			if _, _, err := h.Get("docker.io"); err != nil {
				t.Fatal(err)
			}
			if warnings.Len() != before {
				t.Errorf("warned twice in a day: %q", warnings)
			}
		})
	}
}

func TestQuietSilencesWarnings(t *testing.T) {
	t.Parallel()
	h, warnings := clockHelper(t)
	h.note.quiet = true
	putTokens(t, h, tok("soon", "dckr_oat_soon", 48*time.Hour, true))
	if err := h.store.PutCredential(store.Credential{Server: "docker.io", Username: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Get("docker.io"); err != nil {
		t.Fatal(err)
	}
	if warnings.Len() != 0 {
		t.Errorf("OAT_QUIET: %q", warnings)
	}
}

func TestLogoutKeepsTokens(t *testing.T) {
	t.Parallel()
	h, _ := clockHelper(t)
	if _, err := handle(t, h, "store", storeJSON("docker.io", "acme", acmeOAT)); err != nil {
		t.Fatal(err)
	}
	if _, err := handle(t, h, "erase", "docker.io"); err != nil {
		t.Fatal(err)
	}
	if _, err := handle(t, h, "get", "docker.io"); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("get after logout: %v", err)
	}
	if all, _ := h.store.Tokens(); len(all) != 1 {
		t.Errorf("token records after logout: %v", all)
	}
}
