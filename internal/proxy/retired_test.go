package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubtest"
)

// A token the last sync found deactivated or deleted at the Hub, or one
// expired, is refused with a sentence saying so, and the fix, before the
// Hub hears of it.
func TestRetiredTokensAreRefusedWithTheReason(t *testing.T) {
	scopes := mustScopes(t, []string{"acme/*"}, nil)
	f := setupWith(t, options{
		hub: []hubtest.Token{{Org: "acme", Label: "ci-pull", Secret: pullSecret, Pull: []string{"acme/*"}}, {Org: "acme", Label: "release", Secret: pushSecret, Pull: []string{"acme/*"}}},
		records: staticTokens{
			{Org: "acme", Label: "ci-pull", Secret: pullSecret, Active: false, HubID: "id-1", Scopes: scopes},
			{Org: "acme", Label: "release", Secret: pushSecret, Active: true, Expires: time.Now().Add(-time.Hour), Scopes: scopes},
		}})
	for _, tt := range []struct {
		secret, want string
	}{
		{pullSecret, `token "ci-pull" (acme) is deactivated at Docker Hub (as the last token sync found), so Docker Hub refuses it. Activate it (docker-credential-oat token activate acme/ci-pull)`},
		{pushSecret, `token "release" (acme) expired on ` + time.Now().Add(-time.Hour).UTC().Format("2006-01-02") + `, so Docker Hub refuses it. Rotate it`},
	} {
		before := len(f.hub.Requests())
		status, body, _ := f.send(t, hostile{method: "GET", url: "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/app:pull",
			header: map[string]string{"Authorization": basic(tt.secret)}})
		if status != http.StatusForbidden || !strings.Contains(strings.ReplaceAll(body, `\"`, `"`), tt.want) {
			t.Errorf("%d %s\nwant 403 with %q", status, body, tt.want)
		}
		if len(f.hub.Requests()) != before {
			t.Error("the hub heard of a retired token's request")
		}
	}
}
