package registry

import (
	"errors"
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
		{"GET", "/v2/_catalog", KindOther, nil, false},
		{"GET", "/", KindOther, nil, false},
		{"GET", "/v2/Acme/App/manifests/1", 0, nil, true},
		{"GET", "/v2/acme/app/../../x/manifests/1", 0, nil, true},
		{"GET", "/v2/acme/app/frobnicate", 0, nil, true},
		{"OPTIONS", "/v2/acme/app/manifests/1", 0, nil, true},
		{"POST", "/v2/acme/app/blobs/uploads/?mount=x&from=BAD", 0, nil, true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "https://registry-1.docker.io"+tt.target, nil)
		got, err := Classify("registry-1.docker.io", r, nil)
		download := tt.method == "GET" && strings.HasPrefix(tt.target, "/v2/library/alpine/blobs/sha256:")
		if got.BlobDownload != download {
			t.Errorf("%s %s: BlobDownload %v, want %v", tt.method, tt.target, got.BlobDownload, download)
		}
		if tt.err {
			if !errors.Is(err, ErrBadPath) && (err == nil || !strings.Contains(err.Error(), "invalid repository name")) {
				t.Errorf("%s %s: %v, want a bad-path error", tt.method, tt.target, err)
			}
			continue
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
	want := Request{Kind: KindToken, Username: "acme", Secret: "dckr_oat_x",
		Access: []Access{{"acme/app", []string{"pull", "push"}}, {"library/alpine", []string{"pull"}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET (-want +got):\n%s", diff)
	}
	if s := got.Scopes(); strings.Join(s, " ") != "repository:acme/app:pull,push repository:library/alpine:pull" {
		t.Errorf("Scopes() = %v", s)
	}

	// containerd's OAuth2 POST form
	form := url.Values{"grant_type": {"password"}, "username": {"acme"}, "password": {"dckr_oat_y"},
		"scope": {"repository:acme/app:pull repository:acme/base:pull,push"}, "service": {"registry.docker.io"}}
	r = httptest.NewRequest("POST", "https://auth.docker.io/token", strings.NewReader(form.Encode()))
	got, err = Classify(hub.AuthHost, r, form)
	if err != nil || got.Secret != "dckr_oat_y" || len(got.Access) != 2 || got.Access[1].Repo != "acme/base" {
		t.Errorf("POST password: %+v, %v", got, err)
	}
	form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt-1"}, "scope": {"repository:acme/app:pull"}}
	got, err = Classify(hub.AuthHost, httptest.NewRequest("POST", "https://auth.docker.io/token", nil), form)
	if err != nil || got.RefreshToken != "rt-1" || got.Secret != "" {
		t.Errorf("POST refresh: %+v, %v", got, err)
	}

	// docker login: no scope
	r = httptest.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&offline_token=true", nil)
	r.SetBasicAuth("acme", "dckr_oat_x")
	if got, err := Classify(hub.AuthHost, r, nil); err != nil || len(got.Access) != 0 {
		t.Errorf("login: %+v, %v", got, err)
	}
	// a malformed scope
	r = httptest.NewRequest("GET", "https://auth.docker.io/token?scope=repository:Bad%20Name:pull", nil)
	if _, err := Classify(hub.AuthHost, r, nil); err == nil {
		t.Error("malformed scope accepted")
	}
}

func TestClassifyAPI(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ method, path, scope string }{
		{"GET", "/v2/orgs/acme/members", "member-read"},
		{"GET", "/v2/orgs/acme/members/alice", "member-read"},
		{"DELETE", "/v2/orgs/acme/members/alice", "member-edit"},
		{"POST", "/v2/orgs/acme/invites", "invite-edit"},
		{"GET", "/v2/orgs/acme/groups", "group-read"},
		{"GET", "/v2/repositories/acme/app", ""},
	} {
		got, err := Classify(hub.APIHost, httptest.NewRequest(tt.method, "https://hub.docker.com"+tt.path, nil), nil)
		if err != nil || got.OrgScope != tt.scope || (tt.scope != "" && got.Org != "acme") {
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
		if a, err := ParseScope(scope); err == nil && a.Repo != "" && len(a.Actions) == 0 {
			t.Fatalf("ParseScope(%q) = %+v", scope, a)
		}
	})
}
