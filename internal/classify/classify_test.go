package classify

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/hub"
	"github.com/oatkit/oat/internal/registry"
)

func TestClassifyRegistry(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		method, target string
		kind           registry.Kind
		access         []registry.Access
		err            bool
	}{
		{"GET", "/v2/", registry.KindPing, nil, false},
		{"GET", "/v2/acme/app/manifests/1.0", registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}}, false},
		{"HEAD", "/v2/acme/app/manifests/" + digest, registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}}, false},
		{"GET", "/v2/library/alpine/blobs/" + digest, registry.KindRegistry, []registry.Access{{Repo: "library/alpine", Actions: []string{"pull"}}}, false},
		{"HEAD", "/v2/acme/app/blobs/" + digest, registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}}, false},
		{"GET", "/v2/alpine/tags/list", registry.KindRegistry, []registry.Access{{Repo: "library/alpine", Actions: []string{"pull"}}}, false},
		{"GET", "/v2/acme/app/referrers/" + digest, registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull"}}}, false},
		{"POST", "/v2/acme/app/blobs/uploads/", registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}}, false},
		{"PATCH", "/v2/acme/app/blobs/uploads/3f2a-uuid", registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}}, false},
		{"PUT", "/v2/acme/app/blobs/uploads/3f2a-uuid?digest=" + digest, registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}}, false},
		{"GET", "/v2/acme/app/blobs/uploads/3f2a-uuid", registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}}, false},
		{"DELETE", "/v2/acme/app/blobs/uploads/3f2a-uuid", registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"push"}}}, false},
		{"PUT", "/v2/acme/app/manifests/2.0", registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}}, false},
		{"DELETE", "/v2/acme/app/manifests/" + digest, registry.KindRegistry, []registry.Access{{Repo: "acme/app", Actions: []string{"delete"}}}, false},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=acme/base", registry.KindRegistry,
			[]registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}, {Repo: "acme/base", Actions: []string{"pull"}}}, false},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=alpine", registry.KindRegistry,
			[]registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}, {Repo: "library/alpine", Actions: []string{"pull"}}}, false},
		// from is read wherever it comes: a server might honour it anywhere.
		{"HEAD", "/v2/acme/base/tags/list?mount=" + digest + "&from=beta/x", registry.KindRegistry,
			[]registry.Access{{Repo: "acme/base", Actions: []string{"pull"}}, {Repo: "beta/x", Actions: []string{"pull"}}}, false},
		{"PUT", "/v2/acme/app/manifests/2.0?from=alpine", registry.KindRegistry,
			[]registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}, {Repo: "library/alpine", Actions: []string{"pull"}}}, false},
		{"GET", "/v2/_catalog", registry.KindOther, nil, false},
		{"GET", "/", registry.KindOther, nil, false},
		{"GET", "/v1/search", registry.KindOther, nil, false},
		{"GET", "/v2/acme/app/manifests/" + strings.Repeat("x", 129), 0, nil, true},
		{"GET", "/v2/acme/app/manifests/.hidden", 0, nil, true},
		{"GET", "/v2/acme/app/manifests/sha256:", 0, nil, true},
		{"GET", "/v2/acme/app/blobs/latest", 0, nil, true},
		{"GET", "/v2/acme/app/manifests/a%2Fb", 0, nil, true},
		{"GET", "/v2/acme%2Fapp/manifests/1", 0, nil, true},
		{"GET", "/v2/acme/app/manifests/%252e", 0, nil, true},
		{"PUT", "/v2/acme/app/tags/list", 0, nil, true},
		{"GET", "/v2/Acme/App/manifests/1", 0, nil, true},
		{"GET", "/v2/acme/app/../../x/manifests/1", 0, nil, true},
		{"GET", "/v2/acme/app/frobnicate", 0, nil, true},
		{"OPTIONS", "/v2/acme/app/manifests/1", 0, nil, true},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=x&from=BAD", 0, nil, true},
		{"GET", "/v2/acme/app/manifests/1?from=BAD", 0, nil, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "https://registry-1.docker.io"+tt.target, nil)
		got, err := Request("registry-1.docker.io", r, nil)
		download := tt.method == "GET" && strings.HasPrefix(tt.target, "/v2/library/alpine/blobs/sha256:")
		if got.BlobDownload != download {
			t.Errorf("%s %s: BlobDownload %v, want %v", tt.method, tt.target, got.BlobDownload, download)
		}
		if tt.err {
			if err == nil || got.Unknown == "" {
				t.Errorf("%s %s: %v, want an error", tt.method, tt.target, err)
			}
			continue
		}
		if (tt.kind == registry.KindOther) != (got.Unknown != "") {
			t.Errorf("%s %s: Unknown %q", tt.method, tt.target, got.Unknown)
		}
		if err != nil || got.Kind != tt.kind || !cmp.Equal(got.Access, tt.access) {
			t.Errorf("%s %s = %v %v, %v; want %v %v", tt.method, tt.target, got.Kind, got.Access, err, tt.kind, tt.access)
		}
	}
}

func TestClassifyToken(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope=repository:acme/app:pull,push&scope=repository:alpine:pull&scope=registry:catalog:*", nil)
	r.SetBasicAuth("acme", "dckr_oat_x")
	got, err := Request(hub.AuthHost, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := registry.Request{Kind: registry.KindToken, Creds: []registry.Credential{{Kind: registry.CredBasic, Username: "acme", Value: "dckr_oat_x"}},
		Access:  []registry.Access{{Repo: "acme/app", Actions: []string{"pull", "push"}}, {Repo: "library/alpine", Actions: []string{"pull"}}},
		Unknown: `the scope "registry:catalog:*"`}
	if len(got.Hidden) != 4 {
		t.Errorf("Hidden = %q, want the query's four values", got.Hidden)
	}
	got.Hidden = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	if s := got.Scopes(); strings.Join(s, " ") != "repository:acme/app:pull,push repository:library/alpine:pull" {
		t.Errorf("Scopes() = %v", s)
	}

	// containerd's OAuth2 POST form
	form := url.Values{"grant_type": {"password"}, "username": {"acme"}, "password": {"dckr_oat_y"},
		"scope": {"repository:acme/app:pull repository:acme/base:pull,push"}, "service": {"registry.docker.io"}}
	post := func(query, ctype, body string) registry.Request {
		r := httptest.NewRequest("POST", "https://auth.docker.io/token"+query, strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		got, err := Request(hub.AuthHost, r, []byte(body))
		if err != nil {
			t.Fatalf("POST %q: %v", body, err)
		}
		return got
	}
	const formType = "application/x-www-form-urlencoded"
	got = post("", formType, form.Encode())
	if got.Unknown != "" || len(got.Creds) != 1 || got.Creds[0].Value != "dckr_oat_y" || len(got.Access) != 2 || got.Access[1].Repo != "acme/base" {
		t.Errorf("POST password: %+v", got)
	}
	got = post("", formType+"; charset=UTF-8", "grant_type=refresh_token&refresh_token=rt-1&scope=repository:acme/app:pull")
	if got.Unknown != "" || len(got.Creds) != 1 || got.Creds[0] != (registry.Credential{Kind: registry.CredRefresh, Value: "rt-1"}) {
		t.Errorf("POST refresh: %+v", got)
	}
	// every scope, from the body and the query
	got = post("?scope=repository:acme/base:push", formType, "grant_type=password&username=acme&password=p&scope=repository:acme/app:pull&scope=repository:acme/x:push")
	if len(got.Access) != 3 || got.Access[0].Repo != "acme/base" || got.Access[2].Repo != "acme/x" {
		t.Errorf("POST scopes: %+v", got.Access)
	}
	for _, bad := range []struct{ query, ctype, body, unknown string }{
		{"", "application/json", `{"grant_type":"password"}`, "body of type"},
		{"", "", "grant_type=password&username=acme&password=p", "body of type"},
		{"", formType, "grant_type=client_credentials", "grant type"},
		{"", formType, "grant_type=password&grant_type=refresh_token", "given 2 times"},
		{"", formType, "grant_type=password&password=a&password=b", "given 2 times"},
		{"", formType, "grant_type=password&scope=repository:acme/app:pull;push", ";"},
		{"?scope=x;y", formType, "grant_type=password", ";"},
		{"", formType, "grant_type=password&scope=%zz", "malformed"},
		{"", formType, "grant_type=password&scope=Repository:acme/base:push", ""},
	} {
		got := post(bad.query, bad.ctype, bad.body)
		if bad.unknown == "" {
			if got.Unknown != "" || len(got.Access) != 1 || got.Access[0].Actions[0] != "push" {
				t.Errorf("POST %q: %+v, want the scope understood", bad.body, got)
			}
			continue
		}
		if !strings.Contains(got.Unknown, bad.unknown) {
			t.Errorf("POST %s %q %q: Unknown %q, want %q", bad.query, bad.ctype, bad.body, got.Unknown, bad.unknown)
		}
	}

	// docker login: no scope
	r = httptest.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&offline_token=true", nil)
	r.SetBasicAuth("acme", "dckr_oat_x")
	if got, err := Request(hub.AuthHost, r, nil); err != nil || len(got.Access) != 0 {
		t.Errorf("login: %+v, %v", got, err)
	}
	// a malformed scope, another path, another method, two headers
	for _, tt := range []struct{ method, target, unknown string }{
		{"GET", "/token?scope=repository:Bad%20Name:pull", "scope"},
		{"GET", "/token?scope=repository:acme/Base:push", "invalid repository name"},
		{"GET", "/token?scope=repository:acme/app:pull&service=a&service=b", "given 2 times"},
		{"GET", "/token?scope=repository:acme/app:pull;x=y", ";"},
		{"GET", "/token/", "path"},
		{"GET", "/v2/token", "path"},
		{"PUT", "/token", "method"},
	} {
		r := httptest.NewRequest(tt.method, "https://auth.docker.io"+tt.target, nil)
		r.SetBasicAuth("acme", "dckr_oat_x")
		if got, _ := Request(hub.AuthHost, r, nil); !strings.Contains(got.Unknown, tt.unknown) || len(got.Creds) != 1 {
			t.Errorf("%s %s: %+v, want %q", tt.method, tt.target, got, tt.unknown)
		}
	}
	r = httptest.NewRequest("GET", "https://auth.docker.io/token", nil)
	r.Header["Authorization"] = []string{"Basic YWNtZTp4", "Basic YWNtZTp5"}
	if got, _ := Request(hub.AuthHost, r, nil); got.Unknown == "" || len(got.Creds) != 2 {
		t.Errorf("two Authorization headers: %+v", got)
	}
	r.Header["Authorization"] = []string{"Token dckr_oat_x"}
	if got, _ := Request(hub.AuthHost, r, nil); got.Unknown == "" || len(got.Creds) != 1 || got.Creds[0].Value != "dckr_oat_x" {
		t.Errorf("an unknown scheme: %+v", got)
	}
}

func TestClassifyLogin(t *testing.T) {
	t.Parallel()
	login := func(path, ctype, body string) registry.Request {
		r := httptest.NewRequest("POST", "https://hub.docker.com"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		if !NeedsBody(hub.APIHost, r.Method, r.URL.Path) {
			t.Fatalf("%s: no body needed", path)
		}
		got, _ := Request(hub.APIHost, r, []byte(body))
		return got
	}
	got := login("/v2/auth/token", "application/json", `{"identifier":"acme","secret":"dckr_oat_x"}`)
	if got.Kind != registry.KindLogin || got.Unknown != "" || got.Creds[0] != (registry.Credential{Kind: registry.CredPassword, Username: "acme", Value: "dckr_oat_x"}) {
		t.Errorf("auth/token: %+v", got)
	}
	got = login("/v2/users/login/", "application/json; charset=utf-8", `{"username":"acme","password":"dckr_oat_x"}`)
	if got.Kind != registry.KindLogin || got.Unknown != "" || got.Creds[0].Value != "dckr_oat_x" {
		t.Errorf("users/login: %+v", got)
	}
	for _, tt := range []struct{ ctype, body, unknown string }{
		{"text/plain", `{"identifier":"acme","secret":"x"}`, "body of type"},
		{"application/json", `{"identifier":"acme","secret":"x","secret":"y"}`, "given twice"},
		{"application/json", `{"identifier":"acme","Secret":"x"}`, `field "Secret"`},
		{"application/json", `{"identifier":"acme","secret":{"a":1}}`, "not a string"},
		{"application/json", `{"identifier":"acme","secret":"x"}{}`, "after"},
		{"application/json", `[]`, "not a JSON object"},
	} {
		if got := login("/v2/auth/token", tt.ctype, tt.body); !strings.Contains(got.Unknown, tt.unknown) {
			t.Errorf("%q %s: Unknown %q, want %q", tt.ctype, tt.body, got.Unknown, tt.unknown)
		}
	}
}

func TestClassifyAPI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, path, scope, org string }{
		{"GET", "/v2/orgs/acme/members", "member-read", "acme"},
		{"GET", "/v2/orgs/acme/members/", "member-read", "acme"},
		{"GET", "/v2/orgs/acme/members/alice", "member-read", "acme"},
		{"DELETE", "/v2/orgs/acme/members/alice", "member-edit", "acme"},
		{"POST", "/v2/orgs/acme/invites", "invite-edit", "acme"},
		{"GET", "/v2/orgs/acme/groups", "group-read", "acme"},
		{"PATCH", "/v2/orgs/acme/groups/ops/members", "group-edit", "acme"},
		{"POST", "/v2/invites/bulk", "invite-edit", ""},
		{"DELETE", "/v2/invites/42", "invite-edit", ""},
		{"GET", "/v2/invites/42", "invite-read", ""},
		{"PATCH", "/v2/invites/42/resend", "invite-edit", ""},
		{"GET", "/v2/orgs/acme/access-tokens", registry.AccessTokenRead, "acme"},
		{"POST", "/v2/orgs/acme/access-tokens", registry.AccessTokenEdit, "acme"},
		{"GET", "/v2/repositories/acme/app", "", ""},
		{"GET", "/v2/orgs/acme", "", ""},
		{"GET", "/v2/orgs/acme//members", "", ""},
		{"GET", "/v2/invites/bulk", "", ""},
	} {
		got, err := Request(hub.APIHost, httptest.NewRequest(tt.method, "https://hub.docker.com"+tt.path, nil), nil)
		if (tt.scope == "") != (got.Unknown != "") || (tt.scope != "") != (got.Kind == registry.KindAPI) {
			t.Errorf("%s %s: %+v", tt.method, tt.path, got)
		}
		if err != nil || got.OrgScope != tt.scope || got.Org != tt.org {
			t.Errorf("%s %s: %+v %v, want %q", tt.method, tt.path, got, err, tt.scope)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"/v2/", "/v2/acme/app/manifests/x", "/v2/a/b/c/blobs/uploads/", "/v2/a//b/tags/list", "/v2/%2e%2e/x"} {
		f.Add("GET", s, "repository:acme/app:pull")
	}
	f.Fuzz(func(t *testing.T, method, path, scope string) {
		r, err := http.NewRequest(method, "https://registry-1.docker.io/", nil)
		if err != nil {
			return
		}
		r.URL.Path = path
		if got, err := Request("registry-1.docker.io", r, nil); err == nil {
			for _, a := range got.Access {
				if _, err := registry.NormalizeName(a.Repo); err != nil {
					t.Fatalf("%s %q gave invalid repository %q", method, path, a.Repo)
				}
			}
		}
		if a, ok, err := registry.ParseScope(scope); err == nil && ok && len(a.Actions) == 0 {
			t.Fatalf("ParseScope(%q) = %+v", scope, a)
		}
	})
}

func BenchmarkClassifyRegistry(b *testing.B) {
	r := httptest.NewRequest("GET", "https://registry-1.docker.io/v2/acme/app/manifests/1.0", nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Request(hub.RegistryHost, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
