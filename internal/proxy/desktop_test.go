package proxy

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const desktopAgent = "docker/28.2.2 go/go1.24.3 git-commit/e6534b4 kernel/6.10.14-linuxkit os/linux arch/arm64 UpstreamClient(Docker-Client/28.2.2 (darwin))"

// TestDockerDesktopClients: a refusal to a Docker Desktop engine, and the
// Hub's own 401 to one, say that OATs do not work there and what to use;
// the audit line records it; other clients' messages are unchanged.
func TestDockerDesktopClients(t *testing.T) {
	f := setup(t, false)
	token := "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/app:pull,push"
	for _, tt := range []struct {
		name, secret, agent string
		status              int
		desktop             bool
	}{
		{"refused, Desktop", pullSecret, desktopAgent, http.StatusForbidden, true},
		{"refused, another client", pullSecret, "go-containerregistry/v0.22.1", http.StatusForbidden, false},
		{"the Hub's 401, Desktop", "dckr_oat_NotATokenOfOurs000000", desktopAgent, http.StatusUnauthorized, true},
	} {
		status, body, _ := f.send(t, hostile{name: tt.name, method: http.MethodGet, url: token,
			header: map[string]string{"Authorization": basic(tt.secret), "User-Agent": tt.agent}})
		has := strings.Contains(body, "organization access tokens do not work with Docker Desktop")
		if status != tt.status || has != tt.desktop {
			t.Errorf("%s: %d %q", tt.name, status, body)
		}
	}
	if !strings.Contains(f.audit.String(), `"docker_desktop":"its engine runs on Docker Desktop's linuxkit kernel`) {
		t.Errorf("audit log without the Desktop finding:\n%s", f.audit.String())
	}
}

// The Desktop warnings are remembered per client address up to a bound:
// a fleet's proxy meets client addresses without end.
func TestDesktopNoticesBounded(t *testing.T) {
	var logs strings.Builder
	p := &Proxy{noticed: map[string]bool{}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	for i := range 3 * maxNoticed {
		p.desktopOnce(fmt.Sprintf("10.%d.%d.%d:1234", i>>16&255, i>>8&255, i&255), "linuxkit")
	}
	if n := len(p.noticed); n > maxNoticed {
		t.Errorf("%d client addresses remembered, bound %d", n, maxNoticed)
	}
	before := strings.Count(logs.String(), "a request comes from Docker Desktop")
	p.desktopOnce("10.0.0.1:1", "linuxkit")
	p.desktopOnce("10.0.0.1:2", "linuxkit")
	if n := strings.Count(logs.String(), "a request comes from Docker Desktop") - before; n > 1 {
		t.Errorf("a client warned about %d times in a row", n)
	}
}
