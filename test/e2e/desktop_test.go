//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/desktop"
	hubpkg "github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/hubtest"
)

// User agents of Docker Desktop engines: one on Desktop's linuxkit kernel
// (macOS), one naming Desktop's product (WSL 2), as their daemons send.
const (
	linuxkitUA = "docker/28.2.2 go/go1.24.3 git-commit/e6534b4 kernel/6.10.14-linuxkit os/linux arch/arm64 UpstreamClient(Docker-Client/28.2.2 (darwin))"
	productUA  = "docker/27.4.0 go/go1.22.10 git-commit/92a8393 kernel/5.15.167.4-microsoft-standard-WSL2 os/linux arch/amd64 UpstreamClient(Docker-Desktop/4.37.1 (windows))"
	engineUA   = "docker/28.2.2 go/go1.24.3 git-commit/e6534b4 kernel/6.1.0-28-amd64 os/linux arch/amd64 UpstreamClient(Docker-Client/28.2.2 (linux))"
)

// desktopWarning starts the proxy's log line for a Docker Desktop client.
const desktopWarning = "a request comes from Docker Desktop"

// TestDesktopUserAgent: curl, given the user agent of a Docker Desktop
// engine, is refused with the sentence that OATs do not work with Docker
// Desktop, IAM or RAM in the body it prints, whether the proxy refuses
// (an out-of-scope delete) or the Hub does (a 401 to a secret the proxy
// does not hold); the proxy's log warns once per client address, and the
// audit line records docker_desktop. An engine outside Desktop gets the
// refusal without it.
func TestDesktopUserAgent(t *testing.T) {
	checkIsolated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	hub, hubCA := startHub(t, ctx,
		hubtest.Token{Org: "acme", Label: "ci-pull", Secret: ciPullSecret, Pull: []string{"acme/app"}},
	)
	digest, err := hub.Seed(ctx, "acme/app", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := newClient(t, "unix:///nonexistent.sock")
	base.must(t, ctx, ciPullSecret, helperName, "token", "add", "--org", "acme", "--label", "ci-pull", "--pull", "acme/app")
	p := startProxy(t, ctx, base, hubCA)

	curl := func(ua, from string, args ...string) result {
		t.Helper()
		a := []string{"-sS", "--max-time", "30", "--proxy", "http://" + proxyListen, "--cacert", p.bundle, "-A", ua}
		if from != "" {
			a = append(a, "--interface", from)
		}
		return base.run(ctx, "", "curl", append(a, args...)...)
	}
	// A bearer token for pull on acme/app, through the proxy (which sees
	// it issued to ci-pull).
	bearer := func(ua string) string {
		t.Helper()
		r := curl(ua, "", "-u", "acme:"+ciPullSecret, "https://"+hubpkg.AuthHost+"/token?service="+hubpkg.Service+"&scope=repository:acme/app:pull")
		var tr struct{ Token string }
		if r.err != nil || json.Unmarshal([]byte(r.stdout), &tr) != nil || tr.Token == "" {
			t.Fatalf("token request: %s", r)
		}
		return tr.Token
	}
	// message is the first error message of a registry error body, or the
	// token service's details.
	message := func(r result) string {
		t.Helper()
		var e struct {
			Errors  []struct{ Code, Message string }
			Details string
		}
		if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
			t.Fatalf("not an error body: %v\n%s", err, r)
		}
		if len(e.Errors) > 0 {
			return e.Errors[0].Code + ": " + e.Errors[0].Message
		}
		return e.Details
	}
	del := func(ua, from, token string) result {
		return curl(ua, from, "-X", "DELETE", "-H", "Authorization: Bearer "+token,
			"https://"+hubpkg.RegistryHost+"/v2/acme/app/manifests/"+digest)
	}

	// The proxy refuses: ci-pull may not delete.
	since := len(hub.Requests())
	msg := message(del(linuxkitUA, "", bearer(linuxkitUA)))
	for _, w := range []string{"DENIED: ", `token "ci-pull"`, "This request comes from Docker Desktop (its engine runs on Docker Desktop's linuxkit kernel", desktop.Advice} {
		if !strings.Contains(msg, w) {
			t.Errorf("the refusal curl printed lacks %q:\n%s", w, msg)
		}
	}
	if hubSaw(hub, since, "acme/app", "delete") {
		t.Error("the hub saw the refused delete")
	}
	audit := readFile(t, p.audit)
	found := false
	for _, l := range strings.Split(strings.TrimSpace(audit), "\n") {
		var e struct {
			Decision, Action string
			Desktop          string `json:"docker_desktop"`
		}
		if err := json.Unmarshal([]byte(l), &e); err == nil &&
			e.Decision == "denied" && e.Action == "delete" && strings.Contains(e.Desktop, "linuxkit") {
			found = true
		}
	}
	if !found {
		t.Errorf("no denied delete with docker_desktop in the audit log:\n%s", audit)
	}

	// The Hub refuses: a secret the proxy does not hold goes up as it
	// came, and the Hub's 401 comes back with the sentence.
	r := curl(productUA, "", "-u", "acme:dckr_oat_e2eNotATokenOfOurs000009", "https://"+hubpkg.AuthHost+"/token?service="+hubpkg.Service+"&scope=repository:acme/app:pull")
	if msg := message(r); !strings.Contains(msg, "incorrect username or password") || !strings.Contains(msg, "its user agent names Docker Desktop") || !strings.Contains(msg, desktop.Advice) {
		t.Errorf("the Hub's 401 to Docker Desktop: %q", msg)
	}

	// An engine outside Desktop: the same refusal, without the sentence.
	if msg := message(del(engineUA, "", bearer(engineUA))); !strings.HasPrefix(msg, "DENIED: ") || strings.Contains(msg, "Docker Desktop") {
		t.Errorf("the refusal of an engine outside Desktop: %q", msg)
	}

	// One warning per client address: 127.0.0.1 sent Desktop requests
	// three times, with two user agents; 127.0.0.2 once.
	warnings := func() (clients []string) {
		for _, l := range proxyLog(t, p) {
			if strings.HasPrefix(l.Msg, desktopWarning) {
				clients = append(clients, l.Client)
			}
		}
		return clients
	}
	if w := warnings(); len(w) != 1 || w[0] != "127.0.0.1" {
		t.Errorf("warnings for %q, want one for 127.0.0.1:\n%s", w, tail(p.log, 20))
	}
	del(linuxkitUA, "127.0.0.2", bearer(engineUA))
	if w := warnings(); len(w) != 2 || w[1] != "127.0.0.2" {
		t.Errorf("warnings for %q after a Desktop request from 127.0.0.2, want 127.0.0.1 then 127.0.0.2:\n%s", w, tail(p.log, 20))
	}
}
