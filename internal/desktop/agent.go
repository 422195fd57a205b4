package desktop

import "strings"

// Advice is what a person refused by the Hub under Docker Desktop, IAM or
// RAM is told to do instead.
const Advice = "organization access tokens do not work with Docker Desktop, Image Access Management or Registry Access Management: use a personal access token there (docker login with a Docker ID), or a Docker Engine outside Docker Desktop"

// UserAgent tells whether a request's User-Agent is a Docker Desktop
// engine's, and why: the Desktop VM's linuxkit kernel, or a Desktop product
// string. dockerd's user agent names its kernel
// ("docker/28.2.2 go/go1.24.3 git-commit/… kernel/6.10.14-linuxkit os/linux
// arch/arm64 UpstreamClient(Docker-Client/28.2.2 (darwin))").
func UserAgent(ua string) (bool, string) {
	// On every intercepted request: a quick look for the words (in their
	// usual cases, any first letter) before anything is allocated.
	if !strings.Contains(ua, "inuxkit") && !strings.Contains(ua, "INUXKIT") &&
		!strings.Contains(ua, "esktop") && !strings.Contains(ua, "ESKTOP") {
		return false, ""
	}
	lower := strings.ToLower(ua)
	for _, f := range strings.Fields(lower) {
		if k, ok := strings.CutPrefix(f, "kernel/"); ok && strings.Contains(k, "linuxkit") {
			return true, "its engine runs on Docker Desktop's linuxkit kernel (" + k + ")"
		}
	}
	for _, p := range []string{"docker desktop", "docker-desktop", "dockerdesktop"} {
		if strings.Contains(lower, p) {
			return true, "its user agent names Docker Desktop"
		}
	}
	return false, ""
}
