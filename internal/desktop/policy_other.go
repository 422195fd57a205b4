//go:build !windows

package desktop

const windowsPolicyKey = ""

func windowsPolicyOrgs() ([]string, bool) { return nil, false }
