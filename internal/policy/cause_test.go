package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/registry"
)

// Every cause has a name of its own (the audit line's cause, the denials
// metric's label), words and an outcome.
func TestCausesAreNamedOnce(t *testing.T) {
	t.Parallel()
	kebab := regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
	seen := map[string]Cause{}
	for _, c := range Causes() {
		name := c.String()
		if !kebab.MatchString(name) || c.Text() == "" || c.Text() == "unknown cause" || !slices.Contains(Outcomes(), c.Outcome()) {
			t.Errorf("cause %d: name %q, text %q, outcome %s", c, name, c.Text(), c.Outcome())
		}
		if o, dup := seen[name]; dup {
			t.Errorf("causes %d and %d are both named %q", o, c, name)
		}
		seen[name] = c
		var back Cause
		if b, _ := c.MarshalText(); back.UnmarshalText(b) != nil || back != c {
			t.Errorf("cause %q does not read back: %v", name, back)
		}
	}
	for _, o := range Outcomes() {
		var back Outcome
		if b, _ := o.MarshalText(); back.UnmarshalText(b) != nil || back != o {
			t.Errorf("outcome %q does not read back", o)
		}
	}
}

// engineCauses are the causes package proxy finds itself, on the
// connection or the framing, before there is a request to judge: each is
// named where it is found (TestEveryCauseIsProduced reads the proxy's
// source for them).
var engineCauses = []Cause{HostMismatch, BodyUnreadable, BodyTooLarge, MalformedConnect, HubPort, OtherHostDenied, PlainHTTP, OtherHost, BlobHost, FollowsRedirect}

// Every cause the code has is produced: by Decide for a request that
// calls for it, by Granted, by NoOwnToken, or, for the engine's, named by
// the proxy where it finds it. A cause added without a way to reach it
// fails here.
func TestEveryCauseIsProduced(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tok := func(label string, pull, push []string, public bool) *oat.Token {
		s, err := oat.NewScopes(pull, push, public, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &oat.Token{Org: "acme", Label: label, Secret: "dckr_oat_" + label, Active: true, Scopes: s}
	}
	pull := tok("pull", []string{"acme/app"}, nil, false)
	reader := tok("reader", []string{"acme/app"}, nil, true)
	push := tok("push", nil, []string{"acme/app"}, false)
	admin := &oat.Token{Org: "acme", Label: "admin", Secret: "dckr_oat_admin", Active: true, Scopes: oat.Scopes{Org: []string{"member-read"}}}
	unknown := &oat.Token{Org: "acme", Label: "login", Secret: "dckr_oat_login", Active: true, Scopes: oat.UnknownScopes()}
	expired, inactive, gone := *pull, *pull, *pull
	expired.Expires = now.Add(-time.Hour)
	inactive.Active = false
	gone.Gone = true
	acc := func(repo string, actions ...string) []registry.Access {
		return []registry.Access{{Repo: repo, Actions: actions}}
	}
	registryReq := func(a []registry.Access, creds ...registry.Credential) registry.Request {
		return registry.Request{Kind: registry.KindRegistry, Access: a, Creds: creds}
	}
	tokenReq := func(a []registry.Access) registry.Request {
		return registry.Request{Kind: registry.KindToken, Access: a}
	}
	bearer := registry.Credential{Kind: registry.CredBearer, Value: "x"}
	ours := func(t *oat.Token) Credentials { return Credentials{Token: t} }

	cases := []struct {
		name string
		in   Request
		want Cause
		out  Outcome
	}{
		{"a pull in scope", Request{Request: registryReq(acc("acme/app", "pull"), bearer), Creds: ours(pull)}, InScope, Allowed},
		{"a token of unknown scopes", Request{Request: registryReq(acc("acme/x", "push"), bearer), Creds: ours(unknown)}, ScopesUnknown, Allowed},
		{"a ping", Request{Request: registry.Request{Kind: registry.KindPing}, Creds: ours(pull)}, NothingToCheck, Allowed},
		{"an injected token request", Request{Request: tokenReq(acc("acme/app", "pull")), Inject: true, Tokens: []oat.Token{*pull}}, InScope, Injected},
		{"an unseen bearer, injecting", Request{Request: registryReq(acc("acme/app", "pull"), bearer), Creds: Credentials{Unseen: true}, Inject: true, Tokens: []oat.Token{*pull}}, Reissued, Injected},
		{"anonymous", Request{Request: tokenReq(acc("library/alpine", "pull"))}, NoCredentials, Passed},
		{"someone else's", Request{Request: tokenReq(acc("acme/app", "pull")), Creds: Credentials{Others: true}}, NotOurs, Passed},
		{"a registry request without a bearer", Request{Request: registryReq(acc("acme/app", "pull"))}, NoBearer, Challenged},
		{"an unseen bearer", Request{Request: registryReq(acc("acme/app", "pull"), bearer), Creds: Credentials{Unseen: true}}, UnseenBearer, Challenged},
		{"a bearer issued for less", Request{Request: registryReq(acc("acme/app", "pull"), bearer), Creds: Credentials{Token: pull, Limit: &Limit{}}}, IssuedForLess, Challenged},
		{"a push with pull only", Request{Request: tokenReq(acc("acme/app", "pull", "push")), Creds: ours(pull)}, OutsideScopes, Denied},
		{"a push with pull only, for skopeo", Request{Request: tokenReq(acc("acme/app", "pull", "push")), Creds: ours(pull), Client: ShowsRegistryBody}, OutsideScopes, Narrowed},
		{"a pull the Hub did not grant by public read", Request{Request: registryReq(acc("other/private", "pull"), bearer), Creds: Credentials{Token: reader, Limit: &Limit{Access: acc("other/private", "pull"), Private: []string{"other/private"}}}}, NotPublic, Denied},
		{"the access token API", Request{Request: registry.Request{Kind: registry.KindAPI, Org: "acme", OrgScope: registry.AccessTokenRead}, Creds: ours(admin)}, AccessTokenAPI, Denied},
		{"nothing covers it, injecting", Request{Request: tokenReq(acc("acme/base", "pull", "push")), Inject: true, Tokens: []oat.Token{*push}}, NoTokenCovers, Denied},
		{"two tokens' credentials", Request{Request: tokenReq(acc("acme/app", "pull")), Creds: Credentials{Token: pull, Conflict: true}}, Conflict, Denied},
		{"an expired token", Request{Request: tokenReq(acc("acme/app", "pull")), Creds: ours(&expired)}, TokenExpired, Denied},
		{"an inactive token", Request{Request: tokenReq(acc("acme/app", "pull")), Creds: ours(&inactive)}, TokenInactive, Denied},
		{"a deleted token", Request{Request: tokenReq(acc("acme/app", "pull")), Creds: ours(&gone)}, TokenDeleted, Denied},
		{"a request not understood", Request{Request: registry.Request{Kind: registry.KindOther, Unknown: "the route /v2/x/y/z"}, Creds: ours(pull)}, NotUnderstood, Denied},
		{"a body not read in full", Request{Request: registry.Request{Kind: registry.KindToken, Unread: "a gzip body"}}, Unread, Denied},
		{"an invalid name, no token", Request{Request: registryReq(nil, bearer), Creds: Credentials{Others: true}, Invalid: "invalid reference format"}, InvalidName, Denied},
	}
	produced := map[Cause]bool{}
	for _, c := range cases {
		c.in.Now = now
		v := Decide(c.in)
		if v.Cause != c.want || v.Outcome != c.out {
			t.Errorf("%s: %s (%s), want %s (%s)", c.name, v.Outcome, v.Cause, c.out, c.want)
		}
		if v.Outcome == Denied && v.Message == "" {
			t.Errorf("%s: refused without a sentence", c.name)
		}
		produced[v.Cause] = true
	}
	// The Hub's answer to a token request let through by public read.
	v := Decide(Request{Request: tokenReq(acc("other/private", "pull")), Creds: ours(reader), Now: now})
	if r, _ := Granted(v, ShowsTokenBody, acc("other/private", "pull"), []byte(`{"token":"`+jwtWith(`{"access":[]}`)+`"}`)); r != nil {
		produced[r.Cause] = true
	}
	produced[NoOwnToken(Verdict{Token: pull}, "auth.docker.io", os.ErrDeadlineExceeded).Cause] = true

	// The engine's causes: each named in package proxy's code.
	named := proxyCauses(t)
	for _, c := range engineCauses {
		if !named[c.goName()] {
			t.Errorf("engine cause %s (policy.%s) is named nowhere in package proxy", c, c.goName())
		}
		produced[c] = true
	}
	for _, c := range Causes() {
		if !produced[c] {
			t.Errorf("cause %s (policy.%s) is produced by no request: test it, or remove it", c, c.goName())
		}
	}
}

// goName is the cause's identifier in this package's source.
func (c Cause) goName() string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cause.go", nil, 0)
	if err != nil {
		return ""
	}
	var name string
	i := 0
	ast.Inspect(f, func(n ast.Node) bool {
		gd, ok := n.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			return true
		}
		for _, s := range gd.Specs {
			for _, id := range s.(*ast.ValueSpec).Names {
				if i == int(c) && id.Name != "_" {
					name = id.Name
				}
				i++
			}
		}
		return false
	})
	return name
}

// proxyCauses are the policy causes package proxy's code names.
func proxyCauses(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("../proxy/*.go")
	out := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "policy" {
					out[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return out
}

// The policy is pure: none of its files imports the network, the file
// system, the clock's sleep or HTTP, and nothing it imports does either
// (TestPolicyReachesNoNetwork).
func TestPolicyDoesNoIO(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "net" || strings.HasPrefix(path, "net/") || path == "os" || strings.HasPrefix(path, "os/") || path == "io" || path == "log/slog" || strings.HasSuffix(path, "/proxy") {
				t.Errorf("%s imports %s: the policy takes values and returns a verdict", name, path)
			}
		}
	}
}

// Nor does any package the policy imports, however far down: the request
// types it judges are package registry's, and reading an *http.Request
// into one is package classify's, which the policy does not import.
func TestPolicyReachesNoNetwork(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for dep := range strings.FieldsSeq(string(out)) {
		if dep == "net" || dep == "net/http" || dep == "crypto/tls" || dep == "os/exec" || strings.HasSuffix(dep, "/internal/classify") || strings.HasSuffix(dep, "/internal/proxy") {
			t.Errorf("the policy depends on %s", dep)
		}
	}
}

// The proxy's documentation lists every cause once, under its outcome,
// and nothing else: its table of decisions and causes is the code's.
func TestCausesDocumented(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/proxy.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| ([a-z]+) \\| ")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		documented[m[1]] = m[2]
	}
	for _, c := range Causes() {
		if got, ok := documented[c.String()]; !ok || got != c.Outcome().String() {
			t.Errorf("docs/proxy.md: cause %s documented as %q, want a row `%s` | %s", c, got, c, c.Outcome())
		}
		delete(documented, c.String())
	}
	for name := range documented {
		t.Errorf("docs/proxy.md documents a cause %q the code does not have", name)
	}
}
