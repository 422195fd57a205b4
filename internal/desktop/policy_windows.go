//go:build windows

package desktop

import "golang.org/x/sys/windows/registry"

// windowsPolicyKey is where an administrator sets sign-in enforcement by
// Group Policy.
const windowsPolicyKey = `HKLM\SOFTWARE\Policies\Docker\Docker Desktop`

func windowsPolicyOrgs() ([]string, bool) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Policies\Docker\Docker Desktop`, registry.QUERY_VALUE)
	if err != nil {
		return nil, false
	}
	defer k.Close()
	v, _, err := k.GetStringValue("allowedOrgs")
	if err != nil {
		return nil, true
	}
	return splitOrgs(v), true
}
