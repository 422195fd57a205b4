package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The user agents of the clients the proxy recognises, as each sends
// them (read off the e2e suite's audit logs where it runs the client).
func TestRecognise(t *testing.T) {
	for _, c := range []struct {
		agent, family string
		kind          clientKind
	}{
		{agentSkopeo, "containers/image", showsRegistryBody},
		{"skopeo/1.9.3", "skopeo", showsRegistryBody},
		{"libpod/4.3.1", "podman", showsRegistryBody},
		{"Buildah/1.28.2", "buildah", showsRegistryBody},
		{"regclient/regctl (v0.11.1)", "regclient", showsRegistryBody},
		{agentContainerd, "containerd", showsStatusLine},
		{"containerd/2.1.4", "containerd", showsStatusLine},
		{"buildkit/v0.26.2", "buildkit", showsStatusLine},
		{"Helm/3.22.0", "helm", showsTokenBody},
		{"oras/1.3.6 +https://oras.land", "oras", showsTokenBody},
		{agentCrane, "crane", showsTokenBody},
		{"docker/20.10.24+dfsg1 go/go1.19.8 git-commit/5d6db84 kernel/6.1.0 os/linux arch/amd64 UpstreamClient(Docker-Client/28.2.2 \\(linux\\))", "docker", showsTokenBody},
		{"curl/7.88.1", "curl", showsTokenBody},
		// Unknown: refused on the token request, which sends nothing on.
		{"", "", showsTokenBody},
		{"containerd-like/1.0", "", showsTokenBody},
		{"containers/image 5.0", "", showsTokenBody},
		{"helm/3.0", "", showsTokenBody},
	} {
		family, kind := recognise(c.agent)
		if family != c.family || kind != c.kind {
			t.Errorf("recognise(%q) = %q, %d; want %q, %d", c.agent, family, kind, c.family, c.kind)
		}
	}
}

// LastRefusals keeps the sentences of the last five refusals, each once,
// the newest last, and the audit line names the client family.
func TestLastRefusals(t *testing.T) {
	f := generous(t)
	if got := f.p.LastRefusals(); len(got) != 0 {
		t.Fatalf("before any request: %q", got)
	}
	push := func(repo string) {
		status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?scope=repository:" + repo + ":push",
			header: map[string]string{"Authorization": basic(pullSecret), "User-Agent": "Helm/3.22.0"}})
		if status != http.StatusForbidden {
			t.Fatalf("push to %s: %d %s", repo, status, body)
		}
	}
	for _, repo := range []string{"acme/a", "acme/b", "acme/a", "acme/c", "acme/d", "acme/e", "acme/f"} {
		push(repo)
	}
	var want []string
	for _, repo := range []string{"acme/a", "acme/c", "acme/d", "acme/e", "acme/f"} { // a again after b: b is the oldest, dropped
		want = append(want, fmt.Sprintf(`token "ci-pull" (acme) may not push to %s: it has pull only.`, repo))
	}
	got := f.p.LastRefusals()
	if len(got) != len(want) || !slices.EqualFunc(got, want, strings.HasPrefix) {
		t.Errorf("LastRefusals() =\n%s\nwant the sentences beginning\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(f.audit.String(), `"client_family":"helm"`) {
		t.Errorf("the audit log names no client family:\n%s", f.audit.String())
	}
}
