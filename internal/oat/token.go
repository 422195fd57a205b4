package oat

import (
	"fmt"
	"strings"
	"time"
)

// Prefixes of Docker Hub's token kinds.
const (
	OATPrefix = "dckr_oat_"
	PATPrefix = "dckr_pat_"
)

// WarnWithin is how long before expiry a token is warned about.
const WarnWithin = 14 * 24 * time.Hour

// Token is an organization access token's record.
type Token struct {
	Org         string    `json:"org"`
	Label       string    `json:"label"`
	Description string    `json:"description,omitempty"`
	Secret      string    `json:"secret,omitempty"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires,omitzero"`
	Active      bool      `json:"active"`
	Default     bool      `json:"default,omitempty"`
	Scopes      Scopes    `json:"scopes"`
	// Source says how the record came in: "login", "add", "import" or
	// "create".
	Source string `json:"source,omitempty"`
	// What the Hub's API said of the token at the last create or sync:
	// its ID, its last use, and whether it was gone from the Hub (deleted
	// there: the record is kept, never silently dropped).
	HubID    string    `json:"hub_id,omitempty"`
	LastUsed time.Time `json:"last_used,omitzero"`
	Gone     bool      `json:"gone,omitempty"`
	// A rotation in progress or done: the Hub id of the token this one
	// replaces, or of the one replacing it, and when the replaced one is
	// to be deactivated.
	RotatedFrom string    `json:"rotated_from,omitempty"`
	RotatedTo   string    `json:"rotated_to,omitempty"`
	RetireAfter time.Time `json:"retire_after,omitzero"`
}

// ID is "org/label".
func (t Token) ID() string { return t.Org + "/" + t.Label }

// Expired reports whether the token has expired at now.
func (t Token) Expired(now time.Time) bool {
	return !t.Expires.IsZero() && !now.Before(t.Expires)
}

// Usable reports whether get may hand the token out: active, unexpired and
// with a secret.
func (t Token) Usable(now time.Time) bool {
	return t.Active && !t.Expired(now) && t.Secret != ""
}

// UnusedFor is how long a token may go unused before doctor says so.
const UnusedFor = 90 * 24 * time.Hour

// ExpiresSoon reports whether the token expires within WarnWithin of now.
func (t Token) ExpiresSoon(now time.Time) bool {
	return !t.Expires.IsZero() && !t.Expired(now) && t.Expires.Sub(now) < WarnWithin
}

// ExpiryText says when the token expires, relative to now: "never",
// "in 12 days", "today", "expired 3 days ago".
func (t Token) ExpiryText(now time.Time) string {
	if t.Expires.IsZero() {
		return "never"
	}
	days := dayDiff(now, t.Expires)
	switch {
	case t.Expired(now) && days == 0:
		return "expired today"
	case t.Expired(now):
		return fmt.Sprintf("expired %s ago", plural(-days, "day"))
	case days == 0:
		return "today"
	case days == 1:
		return "tomorrow"
	default:
		return "in " + plural(days, "day")
	}
}

// dayDiff counts calendar days from a to b, in b's location.
func dayDiff(a, b time.Time) int {
	a = a.In(b.Location())
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// ParseExpiry reads an expiry date: "2026-12-31" (the end of that day,
// UTC), RFC 3339, or a duration from now in days ("90d"). A date that is
// not in the future is an error.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	var err error
	switch {
	case strings.HasSuffix(s, "d") && !strings.Contains(s, "-"):
		var n int
		if _, err = fmt.Sscanf(s, "%dd", &n); err != nil || n <= 0 {
			return time.Time{}, fmt.Errorf("expiry %q: give a date (2026-12-31), a time (RFC 3339) or days from now (90d)", s)
		}
		t = now.Add(time.Duration(n) * 24 * time.Hour)
	case len(s) == len("2006-01-02"):
		t, err = time.Parse("2006-01-02", s)
		t = t.Add(24*time.Hour - time.Second)
	default:
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("expiry %q: give a date (2026-12-31), a time (RFC 3339) or days from now (90d)", s)
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("expiry %s is in the past", t.UTC().Format(time.RFC3339))
	}
	return t.UTC(), nil
}

// SecretKind names what a secret looks like, for warnings.
func SecretKind(secret string) string {
	switch {
	case strings.HasPrefix(secret, OATPrefix):
		return "organization access token"
	case strings.HasPrefix(secret, PATPrefix):
		return "personal access token"
	default:
		return "password"
	}
}

// NoSecret is Unusable's word for a record without a secret.
const NoSecret = "has no secret stored"

// Unusable says why get may not hand the token out: "expired on
// 2026-12-31", "is inactive", "has no secret stored"; "" when it may.
func (t Token) Unusable(now time.Time) string {
	switch {
	case t.Expired(now):
		return "expired on " + t.Expires.Format("2006-01-02")
	case t.Gone:
		return "was deleted at Docker Hub (as the last token sync found)"
	case !t.Active && t.HubID != "":
		return "is deactivated at Docker Hub (as the last token sync found)"
	case !t.Active:
		return "is inactive"
	case t.Secret == "":
		return NoSecret
	}
	return ""
}

// ForOrg returns the tokens of org among all.
func ForOrg(all []Token, org string) []Token {
	var out []Token
	for _, t := range all {
		if t.Org == org {
			out = append(out, t)
		}
	}
	return out
}

// HasLabel reports whether a token among tokens has label.
func HasLabel(tokens []Token, label string) bool {
	for _, t := range tokens {
		if t.Label == label {
			return true
		}
	}
	return false
}
