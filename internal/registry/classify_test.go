package registry

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/hub"
)

func TestClassifyRegistry(t *testing.T) {
	t.Parallel()
	digest := "sha256:" + strings.Repeat("a", 64)
	tests := []struct {
		method, target string
		kind           Kind
		access         []Access
		err            bool
	}{
		{"GET", "/v2/", KindPing, nil, false},
		{"GET", "/v2/acme/app/manifests/1.0", KindRegistry, []Access{{"acme/app", []string{"pull"}}}, false},
		{"HEAD", "/v2/acme/app/manifests/" + digest, KindRegistry, []Access{{"acme/app", []string{"pull"}}}, false},
		{"GET", "/v2/library/alpine/blobs/" + digest, KindRegistry, []Access{{"library/alpine", []string{"pull"}}}, false},
		{"HEAD", "/v2/acme/app/blobs/" + digest, KindRegistry, []Access{{"acme/app", []string{"pull"}}}, false},
		{"GET", "/v2/alpine/tags/list", KindRegistry, []Access{{"library/alpine", []string{"pull"}}}, false},
		{"GET", "/v2/acme/app/referrers/" + digest, KindRegistry, []Access{{"acme/app", []string{"pull"}}}, false},
		{"POST", "/v2/acme/app/blobs/uploads/", KindRegistry, []Access{{"acme/app", []string{"pull", "push"}}}, false},
		{"PATCH", "/v2/acme/app/blobs/uploads/3f2a-uuid", KindRegistry, []Access{{"acme/app", []string{"pull", "push"}}}, false},
		{"PUT", "/v2/acme/app/blobs/uploads/3f2a-uuid?digest=" + digest, KindRegistry, []Access{{"acme/app", []string{"pull", "push"}}}, false},
		{"GET", "/v2/acme/app/blobs/uploads/3f2a-uuid", KindRegistry, []Access{{"acme/app", []string{"pull", "push"}}}, false},
		{"DELETE", "/v2/acme/app/blobs/uploads/3f2a-uuid", KindRegistry, []Access{{"acme/app", []string{"push"}}}, false},
		{"PUT", "/v2/acme/app/manifests/2.0", KindRegistry, []Access{{"acme/app", []string{"pull", "push"}}}, false},
		{"DELETE", "/v2/acme/app/manifests/" + digest, KindRegistry, []Access{{"acme/app", []string{"delete"}}}, false},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=acme/base", KindRegistry,
			[]Access{{"acme/app", []string{"pull", "push"}}, {"acme/base", []string{"pull"}}}, false},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=" + digest + "&from=alpine", KindRegistry,
			[]Access{{"acme/app", []string{"pull", "push"}}, {"library/alpine", []string{"pull"}}}, false},
		// from is read wherever it comes: a server might honour it anywhere.
		{"HEAD", "/v2/acme/base/tags/list?mount=" + digest + "&from=beta/x", KindRegistry,
			[]Access{{"acme/base", []string{"pull"}}, {"beta/x", []string{"pull"}}}, false},
		{"PUT", "/v2/acme/app/manifests/2.0?from=alpine", KindRegistry,
			[]Access{{"acme/app", []string{"pull", "push"}}, {"library/alpine", []string{"pull"}}}, false},
		{"GET", "/v2/_catalog", KindOther, nil, false},
		{"GET", "/", KindOther, nil, false},
		{"GET", "/v1/search", KindOther, nil, false},
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
		got, err := Classify("registry-1.docker.io", r, nil)
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
		if (tt.kind == KindOther) != (got.Unknown != "") {
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
	got, err := Classify(hub.AuthHost, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Request{Kind: KindToken, Creds: []Credential{{Kind: CredBasic, Username: "acme", Value: "dckr_oat_x"}},
		Access:  []Access{{"acme/app", []string{"pull", "push"}}, {"library/alpine", []string{"pull"}}},
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
	post := func(query, ctype, body string) Request {
		r := httptest.NewRequest("POST", "https://auth.docker.io/token"+query, strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		got, err := Classify(hub.AuthHost, r, []byte(body))
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
	if got.Unknown != "" || len(got.Creds) != 1 || got.Creds[0] != (Credential{Kind: CredRefresh, Value: "rt-1"}) {
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
	if got, err := Classify(hub.AuthHost, r, nil); err != nil || len(got.Access) != 0 {
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
		if got, _ := Classify(hub.AuthHost, r, nil); !strings.Contains(got.Unknown, tt.unknown) || len(got.Creds) != 1 {
			t.Errorf("%s %s: %+v, want %q", tt.method, tt.target, got, tt.unknown)
		}
	}
	r = httptest.NewRequest("GET", "https://auth.docker.io/token", nil)
	r.Header["Authorization"] = []string{"Basic YWNtZTp4", "Basic YWNtZTp5"}
	if got, _ := Classify(hub.AuthHost, r, nil); got.Unknown == "" || len(got.Creds) != 2 {
		t.Errorf("two Authorization headers: %+v", got)
	}
	r.Header["Authorization"] = []string{"Token dckr_oat_x"}
	if got, _ := Classify(hub.AuthHost, r, nil); got.Unknown == "" || len(got.Creds) != 1 || got.Creds[0].Value != "dckr_oat_x" {
		t.Errorf("an unknown scheme: %+v", got)
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Access
		ok   bool
		err  bool
	}{
		{"repository:acme/app:pull", Access{"acme/app", []string{"pull"}}, true, false},
		{"Repository:acme/base:push", Access{"acme/base", []string{"push"}}, true, false},
		{"REPOSITORY(plugin):acme/base:PUSH,pull", Access{"acme/base", []string{"push", "pull"}}, true, false},
		{"repository:alpine:pull", Access{"library/alpine", []string{"pull"}}, true, false},
		{"registry:catalog:*", Access{}, false, false},
		{"repository:ACME/base:push", Access{}, false, true},
		{"repository:acme/base:", Access{}, false, true},
		{"repository", Access{}, false, true},
	} {
		got, ok, err := ParseScope(tt.in)
		if ok != tt.ok || (err != nil) != tt.err || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseScope(%q) = %+v %v %v", tt.in, got, ok, err)
		}
	}
}

func TestClassifyLogin(t *testing.T) {
	t.Parallel()
	login := func(path, ctype, body string) Request {
		r := httptest.NewRequest("POST", "https://hub.docker.com"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		if !NeedsBody(hub.APIHost, r.Method, r.URL.Path) {
			t.Fatalf("%s: no body needed", path)
		}
		got, _ := Classify(hub.APIHost, r, []byte(body))
		return got
	}
	got := login("/v2/auth/token", "application/json", `{"identifier":"acme","secret":"dckr_oat_x"}`)
	if got.Kind != KindLogin || got.Unknown != "" || got.Creds[0] != (Credential{Kind: CredPassword, Username: "acme", Value: "dckr_oat_x"}) {
		t.Errorf("auth/token: %+v", got)
	}
	got = login("/v2/users/login/", "application/json; charset=utf-8", `{"username":"acme","password":"dckr_oat_x"}`)
	if got.Kind != KindLogin || got.Unknown != "" || got.Creds[0].Value != "dckr_oat_x" {
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
		{"GET", "/v2/orgs/acme/access-tokens", AccessTokenRead, "acme"},
		{"POST", "/v2/orgs/acme/access-tokens", AccessTokenEdit, "acme"},
		{"GET", "/v2/repositories/acme/app", "", ""},
		{"GET", "/v2/orgs/acme", "", ""},
		{"GET", "/v2/orgs/acme//members", "", ""},
		{"GET", "/v2/invites/bulk", "", ""},
	} {
		got, err := Classify(hub.APIHost, httptest.NewRequest(tt.method, "https://hub.docker.com"+tt.path, nil), nil)
		if (tt.scope == "") != (got.Unknown != "") || (tt.scope != "") != (got.Kind == KindAPI) {
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
		if got, err := Classify("registry-1.docker.io", r, nil); err == nil {
			for _, a := range got.Access {
				if _, err := NormalizeName(a.Repo); err != nil {
					t.Fatalf("%s %q gave invalid repository %q", method, path, a.Repo)
				}
			}
		}
		if a, ok, err := ParseScope(scope); err == nil && ok && len(a.Actions) == 0 {
			t.Fatalf("ParseScope(%q) = %+v", scope, a)
		}
	})
}

func BenchmarkClassifyRegistry(b *testing.B) {
	r := httptest.NewRequest("GET", "https://registry-1.docker.io/v2/acme/app/manifests/1.0", nil)
	r.Header.Set("Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Classify(hub.RegistryHost, r, nil); err != nil {
			b.Fatal(err)
		}
	}
}
