package desktop

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/oatkit/oat/internal/dockerconfig"
)

// Policy is what the machine's Docker Desktop policy files say.
type Policy struct {
	// Files are the policy files found.
	Files []string `json:"files,omitempty"`
	// AllowedOrgs is sign-in enforcement's list (registry.json, the
	// Windows policy key or the macOS configuration profile).
	AllowedOrgs []string `json:"allowed_orgs,omitempty"`
	// Managed is set when Settings Management (admin-settings.json) is in
	// force.
	Managed  bool     `json:"managed,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// Enforced reports whether the machine is under an organization's Docker
// Desktop policy.
func (p Policy) Enforced() bool { return len(p.Files) > 0 }

// policyPaths are where Docker documents registry.json and
// admin-settings.json, and the macOS configuration profile.
func policyPaths(env Env) (registry, admin []string, plist string) {
	switch env.GOOS {
	case "windows":
		pd := env.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return []string{filepath.Join(pd, "DockerDesktop", "registry.json")},
			[]string{filepath.Join(pd, "DockerDesktop", "admin-settings.json")}, ""
	case "darwin":
		return []string{env.sys("/Library/Application Support/com.docker.docker/registry.json")},
			[]string{env.sys("/Library/Application Support/com.docker.docker/admin-settings.json")},
			env.sys("/Library/Managed Preferences/com.docker.config.plist")
	default:
		return []string{env.sys("/usr/share/docker-desktop/registry/registry.json")},
			[]string{env.sys("/usr/share/docker-desktop/admin-settings.json"), filepath.Join(env.Home, dockerconfig.DirName, "desktop", "admin-settings.json")}, ""
	}
}

// ReadPolicy reads the Docker Desktop policy files at their documented
// places (and, on Windows, the policy key).
func ReadPolicy(env Env) Policy {
	env = env.withDefaults()
	var p Policy
	registry, admin, plist := policyPaths(env)
	for _, path := range registry {
		b, err := os.ReadFile(path)
		if err != nil {
			if !os.IsNotExist(err) {
				p.Problems = append(p.Problems, err.Error())
			}
			continue
		}
		p.Files = append(p.Files, path)
		var reg struct {
			AllowedOrgs []string `json:"allowedOrgs"`
		}
		if err := json.Unmarshal(b, &reg); err != nil {
			p.Problems = append(p.Problems, path+": "+err.Error())
		}
		p.AllowedOrgs = append(p.AllowedOrgs, reg.AllowedOrgs...)
	}
	for _, path := range admin {
		if _, err := os.Stat(path); err == nil {
			p.Files = append(p.Files, path)
			p.Managed = true
		}
	}
	if plist != "" {
		if b, err := os.ReadFile(plist); err == nil {
			p.Files = append(p.Files, plist)
			p.AllowedOrgs = append(p.AllowedOrgs, plistOrgs(string(b))...)
		}
	}
	if orgs, found := windowsPolicyOrgs(); found {
		p.Files = append(p.Files, windowsPolicyKey)
		p.AllowedOrgs = append(p.AllowedOrgs, orgs...)
	}
	return p
}

// plistOrgs pulls allowedOrgs out of an XML configuration profile:
// <key>allowedOrgs</key><string>acme;beta</string>.
func plistOrgs(xml string) []string {
	_, after, ok := strings.Cut(xml, "<key>allowedOrgs</key>")
	if !ok {
		return nil
	}
	_, after, ok = strings.Cut(after, "<string>")
	if !ok {
		return nil
	}
	value, _, _ := strings.Cut(after, "</string>")
	return splitOrgs(value)
}

func splitOrgs(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}
