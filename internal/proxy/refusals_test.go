package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

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
