package proxy

import "testing"

func TestDenialReasonsAreFew(t *testing.T) {
	t.Parallel()
	for reason, want := range map[string]string{
		"outside the token's scopes":                "scope",
		"no token covers the request":               "no-token",
		"plain HTTP to a Docker Hub host":           "plain-http",
		"--deny-other-hosts":                        "other-host",
		"host differs from the CONNECT host":        "host",
		"scope type \"registry\" is not understood": "fail-closed",
		"something new":                             "fail-closed",
	} {
		if got := denialReason(reason); got != want {
			t.Errorf("denialReason(%q) = %q, want %q", reason, got, want)
		}
	}
}
