package policy

import "fmt"

// Cause is why a verdict is what it is: one of a small fixed set, named
// in the audit line and, for a refusal, in the denials metric's reason
// label.
type Cause uint8

const (
	_ Cause = iota

	// Allowed (or, injected, the token chosen for it).
	InScope        // within the token's scopes
	ScopesUnknown  // the token's scopes are unknown: not checked
	NothingToCheck // a ping or a login

	// Injected.
	Reissued // a bearer the proxy did not see issued, replaced by its own

	// Passed.
	NoCredentials   // no credentials: the Hub answers it as anonymous
	NotOurs         // credentials of no token the proxy holds
	OtherHost       // a CONNECT to a host that is not Docker Hub's
	BlobHost        // a CONNECT to a Docker Hub blob host
	FollowsRedirect // a CONNECT to the host of a redirect the proxy relayed

	// Challenged.
	NoBearer      // a registry request without a bearer token
	UnseenBearer  // a bearer or refresh token the proxy did not see issued
	IssuedForLess // a bearer issued for less than the request needs

	// Denied (OutsideScopes is Narrowed too, for a client that shows no
	// refused token request).
	OutsideScopes    // what the token's scopes do not allow
	NotPublic        // a pull by public read the Hub did not grant
	AccessTokenAPI   // the access token API, which no OAT may use
	NoTokenCovers    // injection: no token held covers the request
	Conflict         // credentials of a token and of others besides
	TokenExpired     // the token has expired
	TokenInactive    // the token is deactivated
	TokenDeleted     // the token was deleted at Docker Hub
	NotUnderstood    // a request the classifier does not fully understand
	Unread           // a body the proxy must read and cannot, as the Hub would
	InvalidName      // a malformed name or reference, with no token of ours
	BodyUnreadable   // a body that stopped arriving
	BodyTooLarge     // a token or login body over the limit
	HostMismatch     // a request for another host inside a tunnel
	MalformedConnect // a CONNECT target that is not host:port
	HubPort          // a CONNECT to a Docker Hub host on a port not 443
	OtherHostDenied  // --deny-other-hosts and not a Docker Hub host
	PlainHTTP        // plain HTTP to a Docker Hub host
	OwnTokenFailed   // the proxy's own token request, for Reissued, failed

	numCauses
)

type causeInfo struct {
	name    string // the audit line's cause, the metric's label
	outcome Outcome
	text    string // the audit line's reason
}

var causes = [numCauses]causeInfo{
	InScope:        {"in-scope", Allowed, "within the token's scopes"},
	ScopesUnknown:  {"scopes-unknown", Allowed, "scopes unknown: not checked"},
	NothingToCheck: {"nothing-to-check", Allowed, "nothing to check"},

	Reissued: {"reissued", Injected, "a bearer the proxy did not see issued (another replica's?): sent with the proxy's own, for the least-privileged token that covers it"},

	NoCredentials:   {"no-credentials", Passed, "no credentials"},
	NotOurs:         {"not-ours", Passed, "credentials of no token in the store: not ours to judge"},
	OtherHost:       {"other-host", Passed, "not a Docker Hub host: tunnelled untouched"},
	BlobHost:        {"blob-host", Passed, "a Docker Hub blob host: tunnelled untouched"},
	FollowsRedirect: {"follows-redirect", Passed, "follows a Docker Hub redirect the proxy relayed to this client: tunnelled untouched"},

	NoBearer:      {"no-bearer", Challenged, "no bearer token: answered with the Hub's challenge"},
	UnseenBearer:  {"unseen-bearer", Challenged, "a bearer or refresh token the proxy did not see issued"},
	IssuedForLess: {"issued-for-less", Challenged, "a bearer token issued for less than the request needs"},

	OutsideScopes:    {"scope", Denied, "outside the token's scopes"},
	NotPublic:        {"not-public", Denied, "outside the token's scopes: the Hub granted no pull on a repository the token may read only if public"},
	AccessTokenAPI:   {"access-token-api", Denied, "the access token API: outside any token's scopes"},
	NoTokenCovers:    {"no-token", Denied, "no token covers the request"},
	Conflict:         {"conflict", Denied, "conflicting credentials"},
	TokenExpired:     {"expired", Denied, "the token has expired"},
	TokenInactive:    {"inactive", Denied, "the token is inactive"},
	TokenDeleted:     {"deleted", Denied, "the token was deleted"},
	NotUnderstood:    {"not-understood", Denied, "not understood"},
	Unread:           {"unread", Denied, "not read in full"},
	InvalidName:      {"invalid-name", Denied, "an invalid name or reference"},
	BodyUnreadable:   {"body-unreadable", Denied, "body unreadable"},
	BodyTooLarge:     {"body-too-large", Denied, "body too large"},
	HostMismatch:     {"host-mismatch", Denied, "host differs from the CONNECT host"},
	MalformedConnect: {"malformed-connect", Denied, "malformed CONNECT target"},
	HubPort:          {"hub-port", Denied, "a Docker Hub host on a port other than 443"},
	OtherHostDenied:  {"other-host-denied", Denied, "not a Docker Hub host, and --deny-other-hosts"},
	PlainHTTP:        {"plain-http", Denied, "plain HTTP to a Docker Hub host"},
	OwnTokenFailed:   {"own-token-failed", Denied, "a bearer the proxy did not see issued; the proxy's own token request failed"},
}

// Causes are every cause, in order.
func Causes() []Cause {
	out := make([]Cause, 0, numCauses-1)
	for c := Cause(1); c < numCauses; c++ {
		out = append(out, c)
	}
	return out
}

func (c Cause) info() causeInfo {
	if c > 0 && c < numCauses {
		return causes[c]
	}
	return causeInfo{name: fmt.Sprintf("cause(%d)", uint8(c)), outcome: Denied, text: "unknown cause"}
}

// String is the cause's name: the audit line's cause and the denials
// metric's reason label.
func (c Cause) String() string { return c.info().name }

// Text is the cause in words, for the audit line's reason.
func (c Cause) Text() string { return c.info().text }

// Outcome is the outcome the cause leads to (OutsideScopes's is Denied;
// a narrowed request has it too, InScope's Allowed or Injected).
func (c Cause) Outcome() Outcome { return c.info().outcome }

// MarshalText writes the cause's name.
func (c Cause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a cause's name.
func (c *Cause) UnmarshalText(b []byte) error {
	for _, k := range Causes() {
		if k.String() == string(b) {
			*c = k
			return nil
		}
	}
	return fmt.Errorf("unknown cause %q", b)
}
