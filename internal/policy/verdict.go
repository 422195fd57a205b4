// Package policy is oat-proxy's judgement of a request: given what the
// proxy read of it (classified, its credentials resolved) it returns one
// typed Verdict — the outcome, its cause, the token chosen and the scopes
// kept — that the proxy acts on, audits and counts. It is pure: values in,
// a value out, no I/O, no HTTP; package proxy is the engine that asks it.
package policy

import (
	"fmt"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// Outcome is what becomes of a request.
type Outcome uint8

const (
	// Allowed: sent upstream with the client's own credentials.
	Allowed Outcome = iota + 1
	// Injected: sent upstream with credentials the proxy attached.
	Injected
	// Narrowed: a token request sent upstream asking only for what its
	// token has; the first registry request needing the rest is refused.
	Narrowed
	// Denied: answered by the proxy with a registry error and its
	// sentence; nothing reaches the Hub.
	Denied
	// Challenged: answered with the Hub's own 401 challenge, so that the
	// client asks for a bearer token through the checked path.
	Challenged
	// Passed: not the proxy's to judge, sent on or tunnelled untouched.
	Passed
)

var outcomeNames = [...]string{Allowed: "allowed", Injected: "injected", Narrowed: "narrowed", Denied: "denied", Challenged: "challenged", Passed: "passed"}

// Outcomes are every outcome, in order.
func Outcomes() []Outcome { return []Outcome{Allowed, Injected, Narrowed, Denied, Challenged, Passed} }

// String is the outcome's word: the audit line's decision and the
// requests metric's decision label.
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// MarshalText writes the outcome's word.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText reads an outcome's word.
func (o *Outcome) UnmarshalText(b []byte) error {
	for _, c := range Outcomes() {
		if c.String() == string(b) {
			*o = c
			return nil
		}
	}
	return fmt.Errorf("unknown outcome %q", b)
}

// Verdict is the policy's answer for one request.
type Verdict struct {
	Outcome Outcome
	Cause   Cause
	// Token is the token the request was judged with: the one its
	// credentials belong to, or the one injection chose. nil when none of
	// the proxy's tokens is involved.
	Token *oat.Token
	// Attach: the proxy attaches Token's credentials to the request
	// (injection), Injected or Narrowed.
	Attach bool
	// Kept is what a Narrowed token request asks the Hub for instead of
	// what it asked: the scopes the token has.
	Kept []registry.Access
	// PublicOnly are the repositories of a token request that Token may
	// pull only if they are public: the Hub's answer says (Granted).
	PublicOnly []string
	// Repo and Action are the first access refused (or narrowed away).
	Repo, Action string
	// Message is the sentence a refused client shows: the token, what is
	// missing and the fix.
	Message string
	// Detail is what the audit line's reason adds to the cause's words.
	Detail string
}

// Reason is the verdict for the audit log, in words: the cause's, with
// the detail.
func (v Verdict) Reason() string {
	r := v.Cause.Text()
	if v.Detail != "" {
		r += ": " + v.Detail
	}
	switch {
	case v.Outcome == Injected && v.Cause != Reissued:
		r = "the least-privileged token that covers it: " + r
	case v.Outcome == Narrowed && v.Attach:
		r = "injected the token closest to covering it: " + r
	}
	return r
}

// Of is the verdict of an engine's cause — a check made on the
// connection or the framing before there is a request to judge — with
// its outcome and, for a refusal, the sentence.
func Of(c Cause, msg string) Verdict {
	return Verdict{Outcome: c.Outcome(), Cause: c, Message: msg}
}
