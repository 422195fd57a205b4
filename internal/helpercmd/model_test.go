package helpercmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-cmp/cmp"

	"github.com/oatkit/oat/internal/passphrase"
)

// The contract of the records, as a small reference model: what every get,
// list and token ls must answer after any sequence of protocol verbs and
// token commands. TestModel drives random sequences through the real
// commands (in process, over a real file vault) and checks every answer.

type modelRecord struct {
	secret  string
	expires time.Time // zero: never
	active  bool
	def     bool
}

type modelLogin struct{ user, secret string } // secret: "" for an OAT login

type model struct {
	now    time.Time
	orgs   map[string]map[string]*modelRecord // org → label → record
	login  *modelLogin
	others map[string]string // another registry's server → secret
}

func newModel(now time.Time) *model {
	return &model{now: now, orgs: map[string]map[string]*modelRecord{}, others: map[string]string{}}
}

func (m *model) records(org string) map[string]*modelRecord {
	if m.orgs[org] == nil {
		m.orgs[org] = map[string]*modelRecord{}
	}
	return m.orgs[org]
}

func sortedLabels(recs map[string]*modelRecord) []string {
	labels := make([]string, 0, len(recs))
	for l := range recs {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	return labels
}

func (r *modelRecord) usable(now time.Time) bool {
	return r.active && (r.expires.IsZero() || now.Before(r.expires))
}

// makeDefault makes label org's one default.
func (m *model) makeDefault(org, label string) {
	for l, r := range m.records(org) {
		r.def = l == label
	}
}

// loginAs is the login token add --default and token default leave.
func (m *model) loginAs(org string) {
	if m.login != nil && strings.ToLower(m.login.user) == org && m.login.secret == "" {
		return
	}
	m.login = &modelLogin{user: org}
}

// store is docker login: an OAT's record becomes the default.
func (m *model) store(user, secret string) {
	if !strings.HasPrefix(secret, "dckr_oat_") {
		m.login = &modelLogin{user: user, secret: secret}
		return
	}
	org := strings.ToLower(user)
	recs := m.records(org)
	label := ""
	for _, l := range sortedLabels(recs) {
		if recs[l].secret == secret {
			label = l
			break
		}
	}
	if label == "" {
		for n := 1; ; n++ {
			label = fmt.Sprintf("login-%s-%d", m.now.UTC().Format("20060102"), n)
			if recs[label] == nil {
				break
			}
		}
		recs[label] = &modelRecord{secret: secret, active: true}
	}
	m.makeDefault(org, label)
	m.login = &modelLogin{user: user}
}

// get is what the helper must answer for Docker Hub: the user and secret,
// or notFound, or failed (no usable token).
func (m *model) get() (user, secret string, notFound, failed bool) {
	if m.login == nil {
		return "", "", true, false
	}
	if m.login.secret != "" {
		return m.login.user, m.login.secret, false, false
	}
	recs := m.orgs[strings.ToLower(m.login.user)]
	if len(recs) == 0 {
		return "", "", true, false
	}
	labels := sortedLabels(recs)
	for _, l := range labels {
		if r := recs[l]; r.def && r.usable(m.now) {
			return m.login.user, r.secret, false, false
		}
	}
	for _, l := range labels {
		if r := recs[l]; r.usable(m.now) {
			return m.login.user, r.secret, false, false
		}
	}
	return "", "", false, true
}

// find resolves a LABEL or ORG/LABEL argument as lookup does.
func (m *model) find(name string) (org, label string, ok bool) {
	n := 0
	for o, recs := range m.orgs {
		for l := range recs {
			if l == name || o+"/"+l == name {
				org, label, n = o, l, n+1
			}
		}
	}
	return org, label, n == 1
}

// harness runs the real commands over one vault.
type harness struct {
	t    *testing.T
	home string
	now  *time.Time
	tty  string // the secret the terminal answers with, for import
}

func (h *harness) run(stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	e := map[string]string{"OAT_HOME": h.home, "OAT_PASSPHRASE": testPW, "OAT_QUIET": "1", "OAT_CACHE": "off"}
	interactive := h.tty != ""
	code := Run(context.Background(), args, Options{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: env(e),
		OpenTTY: func() (passphrase.TTY, error) {
			if !interactive {
				return nil, errors.New("no terminal")
			}
			return &fakeTTY{answer: h.tty}, nil
		},
		IsTerminal:  func(v any) bool { return interactive && v != nil && isReader(v) },
		VaultParams: fastParams,
		Now:         func() time.Time { return *h.now },
	})
	return out.String(), errb.String(), code
}

func isReader(v any) bool { _, ok := v.(*strings.Reader); return ok }

// fakeTTY answers one prompt.
type fakeTTY struct {
	answer string
	bytes.Buffer
}

func (f *fakeTTY) ReadPassword() ([]byte, error) { return []byte(f.answer), nil }
func (f *fakeTTY) Close() error                  { return nil }

type lsView struct {
	Org, Label string
	Default    bool
	Active     bool
	Expired    bool
}

func TestModel(t *testing.T) {
	t.Parallel()
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			runModel(t, uint64(seed), 120)
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0x0a7))
	now := testNow
	h := &harness{t: t, home: filepath.Join(t.TempDir(), "oat"), now: &now}
	m := newModel(now)
	orgs := []string{"acme", "beta"}
	var secrets []string // a small pool, so secrets repeat
	for i := range 5 {
		secrets = append(secrets, fmt.Sprintf("dckr_oat_Secret%02dXXXXXXXXXXXXXXXXXXXX", i))
	}
	labels := []string{"ci", "release", "pull", "old"}
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d, after:\n  %s\n%s", seed, strings.Join(log, "\n  "), fmt.Sprintf(format, args...))
	}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	spell := func(org string) string { // docker login keeps the username as typed
		if rng.IntN(4) == 0 {
			return strings.ToUpper(org[:1]) + org[1:]
		}
		return org
	}

	for range steps {
		var args []string
		stdin, tty := "", ""
		expectFail := false
		var apply func()
		switch op := rng.IntN(13); op {
		case 0, 1, 2: // docker login
			user, secret := spell(pick(orgs)), pick(secrets)
			if rng.IntN(8) == 0 {
				secret = "dckr_pat_Personal000000000000"
			}
			args, stdin = []string{"store"}, storeJSON(pick([]string{"docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"}), user, secret)
			apply = func() { m.store(user, secret) }
		case 3: // docker logout
			args, stdin = []string{"erase"}, "index.docker.io"
			apply = func() { m.login = nil }
		case 4: // another registry
			secret := pick(secrets) + "-other"
			args, stdin = []string{"store"}, storeJSON("registry.example.com", "robot", secret)
			apply = func() { m.others["registry.example.com"] = secret }
		case 5, 6: // token add
			org, label, secret := pick(orgs), pick(labels), pick(secrets)
			args, stdin = []string{"token", "add", "--org", org, "--label", label}, secret
			def := rng.IntN(2) == 0
			if def {
				args = append(args, "--default")
			}
			var exp time.Time
			if rng.IntN(2) == 0 {
				days := 1 + rng.IntN(6)
				args = append(args, "--expires", fmt.Sprintf("%dd", days))
				exp = now.Add(time.Duration(days) * 24 * time.Hour).UTC()
			}
			if m.orgs[org][label] != nil {
				expectFail = true
				break
			}
			apply = func() {
				recs := m.records(org)
				first := len(recs) == 0
				recs[label] = &modelRecord{secret: secret, active: true, expires: exp}
				if def || first {
					m.makeDefault(org, label)
					m.loginAs(org)
				}
			}
		case 7: // token rm
			name := pickName(rng, m, orgs, labels)
			args = []string{"token", "rm", name}
			org, label, ok := m.find(name)
			if !ok {
				expectFail = true
				break
			}
			apply = func() { delete(m.orgs[org], label) }
		case 8: // token default
			name := pickName(rng, m, orgs, labels)
			args = []string{"token", "default", name}
			org, label, ok := m.find(name)
			if !ok || !m.orgs[org][label].usable(now) {
				expectFail = true
				break
			}
			apply = func() { m.makeDefault(org, label); m.loginAs(org) }
		case 9: // token edit
			name := pickName(rng, m, orgs, labels)
			org, label, ok := m.find(name)
			var change func(r *modelRecord)
			switch rng.IntN(4) {
			case 0:
				active := rng.IntN(2) == 0
				args = []string{"token", "edit", name, fmt.Sprintf("--active=%v", active)}
				change = func(r *modelRecord) { r.active = active }
			case 1:
				args = []string{"token", "edit", name, "--no-expiry"}
				change = func(r *modelRecord) { r.expires = time.Time{} }
			case 2:
				days := 1 + rng.IntN(6)
				args = []string{"token", "edit", name, "--expires", fmt.Sprintf("%dd", days)}
				exp := now.Add(time.Duration(days) * 24 * time.Hour).UTC()
				change = func(r *modelRecord) { r.expires = exp }
			default:
				to := pick(labels) + "-2"
				args = []string{"token", "edit", name, "--label", to}
				if ok && m.orgs[org][to] != nil {
					ok = false
				}
				change = func(r *modelRecord) {
					recs := m.orgs[org]
					delete(recs, label)
					recs[to] = r
					label = to
				}
			}
			if !ok {
				expectFail = true
				break
			}
			apply = func() { change(m.orgs[org][label]) }
		case 10: // token import of one token, asked for its secret on the terminal
			org, label, secret := pick(orgs), pick(labels), pick(secrets)
			active := rng.IntN(4) != 0
			exp := now.Add(time.Duration(1+rng.IntN(6)) * 24 * time.Hour).UTC()
			file := filepath.Join(t.TempDir(), "import.json")
			body := fmt.Sprintf(`{"label":%q,"is_active":%v,"expires_at":%q,"resources":[{"type":"TYPE_REPO","path":"%s/app","scopes":["repo-pull"]}]}`,
				label, active, exp.Format(time.RFC3339), org)
			if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			args, tty = []string{"token", "import", file, "--org", org}, secret
			apply = func() {
				recs := m.records(org)
				if r := recs[label]; r != nil {
					r.active, r.expires = active, exp
					return
				}
				first := len(recs) == 0
				r := &modelRecord{secret: secret, active: active, expires: exp}
				recs[label] = r
				if first && r.usable(now) {
					m.makeDefault(org, label)
				}
			}
		case 11: // time passes
			days := 1 + rng.IntN(3)
			now = now.Add(time.Duration(days) * 24 * time.Hour)
			m.now = now
			log = append(log, fmt.Sprintf("%d days pass", days))
			continue
		case 12: // the other registry, read back
			want, ok := m.others["registry.example.com"]
			out, _, code := h.run("registry.example.com", "get")
			log = append(log, "get registry.example.com")
			switch {
			case !ok && (code != 1 || out != credentials.NewErrCredentialsNotFound().Error()+"\n"):
				fail("get of a registry never stored: %d %q", code, out)
			case ok && (code != 0 || !strings.Contains(out, `"Secret":"`+want+`"`)):
				fail("get registry.example.com: %d %q, want %s", code, out, want)
			}
			continue
		}
		h.tty = tty
		out, errOut, code := h.run(stdin, args...)
		h.tty = ""
		log = append(log, strings.Join(args, " ")+" <"+strings.ReplaceAll(stdin, "\n", " "))
		switch {
		case expectFail && code == 0:
			fail("%v succeeded, want a refusal: %s", args, out)
		case !expectFail && code != 0:
			fail("%v: exit %d: %s%s", args, code, out, errOut)
		}
		if apply != nil && code == 0 {
			apply()
		}
		checkModel(t, h, m, fail)
	}
}

// pickName names a token as people do: LABEL or ORG/LABEL, known or not.
func pickName(rng *rand.Rand, m *model, orgs, labels []string) string {
	label := labels[rng.IntN(len(labels))]
	if rng.IntN(3) == 0 {
		return label
	}
	return orgs[rng.IntN(len(orgs))] + "/" + label
}

// checkModel compares get, list and token ls with the model.
func checkModel(t *testing.T, h *harness, m *model, fail func(string, ...any)) {
	t.Helper()
	out, _, code := h.run("docker.io", "get")
	user, secret, notFound, failed := m.get()
	switch {
	case notFound:
		if code != 1 || out != credentials.NewErrCredentialsNotFound().Error()+"\n" {
			fail("get: exit %d %q, want credentials not found", code, out)
		}
	case failed:
		if code != 1 || !strings.HasPrefix(out, "no usable token for ") {
			fail("get: exit %d %q, want no usable token", code, out)
		}
	default:
		var got credentials.Credentials
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Username != user || got.Secret != secret {
			fail("get: exit %d %q, want %s / %s", code, out, user, secret)
		}
	}

	out, _, code = h.run("", "list")
	var list map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		fail("list: exit %d %q", code, out)
	}
	want := map[string]string{}
	if m.login != nil {
		want["https://index.docker.io/v1/"] = m.login.user
	}
	for server := range m.others {
		want[server] = "robot"
	}
	if diff := cmp.Diff(want, list); diff != "" {
		fail("list (-want +got):\n%s", diff)
	}

	out, _, code = h.run("", "token", "ls", "--json")
	var views []lsView
	if code != 0 || json.Unmarshal([]byte(out), &views) != nil {
		fail("token ls --json: exit %d %q", code, out)
	}
	wantViews := []lsView{}
	for _, org := range []string{"acme", "beta"} {
		recs := m.orgs[org]
		for _, l := range sortedLabels(recs) {
			r := recs[l]
			wantViews = append(wantViews, lsView{Org: org, Label: l, Default: r.def, Active: r.active,
				Expired: !r.expires.IsZero() && !m.now.Before(r.expires)})
		}
	}
	if diff := cmp.Diff(wantViews, views); diff != "" {
		fail("token ls (-want +got):\n%s", diff)
	}
}
