package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestReplicaReissuesUnseenBearer: two injecting replicas share nothing. A
// bearer issued through the first and used through the second is never
// sent to the Hub: the second checks the request against the
// least-privileged token that covers it and sends it with a bearer of its
// own (one token request for the token and scope, kept), refuses what no
// token covers before the Hub, and writes an audit line for its own token
// request. Without injection the second challenges, as Docker Hub does.
func TestReplicaReissuesUnseenBearer(t *testing.T) {
	f := injecting(t)
	other, otherAudit := f.replica(t)

	// A bearer issued through the first replica, injected.
	tokReq, _ := http.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope="+url.QueryEscape("repository:acme/app:pull"), nil)
	resp, err := (&http.Client{Transport: f.client}).Do(tokReq)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if tr.Token == "" {
		t.Fatalf("no token through the first replica: %s", resp.Status)
	}

	do := func(tr *http.Transport, method, path, bearer string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://registry-1.docker.io"+path, nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	before := len(f.hub.Requests())
	// The first replica's bearer, and one nobody issued (the Hub would
	// answer it 401): both sent with the second replica's own.
	for _, bearer := range []string{tr.Token, "eyJ.a-bearer-nobody-issued.x"} {
		if code, body := do(other, "GET", "/v2/acme/app/manifests/1.0", bearer); code != http.StatusOK {
			t.Errorf("manifest through the other replica with an unseen bearer: %d %s", code, body)
		}
	}
	var tokens, manifests int
	for _, r := range f.hub.Requests()[before:] {
		switch {
		case strings.HasPrefix(r.Host, "auth.docker.io"):
			tokens++
			if r.Label != "ci-pull" || strings.Join(r.Asked, " ") != "repository:acme/app:pull" {
				t.Errorf("the replica's own token request: %+v, want ci-pull asking repository:acme/app:pull", r)
			}
		case strings.Contains(r.Path, "/manifests/"):
			manifests++
			if r.Label != "ci-pull" || r.Status != http.StatusOK {
				t.Errorf("a manifest request at the hub: %+v, want ci-pull's bearer, 200", r)
			}
		}
	}
	if tokens != 1 || manifests != 2 {
		t.Errorf("the hub saw %d token and %d manifest requests, want 1 (kept for the second) and 2", tokens, manifests)
	}

	// A push the release token covers goes on; one no token covers is
	// refused before the Hub.
	if code, body := do(other, "POST", "/v2/acme/app/blobs/uploads/", tr.Token); code != http.StatusAccepted {
		t.Errorf("upload to acme/app with an unseen bearer: %d %s", code, body)
	}
	before = len(f.hub.Requests())
	if code, body := do(other, "POST", "/v2/acme/base/blobs/uploads/", tr.Token); code != http.StatusForbidden || !strings.Contains(body, "oat-proxy holds no usable token that may repository:acme/base:") {
		t.Errorf("upload to acme/base with an unseen bearer: %d %s", code, body)
	}
	if reached(f.hub, before, "acme/base", "push") {
		t.Error("the hub saw a push request for acme/base")
	}
	audit := otherAudit.String()
	if !strings.Contains(audit, `"path":"/token","kind":"token","token_label":"ci-pull","org":"acme","repository":"acme/app","action":"pull","decision":"injected"`) {
		t.Errorf("no audit line for the replica's own token request:\n%s", audit)
	}
	if strings.Contains(audit, pullSecret) || strings.Contains(audit, pushSecret) || strings.Contains(audit, tr.Token) {
		t.Error("a secret or a bearer in the audit log")
	}

	// Without injection: the Hub's challenge.
	g := setup(t, false)
	plain, _ := g.replica(t)
	code, _ := do(plain, "GET", "/v2/acme/app/manifests/1.0", bearerThrough(t, g, pullSecret, "repository:acme/app:pull"))
	if code != http.StatusUnauthorized {
		t.Errorf("without injection, another replica's bearer: %d, want 401", code)
	}
}
