package helpercmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/hubapi"
	"github.com/oatkit/oat/internal/hubtest"
	"github.com/oatkit/oat/internal/passphrase"
)

const ownerPAT = "dckr_pat_LifecycleOwner00000000001"

// lifecycle is a stand-in Hub with an owner of acme, and the helper
// pointed at it.
type lifecycle struct {
	hub  *hubtest.Hub
	home string
	http *http.Client
	now  func() time.Time // the helper's clock (time.Now if nil)
}

func newLifecycle(t *testing.T, limit int) *lifecycle {
	t.Helper()
	h, err := hubtest.Start(context.Background(), hubtest.Options{
		Owners:     []hubtest.Owner{{User: "alice", Secret: ownerPAT, Orgs: []string{"acme"}}},
		TokenLimit: limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &lifecycle{hub: h, home: filepath.Join(t.TempDir(), "oat"), http: &http.Client{Transport: h.Transport()}}
}

func (l *lifecycle) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	now := l.now
	if now == nil {
		now = time.Now
	}
	code := Run(context.Background(), args, Options{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv:      env(map[string]string{"OAT_HOME": l.home, "OAT_PASSPHRASE": testPW}),
		OpenTTY:     func() (passphrase.TTY, error) { return nil, errors.New("no terminal") },
		VaultParams: fastParams, Now: now, HubHTTP: l.http,
	})
	return out.String(), errb.String(), code
}

// owner is a Hub API client signed in as the owner, acting at the Hub
// behind the helper's back.
func (l *lifecycle) owner(t *testing.T) *hubapi.Client {
	t.Helper()
	c := &hubapi.Client{HTTP: l.http}
	if err := c.Login(context.Background(), "alice", ownerPAT); err != nil {
		t.Fatal(err)
	}
	return c
}

// granted is what the Hub's token service grants secret for scope.
func (l *lifecycle) granted(t *testing.T, secret, scope string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", "https://auth.docker.io/token?service=registry.docker.io&scope="+scope, nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("acme:"+secret)))
	resp, err := l.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	r := l.hub.Requests()
	return r[len(r)-1].Granted
}

type lsEntry struct {
	Label, ID  string
	Active     bool
	IsActive   *bool      `json:"is_active"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Gone       bool       `json:"gone_from_hub"`
	Scopes     struct {
		Repos []struct {
			Repo string
			Push bool
		}
	}
}

func (l *lifecycle) ls(t *testing.T) map[string]lsEntry {
	t.Helper()
	out, stderr, code := l.run(t, "", "token", "ls", "--json")
	var list []lsEntry
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("token ls --json: %d %s %s", code, out, stderr)
	}
	m := map[string]lsEntry{}
	for _, e := range list {
		m[e.Label] = e
	}
	return m
}

// A token's life through the helper and the Hub: the owner's sign-in kept
// apart and never listed, a token created at the Hub and kept with what
// the Hub answered (usable at the registry at once), the Hub's later
// changes and deletions taken in by sync, tokens the Hub has alone listed.
func TestTokenCreateAndSync(t *testing.T) {
	l := newLifecycle(t, 0)
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "ci", "--pull", "acme/app"); code == 0 || !strings.Contains(stderr, "hub login") {
		t.Fatalf("create without a sign-in: %d %s", code, stderr)
	}
	if _, stderr, code := l.run(t, "dckr_oat_x", "hub", "login", "-u", "acme", "--password-stdin"); code == 0 || !strings.Contains(stderr, "cannot manage organization access tokens") {
		t.Errorf("hub login with an OAT: %d %s", code, stderr)
	}
	if _, stderr, code := l.run(t, "dckr_pat_wrong", "hub", "login", "-u", "alice", "--password-stdin"); code == 0 || !strings.Contains(stderr, "401") || strings.Contains(stderr, "dckr_pat_wrong") {
		t.Errorf("hub login with a wrong secret: %d %s", code, stderr)
	}
	if out, stderr, code := l.run(t, ownerPAT, "hub", "login", "-u", "alice", "--password-stdin"); code != 0 || !strings.Contains(out, "signed in to the Docker Hub API as alice") {
		t.Fatalf("hub login: %d %s %s", code, out, stderr)
	}
	if out, _, _ := l.run(t, "", "list"); strings.Contains(out, "alice") || strings.Contains(out, "hub.docker.com") {
		t.Errorf("list shows the owner's sign-in: %s", out)
	}

	out, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "ci", "--pull", "acme/app", "--push", "acme/tool", "--expires", "90d", "--json")
	var created lsEntry
	if code != 0 || json.Unmarshal([]byte(out), &created) != nil || created.ID == "" || created.IsActive == nil || !*created.IsActive {
		t.Fatalf("token create: %d %s %s", code, out, stderr)
	}
	createOut := out + stderr
	got, _, code := l.run(t, "https://index.docker.io/v1/", "get")
	var cred struct{ Username, Secret string }
	if code != 0 || json.Unmarshal([]byte(got), &cred) != nil || cred.Username != "acme" || !strings.HasPrefix(cred.Secret, "dckr_oat_") {
		t.Fatalf("get after create: %d %s", code, got)
	}
	if strings.Contains(createOut, cred.Secret) {
		t.Errorf("create printed the secret: %s", createOut)
	}
	if g := l.granted(t, cred.Secret, "repository:acme/tool:push"); !slices.Contains(g, "repository:acme/tool:push") {
		t.Errorf("the created token is not usable at the registry at once: granted %q", g)
	}

	// Behind the helper's back: the owner cuts the token to pull on
	// acme/app, deactivates it, and creates another.
	ctx := context.Background()
	o := l.owner(t)
	off := false
	res := []hubapi.Resource{{Type: hubapi.TypeRepo, Path: "acme/app", Scopes: []string{hubapi.ScopePull}}}
	if _, err := o.Update(ctx, "acme", created.ID, hubapi.Change{IsActive: &off, Resources: &res}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Create(ctx, "acme", hubapi.NewToken{Label: "web", Resources: res}); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = l.run(t, "", "token", "sync")
	if code != 0 || !strings.Contains(out, "acme/ci: synced") || !strings.Contains(out, "acme/web: at the Hub only") {
		t.Fatalf("sync: %d %s %s", code, out, stderr)
	}
	if out, _, _ := l.run(t, "", "token", "ls"); !strings.Contains(out, "LAST USED") || !strings.Contains(out, "(inactive)") || !strings.Contains(out, time.Now().UTC().Format("2006-01-02")) {
		t.Errorf("token ls shows no status or last use:\n%s", out)
	}
	ci := l.ls(t)["ci"]
	if ci.Active || ci.IsActive == nil || *ci.IsActive || len(ci.Scopes.Repos) != 1 || ci.Scopes.Repos[0].Push || ci.LastUsedAt == nil {
		t.Errorf("after sync the record does not hold the Hub's truth: %+v", ci)
	}
	if _, ok := l.ls(t)["web"]; ok {
		t.Error("sync made a record of a token whose secret it never had")
	}

	// Deleted at the Hub: marked, kept.
	if err := o.Delete(ctx, "acme", created.ID); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := l.run(t, "", "token", "sync", "--org", "acme"); code != 0 || !strings.Contains(out, "acme/ci: gone from the Hub") {
		t.Fatalf("sync after the delete: %d %s %s", code, out, stderr)
	}
	if ci := l.ls(t)["ci"]; !ci.Gone || ci.Active || ci.ID != created.ID {
		t.Errorf("a token deleted at the Hub: %+v, want its record kept, marked gone", ci)
	}

	if _, _, code := l.run(t, "", "hub", "logout"); code != 0 {
		t.Fatal("hub logout failed")
	}
	if _, stderr, code := l.run(t, "", "token", "sync"); code == 0 || !strings.Contains(stderr, "no Docker Hub API sign-in is kept") {
		t.Errorf("sync after logout: %d %s", code, stderr)
	}
}

// A create the Hub refuses (the limit, a failure) keeps nothing; the
// organization's token count at the Hub is unchanged.
func TestTokenCreateRefused(t *testing.T) {
	l := newLifecycle(t, 1)
	if _, stderr, code := l.run(t, ownerPAT, "hub", "login", "-u", "alice", "--password-stdin"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "one", "--pull", "acme/app"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "two", "--pull", "acme/app"); code == 0 || !strings.Contains(stderr, "limit of 1") {
		t.Errorf("over the limit: %d %s", code, stderr)
	}
	l.hub.FailNext(1, http.StatusServiceUnavailable) // the access token API's next answer, not the sign-in's
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "three", "--pull", "acme/app"); code == 0 || !strings.Contains(stderr, "503") {
		t.Errorf("a failing Hub: %d %s", code, stderr)
	}
	if m := l.ls(t); len(m) != 1 {
		t.Errorf("records after refused creates: %v", m)
	}
	list, err := l.owner(t).List(context.Background(), "acme")
	if err != nil || len(list) != 1 {
		t.Errorf("the Hub holds %d tokens (%v), want 1", len(list), err)
	}
}

// deactivate, activate and delete act at the Hub and on the record: the
// Hub refuses a deactivated token, accepts it again, and forgets a deleted
// one, whose record goes too.
func TestTokenActivateDeactivateDelete(t *testing.T) {
	l := newLifecycle(t, 0)
	if _, stderr, code := l.run(t, ownerPAT, "hub", "login", "-u", "alice", "--password-stdin"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "ci", "--pull", "acme/app"); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := l.run(t, "dckr_oat_AddedByHand000000000000001", "token", "add", "--org", "acme", "--label", "by-hand", "--pull", "acme/app"); code != 0 {
		t.Fatal(stderr)
	}
	got, _, _ := l.run(t, "https://index.docker.io/v1/", "get")
	var cred struct{ Secret string }
	_ = json.Unmarshal([]byte(got), &cred)
	id := l.ls(t)["ci"].ID

	if out, stderr, code := l.run(t, "", "token", "deactivate", "ci"); code != 0 || !strings.Contains(out, `deactivated token "ci" (acme) at Docker Hub`) {
		t.Fatalf("deactivate: %d %s %s", code, out, stderr)
	}
	if g := l.granted(t, cred.Secret, "repository:acme/app:pull"); g != nil {
		t.Errorf("the Hub still accepts a deactivated token: %q", g)
	}
	if ci := l.ls(t)["ci"]; ci.Active {
		t.Errorf("the record of a deactivated token is active: %+v", ci)
	}
	if out, stderr, code := l.run(t, "", "token", "activate", "ci", "--json"); code != 0 || !strings.Contains(out, `"is_active": true`) {
		t.Fatalf("activate: %d %s %s", code, out, stderr)
	}
	if g := l.granted(t, cred.Secret, "repository:acme/app:pull"); !slices.Contains(g, "repository:acme/app:pull") {
		t.Errorf("the Hub refuses a token active again: %q", g)
	}
	if _, stderr, code := l.run(t, "", "token", "deactivate", "by-hand"); code == 0 || !strings.Contains(stderr, "token sync") {
		t.Errorf("deactivate of a record without a Hub id: %d %s", code, stderr)
	}
	if out, stderr, code := l.run(t, "", "token", "delete", "ci"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %s %s", code, out, stderr)
	}
	if _, err := l.owner(t).Get(context.Background(), "acme", id); !errors.Is(err, hubapi.ErrNotFound) {
		t.Errorf("the Hub still has the deleted token: %v", err)
	}
	if _, ok := l.ls(t)["ci"]; ok {
		t.Error("the record of a deleted token is still here")
	}
}

// doctor says what sync learnt: a token unused for 90 days, one
// deactivated at the Hub, one gone from it.
func TestDoctorOnSyncedTokens(t *testing.T) {
	l := newLifecycle(t, 0)
	if _, stderr, code := l.run(t, ownerPAT, "hub", "login", "-u", "alice", "--password-stdin"); code != 0 {
		t.Fatal(stderr)
	}
	for _, label := range []string{"old", "off", "gone"} {
		if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", label, "--pull", "acme/app"); code != 0 {
			t.Fatal(stderr)
		}
	}
	got, _, _ := l.run(t, "https://index.docker.io/v1/", "get") // old is the default
	var cred struct{ Secret string }
	_ = json.Unmarshal([]byte(got), &cred)
	l.granted(t, cred.Secret, "repository:acme/app:pull") // its last use
	ids := l.ls(t)
	ctx := context.Background()
	off := false
	if _, err := l.owner(t).Update(ctx, "acme", ids["off"].ID, hubapi.Change{IsActive: &off}); err != nil {
		t.Fatal(err)
	}
	if err := l.owner(t).Delete(ctx, "acme", ids["gone"].ID); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := l.run(t, "", "token", "sync"); code != 0 {
		t.Fatal(stderr)
	}
	l.now = func() time.Time { return time.Now().Add(100 * 24 * time.Hour) }
	out, _, _ := l.run(t, "", "doctor")
	for _, want := range []string{
		`token "old" (acme) has not been used for 100 days`,
		`token "off" (acme) is inactive`, "token activate acme/off",
		`token "gone" (acme) is gone from Docker Hub`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
}

// dockerSecret is the secret get hands docker for Docker Hub.
func (l *lifecycle) dockerSecret(t *testing.T) string {
	t.Helper()
	got, stderr, code := l.run(t, "https://index.docker.io/v1/", "get")
	var cred struct{ Secret string }
	if code != 0 || json.Unmarshal([]byte(got), &cred) != nil {
		t.Fatalf("get: %d %s %s", code, got, stderr)
	}
	return cred.Secret
}

func (l *lifecycle) signIn(t *testing.T) {
	t.Helper()
	if _, stderr, code := l.run(t, ownerPAT, "hub", "login", "-u", "alice", "--password-stdin"); code != 0 {
		t.Fatal(stderr)
	}
}

// rotate replaces the token: docker gets the twin's secret at once, with
// the same scopes and expiry policy; the old one is deactivated (after the
// grace, on the run after it), and deleted with --delete.
func TestTokenRotate(t *testing.T) {
	l := newLifecycle(t, 0)
	l.signIn(t)
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "ci", "--pull", "acme/app", "--expires", "30d"); code != 0 {
		t.Fatal(stderr)
	}
	s1 := l.dockerSecret(t)
	out, stderr, code := l.run(t, "", "token", "rotate", "ci", "--grace", "1h")
	s2 := l.dockerSecret(t)
	if code != 0 || s2 == s1 || !strings.Contains(out, "stays active until") {
		t.Fatalf("rotate --grace: %d %s %s (secret changed: %v)", code, out, stderr, s2 != s1)
	}
	for _, s := range []string{s1, s2} {
		if g := l.granted(t, s, "repository:acme/app:pull"); !slices.Contains(g, "repository:acme/app:pull") {
			t.Errorf("within the grace both tokens work: granted %q", g)
		}
	}
	if g := l.granted(t, s2, "repository:acme/base:pull"); slices.Contains(g, "repository:acme/base:pull") {
		t.Errorf("the twin may more than the old token: %q", g)
	}
	ls := l.ls(t)
	twin := ls["ci"]
	var old lsEntry
	for label, e := range ls {
		if strings.HasPrefix(label, "ci~") {
			old = e
		}
	}
	if twin.ID == "" || old.ID == "" || twin.ID == old.ID || !old.Active {
		t.Fatalf("records after rotate: %+v", ls)
	}
	tw, err := l.owner(t).Get(context.Background(), "acme", twin.ID)
	if err != nil || tw.ExpiresAt == nil || time.Until(*tw.ExpiresAt) < 29*24*time.Hour || time.Until(*tw.ExpiresAt) > 31*24*time.Hour {
		t.Errorf("the twin's expiry is not 30 days from now: %v %+v", err, tw.ExpiresAt)
	}
	l.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if out, stderr, code := l.run(t, "", "token", "rotate", "ci"); code != 0 || !strings.Contains(out, "deactivated the old token") {
		t.Fatalf("rotate after the grace: %d %s %s", code, out, stderr)
	}
	if g := l.granted(t, s1, "repository:acme/app:pull"); g != nil {
		t.Errorf("the old token works after its grace: %q", g)
	}
	if out, stderr, code := l.run(t, "", "token", "rotate", "ci", "--delete"); code != 0 || !strings.Contains(out, "deleted the old token") {
		t.Fatalf("rotate --delete: %d %s %s", code, out, stderr)
	}
	if list, _ := l.owner(t).List(context.Background(), "acme"); len(list) != 1 || list[0].ID != twin.ID {
		t.Errorf("the Hub holds %+v, want the twin alone", list)
	}
}

// A rotation the Hub fails at any of its steps loses nothing — docker's
// secret works after the failure — and running it again finishes the job:
// one token at the Hub, the one docker gets, the old one refused. A twin
// an interrupted run made but never kept is deleted, not left behind.
func TestTokenRotateFailsAtEveryStep(t *testing.T) {
	for step := range 7 {
		t.Run(fmt.Sprint("step ", step), func(t *testing.T) {
			l := newLifecycle(t, 0)
			l.signIn(t)
			if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "ci", "--push", "acme/app"); code != 0 {
				t.Fatal(stderr)
			}
			s1 := l.dockerSecret(t)
			oldID := l.ls(t)["ci"].ID
			if step == 6 { // an earlier run's twin, created and never kept
				res := []hubapi.Resource{{Type: hubapi.TypeRepo, Path: "acme/app", Scopes: []string{hubapi.ScopePush}}}
				if _, err := l.owner(t).Create(context.Background(), "acme", hubapi.NewToken{Label: "ci", Description: rotationMark(oldID), Resources: res}); err != nil {
					t.Fatal(err)
				}
			} else {
				l.hub.FailAfter(step, http.StatusServiceUnavailable)
			}
			_, stderr, code := l.run(t, "", "token", "rotate", "ci", "--delete")
			// Its steps at the Hub: read the old token, list (for an
			// earlier run's twin), create the twin, deactivate and delete
			// the old one; a failure after the last is never met.
			if failed := code != 0; failed != (step < 5) || (failed && !strings.Contains(stderr, "503")) {
				t.Errorf("rotate with a failure at step %d: exit %d: %s", step, code, stderr)
			}
			if s := l.dockerSecret(t); l.granted(t, s, "repository:acme/app:push") == nil {
				t.Errorf("after the failure (exit %d: %s) docker's secret does not work", code, stderr)
			}
			l.hub.ClearFailures() // a failure past the run's last step
			if code != 0 {
				if _, stderr, code := l.run(t, "", "token", "rotate", "ci", "--delete"); code != 0 {
					t.Fatalf("rotate again: %d %s", code, stderr)
				}
			}
			s2 := l.dockerSecret(t)
			list, err := l.owner(t).List(context.Background(), "acme")
			if err != nil || len(list) != 1 || list[0].ID == oldID {
				t.Fatalf("the Hub holds %+v (%v), want the twin alone", list, err)
			}
			if s2 == s1 || l.granted(t, s2, "repository:acme/app:push") == nil || l.granted(t, s1, "repository:acme/app:pull") != nil {
				t.Errorf("after the rotation: the new secret works %v, the old is refused %v", l.granted(t, s2, "repository:acme/app:push") != nil, l.granted(t, s1, "repository:acme/app:pull") == nil)
			}
			if ls := l.ls(t); len(ls) != 1 || ls["ci"].ID != list[0].ID {
				t.Errorf("records: %+v, want ci alone with the twin's id %s", ls, list[0].ID)
			}
		})
	}
}

// sync and doctor say when an organization is at a plan's limit.
func TestSyncWarnsAtTheLimit(t *testing.T) {
	l := newLifecycle(t, 20)
	l.signIn(t)
	for i := range 10 {
		if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", fmt.Sprint("t", i), "--pull", "acme/app"); code != 0 {
			t.Fatal(stderr)
		}
	}
	if _, stderr, code := l.run(t, "", "token", "sync"); code != 0 || !strings.Contains(stderr, "acme holds 10 access tokens at Docker Hub: a Team plan allows 10") {
		t.Errorf("sync at the limit: %d %s", code, stderr)
	}
	if out, _, _ := l.run(t, "", "doctor"); !strings.Contains(out, "acme holds at least 10 access tokens at Docker Hub") {
		t.Errorf("doctor says nothing of the limit:\n%s", out)
	}
}

// Two rotations of the same token at once, as two CI jobs might run them:
// whichever keeps its twin first wins; the other keeps nothing and deletes
// its twin at the Hub again, so no working token is lost, none is left at
// the Hub without its secret here, and docker's secret works.
func TestConcurrentRotations(t *testing.T) {
	l := newLifecycle(t, 0)
	l.signIn(t)
	if _, stderr, code := l.run(t, "", "token", "create", "--org", "acme", "--label", "ci", "--pull", "acme/app"); code != 0 {
		t.Fatal(stderr)
	}
	for round := range 3 {
		codes := make(chan int, 2)
		for range 2 {
			go func() {
				_, _, code := l.run(t, "", "token", "rotate", "ci", "--delete")
				codes <- code
			}()
		}
		ok := 0
		for range 2 {
			if <-codes == 0 {
				ok++
			}
		}
		if ok == 0 {
			t.Fatalf("round %d: both rotations failed", round)
		}
		// What is left of a rotation that lost is finished by running it
		// again, as its message says.
		if _, stderr, code := l.run(t, "", "token", "rotate", "ci", "--delete"); code != 0 {
			t.Fatalf("round %d: rotate again: %s", round, stderr)
		}
		list, err := l.owner(t).List(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		secrets := l.records(t)
		ls := l.ls(t)
		if len(list) != 1 || len(ls) != 1 || ls["ci"].ID != list[0].ID {
			t.Fatalf("round %d: the Hub holds %+v, the records %+v; want one token, kept as ci", round, list, ls)
		}
		if s := l.dockerSecret(t); s != secrets["ci"] || l.granted(t, s, "repository:acme/app:pull") == nil {
			t.Fatalf("round %d: docker's secret is not the kept one, or the Hub refuses it", round)
		}
	}
}

// sync takes a record without a Hub id for the Hub's token of the same
// label only when one token at the Hub has that label.
func TestSyncMatchesLabelsOnlyWhenUnique(t *testing.T) {
	l := newLifecycle(t, 0)
	l.signIn(t)
	if _, stderr, code := l.run(t, "dckr_oat_AddedByHand000000000000001", "token", "add", "--org", "acme", "--label", "ci", "--pull", "acme/app"); code != 0 {
		t.Fatal(stderr)
	}
	ctx := context.Background()
	res := []hubapi.Resource{{Type: hubapi.TypeRepo, Path: "acme/*", Scopes: []string{hubapi.ScopePush}}}
	for range 2 {
		if _, err := l.owner(t).Create(ctx, "acme", hubapi.NewToken{Label: "ci", Resources: res}); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := l.run(t, "", "token", "sync")
	if code != 0 || strings.Contains(out, "acme/ci: synced") || strings.Count(out, "acme/ci: at the Hub only") != 2 {
		t.Errorf("sync with two tokens labelled ci at the Hub: %d %s %s", code, out, stderr)
	}
	if ci := l.ls(t)["ci"]; ci.ID != "" || len(ci.Scopes.Repos) != 1 || ci.Scopes.Repos[0].Push {
		t.Errorf("the record was taken for one of them: %+v", ci)
	}
}
